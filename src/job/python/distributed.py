"""`import distributed` under `rask run`: the same as dask.distributed."""
from dask.distributed import *  # noqa: F401,F403
from dask.distributed import __getattr__  # noqa: F401
