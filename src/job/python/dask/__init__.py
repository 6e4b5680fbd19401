"""rask's stand-in for Dask under `rask run`: the same names, backed by the MPI job."""
import rask as _rask_py

from . import config  # noqa: F401
from . import delayed as _delayed_module  # noqa: F401  (loaded first, so that...)
from rask import compute, delayed, persist, visualize  # noqa: F401,E402  (...dask.delayed is the function, as in Dask)

__version__ = "2022.12.1+rask"


def is_dask_collection(x):
    return isinstance(x, _rask_py.Delayed)


def __getattr__(name):
    if name in ("array", "dataframe", "bag", "datasets", "diagnostics", "dot", "optimize", "order"):
        raise _rask_py.unsupported(f"dask.{name}")
    raise _rask_py.unsupported(f"dask.{name}") if not name.startswith("__") else AttributeError(name)
