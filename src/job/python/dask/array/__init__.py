"""dask.array under `rask run`: Dask's names on rask::Array (0-d to 2-d chunked arrays
of float64, int64 or bool). See README's table 'What is supported'."""
from rask import compute  # noqa: F401  (Dask's dask.array re-exports dask.base's compute, not persist)
from . import linalg, random  # noqa: F401
from .core import Array, asarray, from_array, from_delayed, normalize_chunks, to_hdf5  # noqa: F401
from .creation import arange, full, ones, zeros  # noqa: F401
from .reductions import amax, amin, argmax, argmin, max, mean, min, prod, std, sum, var  # noqa: F401
from .ufunc import abs, absolute, exp, log, sqrt  # noqa: F401


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


transpose, dot, rechunk = _dispatch("transpose"), _dispatch("dot"), _dispatch("rechunk")


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    from rask import unsupported
    raise unsupported(f"dask.array.{name}")
