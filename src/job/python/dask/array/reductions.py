"""dask.array's reductions under `rask run` (dask/array/reductions.py): Dask's axis and
dtype arguments mapped onto rask::Array's reductions, which decide the result's dtype."""
import builtins

import numpy as np

import _rask_array

from .core import Array, _dtype_name, _unsupported, asarray

__all__ = ["sum", "prod", "mean", "min", "max", "argmin", "argmax", "var", "std"]


def _reduce(a, op, name, axis, keepdims, dtype=None, out=None):
    a = asarray(a)
    if out is not None:
        raise _unsupported(f"Array.{op}(out=...)")
    if dtype is not None and _dtype_name(dtype, None) != _rask_array.reduced_dtype(op, a._expr.dtype):
        raise _unsupported(f"Array.{op}(dtype={np.dtype(dtype)})")
    if isinstance(axis, (tuple, list)):
        axes = sorted({x % builtins.max(a.ndim, 1) for x in axis})
        if axes == list(range(a.ndim)):
            axis = None
        elif len(axes) == 1:
            axis = axes[0]
        else:
            raise ValueError(f"axis {tuple(axis)} is out of bounds for a {a.ndim}-d array")
    return Array(a._expr.reduce(op, axis, bool(keepdims)), name)


def sum(a, axis=None, dtype=None, keepdims=False, split_every=None, out=None):
    return _reduce(a, "sum", "sum-aggregate", axis, keepdims, dtype, out)


def prod(a, axis=None, dtype=None, keepdims=False, split_every=None, out=None):
    return _reduce(a, "prod", "prod-aggregate", axis, keepdims, dtype, out)


def mean(a, axis=None, dtype=None, keepdims=False, split_every=None, out=None):
    return _reduce(a, "mean", "mean_agg-aggregate", axis, keepdims, dtype, out)


def min(a, axis=None, keepdims=False, split_every=None, out=None):
    return _reduce(a, "min", "amin-aggregate", axis, keepdims, None, out)


def max(a, axis=None, keepdims=False, split_every=None, out=None):
    return _reduce(a, "max", "amax-aggregate", axis, keepdims, None, out)


def argmin(a, axis=None, keepdims=False, split_every=None, out=None):
    return _reduce(a, "argmin", "arg_agg-aggregate", axis, keepdims, None, out)


def argmax(a, axis=None, keepdims=False, split_every=None, out=None):
    return _reduce(a, "argmax", "arg_agg-aggregate", axis, keepdims, None, out)


def _count(a, axis):
    if axis is None or (isinstance(axis, (tuple, list)) and len(set(axis)) >= a.ndim):
        return a.size
    if isinstance(axis, (tuple, list)):
        axis = axis[0]
    return a.shape[axis]


def var(a, axis=None, dtype=None, keepdims=False, ddof=0, split_every=None, out=None):
    a = asarray(a)
    v = _reduce(a, "var", "var-aggregate", axis, keepdims, dtype, out)
    if ddof:
        n = _count(a, axis)
        v = Array(v._expr.binary(_rask_array.scalar(n / (n - ddof), "float64"), "mul"), "var-aggregate")
    return v


def std(a, axis=None, dtype=None, keepdims=False, ddof=0, split_every=None, out=None):
    if ddof:
        return Array(var(a, axis, dtype, keepdims, ddof, split_every, out)._expr.unary("sqrt"), "_sqrt")
    return _reduce(a, "std", "_sqrt", axis, keepdims, dtype, out)


amin, amax = min, max
