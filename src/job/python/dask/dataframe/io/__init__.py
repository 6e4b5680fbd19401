"""dask.dataframe's readers under `rask run` (dask/dataframe/io/ in Dask)."""
from .csv import read_csv  # noqa: F401
