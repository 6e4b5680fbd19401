"""dask.array's creation functions under `rask run` (dask/array/creation.py and
wrap.py): arrays of one value and ranges, each built by one rask builder. Local."""
import numbers

import numpy as np

import _rask_array

from .core import Array, _dtype_name, _shape, _unsupported, normalize_chunks

__all__ = ["ones", "zeros", "full", "arange"]


def _create(make, shape, chunks):
    """An array from a builder taking a regular chunk size, rechunked if `chunks` is not
    regular."""
    shape = _shape(shape)
    norm = normalize_chunks(chunks, shape)
    regular = _rask_array.regular_chunk_size(norm)
    if regular is not None:
        return make(shape, regular)
    return make(shape, tuple(max(dim) for dim in norm)).rechunk(norm)


def _full(value, shape, chunks, dtype, name):
    return Array(_create(lambda s, c: _rask_array.full(s, float(value), c, dtype), shape, chunks), name)


def ones(shape, dtype=None, chunks="auto", **kwargs):
    """Ones, as dask.array.ones (float64 unless dtype says). Local."""
    return _full(1, shape, chunks, _dtype_name(dtype, "float64"), "ones_like")


def zeros(shape, dtype=None, chunks="auto", **kwargs):
    """Zeros, as dask.array.zeros. Local."""
    return _full(0, shape, chunks, _dtype_name(dtype, "float64"), "zeros_like")


def full(shape, fill_value, dtype=None, chunks="auto", **kwargs):
    """One value everywhere, as dask.array.full (the value's dtype unless dtype says). Local."""
    return _full(fill_value, shape, chunks, _dtype_name(np.asarray(fill_value).dtype if dtype is None else dtype, None),
                 "full_like")


def arange(*args, chunks="auto", dtype=None, **kwargs):
    """int64 values start, start + step, ... below stop, as dask.array.arange. Local."""
    if len(args) == 1:
        start, stop, step = 0, args[0], 1
    elif len(args) == 2:
        start, stop, step = args[0], args[1], 1
    elif len(args) == 3:
        start, stop, step = args
    else:
        raise TypeError(f"arange takes 1 to 3 positional arguments, got {len(args)}")
    if not all(isinstance(v, numbers.Integral) for v in (start, stop, step)) or \
            _dtype_name(dtype, "int64") != "int64":
        raise _unsupported("dask.array.arange with floats (rask's arange is int64)")
    if step <= 0:
        raise _unsupported("dask.array.arange with step <= 0")
    norm = normalize_chunks(chunks, (len(range(start, stop, step)),))
    e = _rask_array.arange(int(start), int(stop), int(step), max(max(norm[0]), 1))
    if e.chunks != norm:
        e = e.rechunk(norm)
    return Array(e, "arange")
