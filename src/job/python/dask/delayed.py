"""dask.delayed under `rask run`."""
import sys

import rask as _rask_py
from rask import Delayed, compute, delayed  # noqa: F401


class _Module(type(sys)):
    # `import dask.delayed; dask.delayed(f)` works as in Dask: the module is callable.
    def __call__(self, *args, **kwargs):
        return delayed(*args, **kwargs)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise _rask_py.unsupported(f"dask.delayed.{name}")


sys.modules[__name__].__class__ = _Module
