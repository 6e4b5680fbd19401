"""Delayed values, as dask.delayed: ``delayed(f)(x)`` makes a task of the next compute.

A Delayed holds its call as a template (rask.graph): its arguments with every Delayed
replaced by ``_In(i)``, the i-th of its dependencies.
"""
import operator
import uuid
from types import FunctionType as _FunctionType

from .config import _config
from .graph import _COLLECTIONS, _IN, _In, _apply, _collect, _counter, _expression, _fresh, _identity, _session, funcname


class _Future:
    """Marker base of dask.distributed.Future (defined in rask.futures)."""
    __slots__ = ()

    def _dep(self):
        """What a graph using this future depends on: its task while pending, its value
        once known (so a finished future is never run twice)."""
        raise NotImplementedError


class _Template:
    """Turns arguments into a template: Delayed values become _In slots."""
    __slots__ = ("deps", "index", "nested")

    def __init__(self):
        self.deps = []
        self.index = {}
        self.nested = False

    def ref(self, d):
        key = d._key
        pos = self.index.get(key)
        if pos is None:
            pos = self.index[key] = len(self.deps)
            self.deps.append(d)
        return _IN[pos] if pos < 256 else _In(pos)

    def top(self, arg):
        # A top-level argument: a collection holding delayed values makes the template
        # nested (filled by _fill at run time); a Delayed itself is a plain input.
        out = self.inner(arg)
        if out is not arg and type(arg) in _COLLECTIONS:
            self.nested = True
        return out

    def inner(self, arg):
        # Returns `arg` itself when nothing in it is delayed.
        if isinstance(arg, Delayed):
            return self.ref(arg)
        if isinstance(arg, DelayedLeaf):
            return arg._callable
        if isinstance(arg, _Future):
            return self.ref(arg._dep())
        if hasattr(type(arg), "__rask_delayed__"):  # an array or frame: its computed value
            return self.ref(arg.__rask_delayed__())
        t = type(arg)
        if t is list or t is tuple or t is set:
            items = [self.inner(a) for a in arg]
            if all(x is a for x, a in zip(items, arg)):
                return arg
            return t(items) if t is not list else items
        if t is dict:
            items = {k: self.inner(v) for k, v in arg.items()}
            if all(items[k] is v for k, v in arg.items()):
                return arg
            return items
        return arg


class _DelayedFields:
    __slots__ = ("_key", "_func", "_args", "_kwargs", "_deps", "_nested", "_length")


class Delayed(_DelayedFields):
    """A lazy value: the result of a task. Built by ``delayed``; see Dask's Delayed.
    Immutable, as in Dask."""
    __slots__ = ()

    def __new__(cls, key, func, args, kwargs, deps, nested, length=None):
        return _NewDelayed(key, func, args, kwargs, deps, nested, length)

    def __init__(self, *args):
        pass  # __new__ made it

    @property
    def key(self):
        return self._key

    @property
    def dask(self):
        """The graph as a dict of key -> task description (for inspection)."""
        records, _ = _collect([self])
        return {r[0]: r[1:] for r in records}

    def __dask_graph__(self):
        return self.dask

    def __dask_keys__(self):
        return [self._key]

    def __repr__(self):
        return f"Delayed({self._key!r})"

    def __hash__(self):
        return hash(self._key)

    def compute(self, **kwargs):
        """Computes this value on the whole MPI job (collective under rask run)."""
        from .base import compute
        return compute(self, **kwargs)[0]

    def persist(self, **kwargs):
        from .base import persist
        return persist(self, **kwargs)[0]

    def visualize(self, filename="mydask", format=None, **kwargs):
        from .base import visualize
        return visualize(self, filename=filename, format=format, **kwargs)

    def __getattr__(self, attr):
        if attr.startswith("_"):
            raise AttributeError(f"Attribute {attr} not found")
        return _call(getattr, "getattr", True, None, None, (self, attr), None)

    def __setattr__(self, attr, value):
        raise TypeError("Delayed objects are immutable")

    def __setitem__(self, index, value):
        raise TypeError("Delayed objects are immutable")

    def __iter__(self):
        if self._length is None:
            raise TypeError("Delayed objects of unspecified length are not iterable")
        for i in range(self._length):
            yield self[i]

    def __len__(self):
        if self._length is None:
            raise TypeError("Delayed objects of unspecified length have no len()")
        return self._length

    def __bool__(self):
        raise TypeError("Truth of Delayed objects is not supported")

    __nonzero__ = __bool__

    def __call__(self, *args, **kwargs):
        pure = kwargs.pop("pure", False)
        name = kwargs.pop("dask_key_name", None)
        return _call(_apply, "apply", pure, None, name, (self, list(args), kwargs), None)

    def __getitem__(self, index):
        return _call(operator.getitem, "getitem", True, None, None, (self, index), None)

    def __reduce__(self):
        raise TypeError(f"Delayed value {self._key!r} cannot be pickled into a task; "
                        "pass it as an argument of the delayed call instead")


class _NewDelayed(_DelayedFields):
    """Builds a Delayed: fields set without Delayed's immutability check, then the
    object becomes a Delayed (a graph of 10^5 calls makes 10^5 of these)."""
    __slots__ = ()

    def __init__(self, key, func, args, kwargs, deps, nested, length=None):
        self._key = key
        self._func = func
        self._args = args
        self._kwargs = kwargs
        self._deps = deps
        self._nested = nested
        self._length = length
        self.__class__ = Delayed


def _binary(op, name):
    def forward(self, other):
        return _call(op, name, True, None, None, (self, other), None)

    def backward(self, other):
        return _call(op, name, True, None, None, (other, self), None)
    return forward, backward


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "and", "or", "xor",
              "lshift", "rshift", "matmul", "eq", "ne", "lt", "le", "gt", "ge"):
    _op = getattr(operator, _name if _name not in ("and", "or") else _name + "_")
    _f, _b = _binary(_op, _name)
    setattr(Delayed, f"__{_name}__", _f)
    if _name not in ("eq", "ne", "lt", "le", "gt", "ge"):
        setattr(Delayed, f"__r{_name}__", _b)
Delayed.__hash__ = lambda self: hash(self._key)
for _name in ("neg", "pos", "abs", "invert"):
    def _unary(self, _op=getattr(operator, _name), _n=_name):
        return _call(_op, _n, True, None, None, (self,), None)
    setattr(Delayed, f"__{_name}__", _unary)


def _tokenize(*parts):
    import hashlib
    import pickle
    try:
        data = pickle.dumps(parts, protocol=5)
    except Exception:
        import cloudpickle
        try:
            data = cloudpickle.dumps(parts, protocol=5)
        except Exception:
            return uuid.uuid4().hex
    return hashlib.md5(data).hexdigest()


def _call(func, name, pure, nout, key, args, kwargs):
    """A Delayed for ``func(*args, **kwargs)``."""
    deps = []
    targs = []
    index = {}  # key -> input position: equal keys are one input
    for a in args:
        t = type(a)
        if t is Delayed:
            k = a._key
            i = index.get(k)
            if i is None:
                i = index[k] = len(deps)
                deps.append(a)
            targs.append(_IN[i] if i < 256 else _In(i))
        elif t is int or t is float or t is str:
            targs.append(a)
        else:
            break
    else:
        if not kwargs:
            if key is None:
                key = f"{name}-{_session}{next(_counter):x}" if not pure else _key_for(func, name, pure, targs,
                                                                                        None, deps)
            return _NewDelayed(key, func, tuple(targs), None, tuple(deps), False, nout)
    # The general case: collections, futures, leaves, keyword arguments.
    tmpl = _Template()
    targs = tuple(tmpl.top(a) for a in args)
    tkwargs = None
    if kwargs:
        tkwargs = {k: tmpl.top(v) for k, v in kwargs.items()}
        tmpl.nested = True
    deps = tuple(tmpl.deps)
    if key is None:
        key = _key_for(func, name, pure, targs, tkwargs, deps)
    return _NewDelayed(key, func, targs, tkwargs, deps, tmpl.nested, nout)


def _key_for(func, name, pure, targs, tkwargs, deps):
    if not pure:
        return f"{name}-{_session}{next(_counter):x}"
    try:
        fid = (func.__module__, func.__qualname__)
    except AttributeError:
        fid = func
    return f"{name}-{_tokenize(fid, tuple(targs), tkwargs, tuple(d._key for d in deps))}"


class DelayedLeaf:
    """``delayed(func)``: calling it makes a task. Cheap to make, since scripts write
    ``delayed(f)(x)`` in loops; as an argument or computed, it is the function itself."""
    __slots__ = ("_callable", "_name", "_pure", "_nout", "_prefix")

    def __init__(self, func, name, pure, nout):
        self._callable = func
        self._name = name or funcname(func)
        self._pure = pure
        self._nout = nout
        self._prefix = f"{self._name}-{_session}"  # of its calls' fresh keys

    def __call__(self, *args, **kwargs):
        if kwargs:
            pure = kwargs.pop("pure", self._pure)
            key = kwargs.pop("dask_key_name", None)
            return _call(self._callable, self._name, bool(pure), self._nout, key, args, kwargs)
        if not self._pure:
            # The common case, kept short (a map over 10^5 values): an impure call on
            # numbers and strings alone is its own template.
            for a in args:
                t = type(a)
                if t is not int and t is not float and t is not str:
                    break
            else:
                return _NewDelayed(f"{self._prefix}{next(_counter):x}", self._callable, args, None, (), False,
                                   self._nout)
        return _call(self._callable, self._name, self._pure, self._nout, None, args, None)

    @property
    def key(self):
        return self._name

    def compute(self, **kwargs):
        return self._callable

    def __repr__(self):
        return f"Delayed({self.key!r})"

    @property
    def __name__(self):
        return self._name

    @property
    def __doc__(self):
        return getattr(self._callable, "__doc__", None)

    @property
    def __wrapped__(self):
        return self._callable


_last_leaf = [None]  # the leaf delayed(f) made last: loops call delayed(f) again and again


def delayed(obj="__no__default__", name=None, pure=None, nout=None, traverse=True):
    """Wraps a function or value into a Delayed, as ``dask.delayed``; usable as a
    decorator with or without arguments. Impure by default (equal calls are separate
    tasks), as in Dask; ``pure=True`` shares equal calls."""
    if type(obj) is _FunctionType and pure is None and nout is None and name is None:
        # The common case, kept short: delayed(f)(x) in a loop gets the same leaf back.
        pure = _config.get("delayed_pure", False)
        last = _last_leaf[0]
        if last is not None and last._callable is obj and last._pure == pure:
            return last
        leaf = _last_leaf[0] = DelayedLeaf(obj, None, pure, None)
        return leaf
    if isinstance(obj, str) and obj == "__no__default__":
        return lambda o: delayed(o, name=name, pure=pure, nout=nout, traverse=traverse)
    if isinstance(obj, (Delayed, DelayedLeaf)):
        return obj
    if isinstance(obj, _Future):
        return obj._dep()
    if pure is None:
        pure = bool(_config.get("delayed_pure", False))
    if nout is not None and (not isinstance(nout, int) or nout < 0):
        raise ValueError(f"nout must be None or a non-negative integer, got {nout!r}")
    if callable(obj):
        return DelayedLeaf(obj, name, pure, nout)
    if traverse and type(obj) in _COLLECTIONS:
        tmpl = _Template()
        t = tmpl.inner(obj)
        if t is not obj:
            deps = tuple(tmpl.deps)
            return Delayed(name or _fresh(type(obj).__name__), _identity, (t,), None, deps, True, nout)
    key = name or _fresh(type(obj).__name__)
    return Delayed(key, _identity, (obj,), None, (), False, nout)


def expression(kind, payload, deps=(), key=None):
    """A Delayed standing for a collection whose C++ expression `payload` (bytes) every
    rank lowers into the compute's graph; `deps` are Delayed values it reads."""
    return Delayed(key or _fresh(kind), _expression, (kind, bytes(payload)), None, tuple(deps), False)
