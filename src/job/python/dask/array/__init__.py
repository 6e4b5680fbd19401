"""dask.array under `rask run`: Dask's names on rask::Array (0-d to 2-d chunked arrays
of float64, int64 or bool). See README's table 'What is supported'."""
from rask import compute  # noqa: F401  (Dask's dask.array re-exports dask.base's compute, not persist)
from . import linalg, random  # noqa: F401
from .core import (Array, arange, asarray, from_array, from_delayed, full,  # noqa: F401
                   normalize_chunks, ones, to_hdf5, zeros)


__all__ = ["Array", "compute", "arange", "asarray", "from_array", "from_delayed", "full", "normalize_chunks", "ones", "to_hdf5",
           "zeros", "linalg", "random", "sum", "prod", "mean", "std", "var", "min", "max", "amin", "amax", "argmin",
           "argmax", "transpose", "dot", "rechunk", "exp", "log", "sqrt", "absolute", "abs"]


def _dispatch(name):
    def call(a, *args, **kwargs):
        if not isinstance(a, Array):
            a = asarray(a)
        return getattr(a, name)(*args, **kwargs)
    call.__name__ = name
    return call


for _name in ("sum", "prod", "mean", "std", "var", "min", "max", "argmin", "argmax", "transpose", "dot",
              "rechunk"):
    globals()[_name] = _dispatch(_name)
amin, amax = globals()["min"], globals()["max"]


def exp(x):
    import numpy as np
    return np.exp(x)


def log(x):
    import numpy as np
    return np.log(x)


def sqrt(x):
    import numpy as np
    return np.sqrt(x)


def absolute(x):
    import numpy as np
    return np.absolute(x)


abs = absolute


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    from rask import unsupported
    raise unsupported(f"dask.array.{name}")
