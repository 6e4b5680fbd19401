"""dask.array's elementwise functions under `rask run` (dask/array/ufunc.py): NumPy's
ufuncs, which reach Array.__array_ufunc__."""
import numpy as np

__all__ = ["exp", "log", "sqrt", "absolute", "abs"]


def exp(x):
    return np.exp(x)


def log(x):
    return np.log(x)


def sqrt(x):
    return np.sqrt(x)


def absolute(x):
    return np.absolute(x)


abs = absolute
