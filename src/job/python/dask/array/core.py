"""dask.array's Array under `rask run`: a Python face on a rask::Array expression.

Building an array is local to rank 0's script and sends nothing: the script holds an
expression (shape, chunks, dtype and operands), and Dask's questions that need no
values (shape, chunks, dtype, repr) are answered from it. A compute adds one expression
record to the graph; every rank lowers it into its chunk tasks (src/job/array_binding.cpp).
Shapes that do not fit raise ValueError at the line that builds them, as in Dask.
"""
import numbers
import operator
import os

import numpy as np

import _rask
import _rask_array
import rask as _rask_py

__all__ = ["Array", "from_array", "from_delayed", "ones", "zeros", "full", "arange", "to_hdf5", "normalize_chunks"]


def _dry_run():
    """Whether `rask run --dry-run` plans computes without running them."""
    return _rask.dry_run()


# The Delayed values behind da.from_delayed arrays, by key (the expression names them).
_from_delayed_values = {}


def _filled(expr):
    """`expr` with its from_delayed chunks computed and put in (for the collective calls,
    which run an expression without a graph around it)."""
    keys = expr.delayed_keys()
    if not keys:
        return expr
    values = _rask_py.compute(*[_from_delayed_values[k] for k in keys])
    if any(v is None for v in values):  # --dry-run: nothing ran, and the call will not run
        return expr
    return expr.fill_delayed({k: np.ascontiguousarray(v, dtype=np.float64) for k, v in zip(keys, values)})


def _release_dropped():
    """Lets every rank free the chunks of persisted arrays the script no longer holds.
    Called from the script's own calls (never from a finalizer, which may run in the
    middle of another collective step)."""
    payload = _rask_array.dropped()
    if payload is not None:
        _rask_py.collective("array.release", payload)


def _unsupported(name):
    return _rask_py.unsupported(name)


def normalize_chunks(chunks, shape):
    """Dask's chunk specifications (an int, one size per dimension with -1 or None for
    the whole dimension, explicit sizes per dimension, a dict by axis, 'auto') as a
    tuple of per-dimension chunk-size tuples (rask::normalize_chunks decides)."""
    return _rask_array.normalize_chunks(chunks, tuple(int(s) for s in shape))


def _shape(shape):
    if isinstance(shape, numbers.Integral):
        return (int(shape),)
    shape = tuple(int(s) for s in shape)
    if len(shape) > 2:
        raise _unsupported(f"dask arrays of {len(shape)} dimensions (rask arrays have 0, 1 or 2)")
    return shape


def _dtype_name(dtype, default):
    """The rask dtype holding a NumPy dtype's values (rask::array_dtype_of_numpy decides);
    `default` for None."""
    if dtype is None:
        return default
    name = _rask_array.array_dtype(dtype)
    if name is None:
        raise _unsupported(f"dask arrays of dtype {np.dtype(dtype)} (rask arrays hold float64, int64 and bool)")
    return name


def _scalar(value):
    """A Python or NumPy scalar as a 0-d expression, with NumPy's dtype for it."""
    if isinstance(value, (bool, np.bool_, numbers.Real)):
        return _rask_array.scalar(float(value), _dtype_name(np.asarray(value).dtype, None))
    return None


def _operand(value, like=None):
    """The expression of an operand of arithmetic: an Array, a scalar, a NumPy array (in
    the chunks Dask gives it against `like`, an expression). rask's operations unify
    the chunks of two arrays themselves."""
    if isinstance(value, Array):
        return value._expr
    e = _scalar(value)
    if e is not None:
        return e
    if not isinstance(value, np.ndarray):
        return None
    if value.ndim == 0:
        return _scalar(value[()])
    if like is None or value.ndim > 2:
        return from_array(value)._expr
    return from_array(value, chunks=_rask_array.operand_chunks(value.shape, like))._expr


def _inner_operand(value, like, left):
    """The other operand of a matrix product with the expression `like`: a NumPy array
    in the chunks Dask gives it there. `left`: the operand is the left one."""
    if isinstance(value, np.ndarray) and 0 < value.ndim <= 2:
        return from_array(value, chunks=_rask_array.inner_operand_chunks(value.shape, like, left))._expr
    return _operand(value)


def _binary_expr(a, b, op):
    """a op b; NumPy's dtype rules (bool + bool is or, bool - bool a TypeError) are rask's
    C++ rules."""
    return a.binary(b, op)


def _product_name(a, b, matmul):
    if matmul:
        return "getitem" if a.ndim == 1 or b.ndim == 1 else "_chunk_sum-aggregate"
    return "sum-aggregate"


class Array:
    """A lazy chunked array, as dask.array.Array (0-d, 1-d or 2-d; float64, int64 or bool).
    Building is local; compute, persist, to_hdf5 and visualize are collective."""
    __slots__ = ("_expr", "_name", "_delayed_value", "__weakref__")
    __array_priority__ = 11  # NumPy defers binary operators with a NumPy array to us

    def __init__(self, expr, name):
        self._expr = expr
        self._name = name
        self._delayed_value = None

    # What Dask knows without computing.
    @property
    def shape(self):
        return self._expr.shape

    @property
    def chunks(self):
        return self._expr.chunks

    @property
    def dtype(self):
        return np.dtype(self._expr.dtype)

    @property
    def ndim(self):
        return self._expr.ndim

    @property
    def size(self):
        return self._expr.size

    @property
    def itemsize(self):
        return self.dtype.itemsize

    @property
    def nbytes(self):
        return self.size * self.itemsize

    @property
    def chunksize(self):
        return tuple(max(dim) for dim in self.chunks)

    @property
    def numblocks(self):
        return tuple(len(dim) for dim in self.chunks)

    @property
    def npartitions(self):
        return self._expr.num_chunks

    @property
    def name(self):
        return f"{self._name}-{self._expr.token:016x}"

    def __repr__(self):
        return (f"dask.array<{self._name}, shape={self.shape}, dtype={self.dtype}, chunksize={self.chunksize}, "
                "chunktype=numpy.ndarray>")

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __iter__(self):
        raise _unsupported("iterating over a dask array (integer indexing)")

    # Joining graphs: one expression record per array (src/job/python/rask).
    def __rask_delayed__(self):
        _release_dropped()
        if self._delayed_value is None:
            keys = self._expr.delayed_keys()
            deps = [_from_delayed_values[k] for k in keys]
            self._delayed_value = _rask_py.expression("array", self._expr.serialize(), deps=deps, key=self.name)
        return self._delayed_value

    def __rask_persist__(self):
        return persist(self)[0]

    def compute(self, **kwargs):
        """Collective: the values, a NumPy array on rank 0 (a NumPy scalar for 0-d).
        Under --dry-run, zeros of the array's shape and dtype, so the script goes on."""
        value = _rask_py.compute(self, **kwargs)[0]
        if value is None and _dry_run():
            value = np.zeros(self.shape, dtype=self.dtype)
            return value[()] if value.ndim == 0 else value
        return value

    def persist(self, **kwargs):
        """Collective: the chunks computed and kept where they live; later computes read
        them instead of recomputing."""
        return persist(self)[0]

    def visualize(self, filename="mydask", format=None, **kwargs):
        """Collective: draws the chunk graph, each task coloured by its rank."""
        path = str(filename)
        if "." not in os.path.basename(path):
            path += "." + (format or "png")
        _rask_py.collective("array.visualize", _rask_array.visualize_payload(path, _filled(self._expr)))
        return None

    def to_delayed(self, optimize_graph=True):
        """Delayed values of the chunks, in a NumPy object array shaped like the chunk
        grid, as Dask's. Each is cut from the whole array assembled on rank 0, so a
        chunk's consumers read it there. Local to build."""
        whole = self.__rask_delayed__()
        starts = [np.concatenate([[0], np.cumsum(dim)]) for dim in self.chunks]
        out = np.empty(self.numblocks, dtype=object)
        cut = _rask_py.delayed(operator.getitem, pure=True)
        for idx in np.ndindex(*self.numblocks):
            where = tuple(slice(int(s[i]), int(s[i + 1])) for s, i in zip(starts, idx))
            out[idx] = cut(whole, where)
        return out

    def to_hdf5(self, filename, datapath, **kwargs):
        return to_hdf5(filename, datapath, self, **kwargs)

    def __array__(self, dtype=None):
        value = np.asarray(self.compute())
        return value if dtype is None else value.astype(dtype)

    def __float__(self):
        return float(self.compute())

    def __int__(self):
        return int(self.compute())

    def __bool__(self):
        return bool(self.compute())

    def __index__(self):
        return int(self.compute())

    def __reduce__(self):
        raise TypeError("a dask array cannot be pickled into a task under rask run; compute it in the script, "
                        "or pass it to the delayed call as an argument")

    # Layout.
    @property
    def T(self):
        return Array(self._expr.transpose(), "transpose")

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if axes and axes not in ((1, 0), (0,)):  # a 2-d array's axes reversed, or 1-d's kept
            raise _unsupported(f"Array.transpose{axes}")
        return self.T

    def dot(self, other):
        o = _inner_operand(other, self._expr, False)
        if o is None:
            return NotImplemented
        return Array(self._expr.dot(o), _product_name(self._expr, o, False))

    def __matmul__(self, other):
        o = _inner_operand(other, self._expr, False)
        if o is None:
            return NotImplemented
        return Array(self._expr.dot(o), _product_name(self._expr, o, True))

    def __rmatmul__(self, other):
        o = _inner_operand(other, self._expr, True)
        if o is None:
            return NotImplemented
        return Array(o.dot(self._expr), _product_name(o, self._expr, True))

    def rechunk(self, chunks="auto", threshold=None, block_size_limit=None, balance=False):
        if isinstance(chunks, dict):  # axes not named keep their chunks
            chunks = tuple(chunks.get(d, chunks.get(d - self.ndim, self.chunks[d])) for d in range(self.ndim))
        norm = normalize_chunks(chunks, self.shape)
        if norm == self.chunks:
            return self
        return Array(self._expr.rechunk(norm), "rechunk-merge")

    def astype(self, dtype, **kwargs):
        """Casts that need no rounding (rask::astype decides which)."""
        target = _dtype_name(dtype, None)
        if target == self._expr.dtype:
            return self
        e = _rask_array.astype(self._expr, target)
        if e is None:
            raise _unsupported(f"Array.astype({np.dtype(dtype)}) from {self.dtype} (rounding casts)")
        return Array(e, "astype")

    def __getitem__(self, index):
        if not isinstance(index, tuple):
            index = (index,)
        if any(i is Ellipsis for i in index):
            at = next(k for k, i in enumerate(index) if i is Ellipsis)
            fill = (slice(None),) * (self.ndim - (len(index) - 1))
            index = index[:at] + fill + index[at + 1:]
        if len(index) > max(self.ndim, 1) or self.ndim == 0:
            raise IndexError(f"too many indices for array: array is {self.ndim}-dimensional, "
                             f"but {len(index)} were indexed")
        ranges = []
        for i in index:
            if isinstance(i, (numbers.Integral, np.integer)):
                raise _unsupported(f"integer indexing of dask arrays (x[{i}]; slice instead: x[{i}:{i + 1}])")
            if not isinstance(i, slice):
                raise _unsupported(f"indexing dask arrays by {type(i).__name__} (slice by ranges: x[a:b, c:d:s])")
            start, stop, step = i.start, i.stop, i.step
            if step is not None and step <= 0:
                raise _unsupported("slices with negative or zero steps")
            ranges.append((0 if start is None else int(start), 2**62 if stop is None else int(stop),
                           1 if step is None else int(step)))
        if all(r == (0, 2**62, 1) for r in ranges):
            return self
        return Array(self._expr.slice(ranges), "getitem")

    # Arithmetic.
    def _binary(self, other, op, reflected=False):
        o = _operand(other, self._expr)
        if o is None:
            return NotImplemented
        return Array(_binary_expr(o, self._expr, op) if reflected else _binary_expr(self._expr, o, op), op)

    def __add__(self, other):
        return self._binary(other, "add")

    def __radd__(self, other):
        return self._binary(other, "add", True)

    def __sub__(self, other):
        return self._binary(other, "sub")

    def __rsub__(self, other):
        return self._binary(other, "sub", True)

    def __mul__(self, other):
        return self._binary(other, "mul")

    def __rmul__(self, other):
        return self._binary(other, "mul", True)

    def __truediv__(self, other):
        return self._binary(other, "truediv")

    def __rtruediv__(self, other):
        return self._binary(other, "truediv", True)

    def __pow__(self, other):
        return self._binary(other, "pow")

    def __rpow__(self, other):
        return self._binary(other, "pow", True)

    def __lt__(self, other):
        return self._binary(other, "lt")

    def __le__(self, other):
        return self._binary(other, "le")

    def __gt__(self, other):
        return self._binary(other, "gt")

    def __ge__(self, other):
        return self._binary(other, "ge")

    def __eq__(self, other):
        return self._binary(other, "eq")

    def __ne__(self, other):
        return self._binary(other, "ne")

    __hash__ = object.__hash__

    def __neg__(self):
        return Array(self._expr.unary("neg"), "neg")

    def __pos__(self):
        return self

    def __abs__(self):
        return Array(self._expr.unary("abs"), "abs")

    def __floordiv__(self, other):
        raise _unsupported("// on dask arrays")

    __rfloordiv__ = __mod__ = __rmod__ = __floordiv__

    # Reductions (dask/array/reductions.py).
    def sum(self, axis=None, dtype=None, keepdims=False, split_every=None, out=None):
        from . import reductions
        return reductions.sum(self, axis, dtype, keepdims, split_every, out)

    def prod(self, axis=None, dtype=None, keepdims=False, split_every=None, out=None):
        from . import reductions
        return reductions.prod(self, axis, dtype, keepdims, split_every, out)

    def mean(self, axis=None, dtype=None, keepdims=False, split_every=None, out=None):
        from . import reductions
        return reductions.mean(self, axis, dtype, keepdims, split_every, out)

    def min(self, axis=None, keepdims=False, split_every=None, out=None):
        from . import reductions
        return reductions.min(self, axis, keepdims, split_every, out)

    def max(self, axis=None, keepdims=False, split_every=None, out=None):
        from . import reductions
        return reductions.max(self, axis, keepdims, split_every, out)

    def argmin(self, axis=None, keepdims=False, split_every=None, out=None):
        from . import reductions
        return reductions.argmin(self, axis, keepdims, split_every, out)

    def argmax(self, axis=None, keepdims=False, split_every=None, out=None):
        from . import reductions
        return reductions.argmax(self, axis, keepdims, split_every, out)

    def var(self, axis=None, dtype=None, keepdims=False, ddof=0, split_every=None, out=None):
        from . import reductions
        return reductions.var(self, axis, dtype, keepdims, ddof, split_every, out)

    def std(self, axis=None, dtype=None, keepdims=False, ddof=0, split_every=None, out=None):
        from . import reductions
        return reductions.std(self, axis, dtype, keepdims, ddof, split_every, out)

    # NumPy's functions on dask arrays.
    _UFUNCS = {"exp": "exp", "log": "log", "sqrt": "sqrt", "absolute": "abs", "negative": "neg"}
    _BINARY_UFUNCS = {"add": "add", "subtract": "sub", "multiply": "mul", "true_divide": "truediv",
                      "divide": "truediv", "power": "pow", "less": "lt", "less_equal": "le", "greater": "gt",
                      "greater_equal": "ge", "equal": "eq", "not_equal": "ne", "matmul": "matmul"}

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        name = ufunc.__name__
        if method != "__call__" or kwargs.get("out") is not None or (set(kwargs) - {"out"}):
            raise _unsupported(f"numpy.{name}.{method} with {sorted(kwargs)} on dask arrays")
        if name in self._UFUNCS and len(inputs) == 1:
            op = self._UFUNCS[name]
            return Array(_operand(inputs[0]).unary(op), name)
        if name in self._BINARY_UFUNCS and len(inputs) == 2:
            if isinstance(inputs[0], Array):
                a = _operand(inputs[0])
                b = _operand(inputs[1], a)
            else:  # a NumPy operand takes the dask array's chunks
                b = _operand(inputs[1])
                a = _operand(inputs[0], b)
            if a is None or b is None:
                return NotImplemented
            if name == "matmul":
                return inputs[0].__matmul__(inputs[1]) if isinstance(inputs[0], Array) else \
                    inputs[1].__rmatmul__(inputs[0])
            op = self._BINARY_UFUNCS[name]
            return Array(_binary_expr(a, b, op), op)
        raise _unsupported(f"numpy.{name} on dask arrays")

    def __array_function__(self, func, types, args, kwargs):
        name = func.__name__
        method = {"amin": "min", "amax": "max", "min": "min", "max": "max", "sum": "sum", "mean": "mean",
                  "std": "std", "var": "var", "prod": "prod", "argmin": "argmin", "argmax": "argmax",
                  "transpose": "transpose", "dot": "dot", "rechunk": "rechunk"}.get(name)
        if method is None or not args or not isinstance(args[0], Array):
            if name == "dot" and len(args) == 2 and isinstance(args[1], Array):
                return args[1].__rmatmul__(args[0])
            raise _unsupported(f"numpy.{name} on dask arrays")
        return getattr(args[0], method)(*args[1:], **kwargs)


def from_array(x, chunks="auto", name=None, lock=False, asarray=None, fancy=True, getitem=None, meta=None,
               inline_array=False):
    """An array over an h5py dataset (each chunk read by the rank that holds it), a
    NumPy array (its values travel in the expression) or a dask array. Local."""
    if isinstance(x, Array):
        return x.rechunk(chunks) if chunks != "auto" else x
    try:
        import h5py
    except ImportError:  # pragma: no cover - h5py is part of the job image
        h5py = None
    if h5py is not None and isinstance(x, h5py.Dataset):
        shape = _shape(x.shape)
        _dtype_name(x.dtype, None)
        norm = normalize_chunks(chunks, shape)
        regular = _rask_array.regular_chunk_size(norm)
        path = os.path.abspath(x.file.filename)
        e = _rask_array.from_hdf5(path, x.name, regular if regular is not None else tuple(max(d) for d in norm))
        if regular is None:
            e = e.rechunk(norm)
        return Array(e, "array")
    if isinstance(x, (np.ndarray, list, tuple, numbers.Number)):
        a = np.asarray(x)
        shape = _shape(a.shape)
        dtype = _dtype_name(a.dtype, None)
        norm = normalize_chunks(chunks, shape)
        regular = _rask_array.regular_chunk_size(norm)
        e = _rask_array.literal(np.ascontiguousarray(a, dtype=np.float64).reshape(-1), shape,
                                regular if regular is not None else tuple(max(d) for d in norm), dtype)
        if regular is None:
            e = e.rechunk(norm)
        return Array(e, "array")
    raise _unsupported(f"dask.array.from_array of {type(x).__module__}.{type(x).__name__}")


def from_delayed(value, shape, dtype=None, meta=None, name=None):
    """A one-chunk array whose values a Delayed gives at compute, as
    dask.array.from_delayed; its shape and dtype are as declared (a value of another
    shape fails the compute, naming both). Local."""
    if not isinstance(value, _rask_py.Delayed):
        value = _rask_py.delayed(value)
    shape = _shape(shape)
    if dtype is None and meta is None:
        raise ValueError("You must specify the meta or dtype of the array")
    dtype = _dtype_name(dtype if dtype is not None else meta.dtype, None)
    _from_delayed_values[value.key] = value
    return Array(_rask_array.from_delayed(value.key, shape, dtype), name or "from-value")


def asarray(x, **kwargs):
    return x if isinstance(x, Array) else from_array(x, **kwargs)


def persist(*arrays):
    """Collective: the arrays computed and kept where their chunks live (under
    --dry-run, where nothing runs, the arrays themselves). Every rank frees them once
    the script holds no array using them (at its next array call)."""
    _release_dropped()
    result = _rask_py.collective("array.persist", _rask_array.persist_payload([_filled(a._expr) for a in arrays]))
    if result is None:
        return arrays
    return tuple(Array(e, a._name) for e, a in zip(_rask_array.persisted(result), arrays))


def to_hdf5(filename, *args, chunks=True, **kwargs):
    """Collective: writes arrays to an HDF5 file in one parallel write, as
    dask.array.to_hdf5: `to_hdf5(path, '/x', x)` or `to_hdf5(path, {'/x': x, '/y': y})`."""
    if len(args) == 1 and isinstance(args[0], dict):
        items = list(args[0].items())
    elif len(args) == 2 and isinstance(args[0], str):
        items = [(args[0], args[1])]
    else:
        raise TypeError("to_hdf5 takes (filename, '/name', array) or (filename, {'/name': array, ...})")
    _release_dropped()
    pairs = []
    for name, a in items:
        if not isinstance(a, Array):
            a = from_array(a)
        pairs.append((name if name.startswith("/") else "/" + name, _filled(a._expr)))
    _rask_py.collective("array.to_hdf5", _rask_array.hdf5_payload(os.path.abspath(str(filename)), pairs))


# dask.array.core's creation functions as before the split (Dask keeps them in creation.py).
from .creation import arange, full, ones, zeros  # noqa: E402,F401  (creation imports this module)
