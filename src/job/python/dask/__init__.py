"""rask's stand-in for Dask under `rask run`: the same names, backed by the MPI job."""
import rask as _rask_py

from . import config  # noqa: F401
from . import delayed as _delayed_module  # noqa: F401  (loaded first, so that...)
from rask import compute, delayed, persist, visualize  # noqa: F401,E402  (...dask.delayed is the function, as in Dask)
from . import local, threaded  # noqa: F401,E402  (as Dask imports them)
from .local import get_sync as get  # noqa: F401,E402

__version__ = "2022.12.1+rask"


def is_dask_collection(x):
    return isinstance(x, _rask_py.Delayed) or hasattr(type(x), "__rask_delayed__")


def __getattr__(name):
    if name in ("array", "dataframe", "bag", "datasets", "diagnostics", "dot", "optimize", "order"):
        raise _rask_py.unsupported(f"dask.{name}")
    raise _rask_py.unsupported(f"dask.{name}") if not name.startswith("__") else AttributeError(name)


class _UnsupportedModules:
    """`import dask.bag` and any other dask module rask does not have: the NotImplementedError
    naming it (also an ImportError, for scripts that try an import and fall back)."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.startswith("dask.") or name.startswith("distributed."):
            raise _rask_py.errors.unsupported_module(name)
        return None


import sys as _sys  # noqa: E402

_sys.meta_path.append(_UnsupportedModules)
