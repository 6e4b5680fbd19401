"""dask.dataframe under `rask run`: CSV shards as rask frames, under Dask's names.

Supported: read_csv and its keywords parse_dates, usecols, dtype, sep, header, names,
blocksize, on_bad_lines; columns by attribute and item; filters; series arithmetic and
comparisons; .dt fields; groupby aggregations and .agg; whole-column reductions; len,
head, compute, to_hdf, to_csv. Any other name raises NotImplementedError naming it.
"""
import rask as _rask_py

from .core import DataFrame, Scalar, Series, compute  # noqa: F401
from .io import read_csv  # noqa: F401
from .groupby import DataFrameGroupBy, GroupedFrame, SeriesGroupBy  # noqa: F401


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    raise _rask_py.unsupported(f"dask.dataframe.{name}")
