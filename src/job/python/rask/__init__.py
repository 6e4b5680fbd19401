"""rask's Python side: Dask's delayed semantics, building graphs that the rask program
runs on every rank of the MPI job.

A Delayed holds its call as a template: its arguments with every Delayed replaced by
``_In(i)``, the i-th of its dependencies. A compute collects the templates of every
task the outputs need, deduplicated by key, in dependency order, and hands them to
``_rask.compute``, which broadcasts them (pickled once) and runs them on every rank.
"""
import itertools
import operator
import sys
import uuid
from types import FunctionType as _FunctionType

import _rask

__all__ = ["Delayed", "delayed", "compute", "persist", "visualize", "TaskError", "unsupported", "expression",
           "collective"]

README_TABLE = "see the table 'What is supported' in rask's README.md"


class TaskError(RuntimeError):
    """A task failed on some rank; the message names the task, the rank and the task's
    own traceback. Raised when the failing task's exception type is not a builtin one."""


def unsupported(name):
    """The error for a Dask name rask does not provide."""
    return NotImplementedError(f"{name} is not supported by rask; {README_TABLE}")


class _In(int):
    """A slot in a task's argument template: its value is the task's i-th input."""
    __slots__ = ()

    def __repr__(self):
        return f"_In({int(self)})"


_IN = tuple(_In(i) for i in range(256))
_COLLECTIONS = (list, tuple, dict, set)
_session = uuid.uuid4().hex[:8]
_counter = itertools.count(1)


def _fresh(name):
    # Unique within the job: only rank 0 builds graphs, so a counter suffices.
    return f"{name}-{_session}{next(_counter):x}"


def funcname(func):
    """Readable name of a callable, as Dask prints it in keys."""
    while hasattr(func, "func") and not hasattr(func, "__name__"):  # functools.partial
        func = func.func
    if isinstance(func, operator.methodcaller):
        return func.__reduce__()[1][0]
    name = getattr(func, "__name__", None) or type(func).__name__
    return "lambda" if name == "<lambda>" else name


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


def _fill(template, inputs):
    """The value of a nested template, given a task's inputs."""
    t = type(template)
    if t is _In:
        return inputs[template]
    if t is list:
        return [_fill(a, inputs) for a in template]
    if t is tuple:
        return tuple(_fill(a, inputs) for a in template)
    if t is set:
        return {_fill(a, inputs) for a in template}
    if t is dict:
        return {k: _fill(v, inputs) for k, v in template.items()}
    return template


def _run(func, args, kwargs, inputs):
    """Runs one task whose template needs more than top-level substitution."""
    args = [_fill(a, inputs) for a in args]
    if kwargs:
        return func(*args, **{k: _fill(v, inputs) for k, v in kwargs.items()})
    return func(*args)


def _identity(x):
    return x


def _apply(func, args, kwargs):
    return func(*args, **kwargs)


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
        return compute(self, **kwargs)[0]

    def persist(self, **kwargs):
        return persist(self, **kwargs)[0]

    def visualize(self, filename="mydask", format=None, **kwargs):
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


class _KeyOf:
    """Stands for a Delayed inside a token: equal keys, equal tokens."""
    __slots__ = ("key",)

    def __init__(self, key):
        self.key = key

    def __reduce__(self):
        return (_KeyOf, (self.key,))


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


def _expression(*args):
    """The func of an expression record: never called. Every rank lowers the record's
    (kind, payload) into the compute's graph itself (src/job/expression.hpp)."""
    raise RuntimeError("an array or dataframe cannot be computed inside a task; "
                       "compute it in the script, or pass it to the delayed call")


def expression(kind, payload, deps=(), key=None):
    """A Delayed standing for a collection whose C++ expression `payload` (bytes) every
    rank lowers into the compute's graph; `deps` are Delayed values it reads."""
    return Delayed(key or _fresh(kind), _expression, (kind, bytes(payload)), None, tuple(deps), False)


def collective(name, payload=b""):
    """Runs the C++ collective call `name` on every rank at once; rank 0's result as
    bytes (None under --dry-run, where nothing runs)."""
    return _rask.collective(name, bytes(payload))


def _collect(outputs):
    """The records of every task `outputs` need, dependencies first, one per key, and
    the position of each output. A record is (key, func, args, kwargs, deps, nested)."""
    position = {}
    records = []
    append = records.append
    out_pos = []
    for root in outputs:
        # Iterative post-order: deep chains must not hit Python's recursion limit.
        stack = [root]
        while stack:
            node = stack[-1]
            key = node._key
            if key in position:
                stack.pop()
                continue
            deps = node._deps
            if deps:
                missing = None
                for d in deps:
                    k = d._key
                    if k in position:
                        continue
                    if d._deps:
                        if missing is None:
                            missing = [d]
                        else:
                            missing.append(d)
                    else:
                        # Most tasks of a big graph are leaves: recorded here rather than
                        # pushed and visited again.
                        position[k] = len(records)
                        append((k, d._func, d._args, d._kwargs, (), d._nested))
                if missing:
                    missing.reverse()
                    stack.extend(missing)
                    continue
                deps = tuple([position[d._key] for d in deps])
            stack.pop()
            position[key] = len(records)
            append((key, node._func, node._args, node._kwargs, deps, node._nested))
        out_pos.append(position[root._key])
    return records, out_pos


def _pack(records, out_pos):
    """The form in which a compute's records cross ranks: a column per field, the keys
    joined into one string. Pickles in half the time of a list of 6-tuples (10^5 tuples
    and key strings each cost a memo entry); _unpack makes the records again."""
    keys = [r[0] for r in records]
    try:
        joined = "\0".join(keys)
        if joined.count("\0") == len(keys) - 1:  # no key holds the separator itself
            keys = joined
    except TypeError:
        pass  # a key that is not a string: sent as it is
    return ((keys, [r[1] for r in records], [r[2] for r in records], [r[3] for r in records],
             [r[4] for r in records], [r[5] for r in records]), out_pos)


def _unpack(packed):
    """(records, out_pos) from what _pack made."""
    (keys, funcs, args, kwargs, deps, nested), out_pos = packed
    if type(keys) is str:
        keys = keys.split("\0") if keys or funcs else []
    return list(zip(keys, funcs, args, kwargs, deps, nested)), out_pos


def _find(obj, found):
    """Collects the Delayed values inside nested lists, tuples, sets and dicts."""
    if isinstance(obj, Delayed):
        found.append(obj)
    elif isinstance(obj, _Future):
        found.append(obj._dep())
    elif hasattr(type(obj), "__rask_delayed__"):
        found.append(obj.__rask_delayed__())  # an array or frame: its expression record
    elif type(obj) in (list, tuple, set):
        for o in obj:
            _find(o, found)
    elif type(obj) is dict:
        for o in obj.values():
            _find(o, found)


def _rebuild(obj, values):
    if isinstance(obj, Delayed) or isinstance(obj, _Future):
        return values[(obj if isinstance(obj, Delayed) else obj._delayed)._key]
    if hasattr(type(obj), "__rask_delayed__"):
        return values[obj.__rask_delayed__()._key]
    t = type(obj)
    if t is list or t is tuple or t is set:
        items = [_rebuild(o, values) for o in obj]
        return items if t is list else t(items)
    if t is dict:
        return {k: _rebuild(v, values) for k, v in obj.items()}
    return obj


def _compute_local(records, out_pos):
    """Runs records in order on this thread: a compute called inside a task (Dask runs
    it there too, without the scheduler)."""
    values = []
    for key, func, args, kwargs, deps, nested in records:
        if func is _identity and not deps:
            values.append(args[0])
        elif func is _expression:
            _expression()
        else:
            values.append(_run(func, args, kwargs, [values[d] for d in deps]))
    return [values[p] for p in out_pos]


def _task_exception(message, task_failed):
    """The exception a failed compute raises in the script: the failed task's own
    builtin exception type when it has one, else TaskError."""
    import builtins
    if task_failed:
        after = message.split(": ", 1)[1] if ": " in message else ""
        type_name = after.split(":", 1)[0].split("\n", 1)[0].strip()
        exc_type = getattr(builtins, type_name, None)
        if (isinstance(exc_type, type) and issubclass(exc_type, Exception)
                and not issubclass(exc_type, (OSError, UnicodeError))):
            try:
                return exc_type(message)
            except Exception:
                pass
        return TaskError(message)
    return RuntimeError(message)


def _compute_delayed(found):
    """Values of the Delayed list `found`, by key."""
    if not found:
        return {}
    import gc
    enabled = gc.isenabled()
    gc.disable()  # the records hold no cycles; 10^5 new tuples would trigger scans
    try:
        records, out_pos = _collect(found)
    finally:
        if enabled:
            gc.enable()
    if _rask.in_task():
        results = _compute_local(records, out_pos)
    else:
        results = _rask.compute(records, out_pos)
    return {records[p][0]: v for p, v in zip(out_pos, results)}


def compute(*args, traverse=True, optimize_graph=True, scheduler=None, get=None, **kwargs):
    """Computes every Delayed in `args` (nested in lists, tuples, sets and dicts) as one
    graph on the whole MPI job, as ``dask.compute``; returns a tuple. Collective under
    rask run: rank 0 broadcasts the graph and every rank runs its share."""
    found = []
    for a in args:
        if traverse:
            _find(a, found)
        elif isinstance(a, (Delayed, _Future)) or hasattr(type(a), "__rask_delayed__"):
            _find(a, found)
    values = _compute_delayed(found)
    return tuple(_rebuild(a, values) if (traverse or isinstance(a, (Delayed, _Future)) or
                                          hasattr(type(a), "__rask_delayed__")) else a for a in args)


def persist(*args, **kwargs):
    """Computes the Delayed values and returns Delayed values holding the results (same
    keys), so later graphs start from them."""
    # Arrays and frames persist where their chunks live (a collective call each).
    results = compute(*[None if hasattr(type(a), "__rask_persist__") else a for a in args], **kwargs)
    out = []
    for a, r in zip(args, results):
        if hasattr(type(a), "__rask_persist__"):
            out.append(a.__rask_persist__())
        elif isinstance(a, Delayed):
            out.append(Delayed(a._key, _identity, (r,), None, (), False, a._length))
        else:
            out.append(r)
    return tuple(out)


def visualize(*args, filename="mydask", format=None, **kwargs):
    """Draws the graph of the Delayed values in `args`, as rask's C++ visualize does
    (coloured by the rank each task is planned on). Local: runs on rank 0 only."""
    found = []
    for a in args:
        _find(a, found)
    if filename is None:
        return None
    path = str(filename)
    if "." not in path.rsplit("/", 1)[-1]:
        path += "." + (format or "png")
    records, out_pos = _collect(found)
    _rask.visualize(records, out_pos, path)
    return None


# dask.config, kept here so delayed() can read delayed_pure.
_config = {}


class _ConfigSet:
    def __init__(self, arg=None, **kwargs):
        updates = dict(arg or {})
        updates.update(kwargs)
        self._old = {}
        for k, v in updates.items():
            k = k.replace("_", "-") if k != "delayed_pure" else k
            self._old[k] = _config.get(k, _MISSING)
            _config[k] = v

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for k, v in self._old.items():
            if v is _MISSING:
                _config.pop(k, None)
            else:
                _config[k] = v


_MISSING = object()


class _Future:
    """Marker base of dask.distributed.Future (defined in rask.futures)."""
    __slots__ = ()

    def _dep(self):
        """What a graph using this future depends on: its task while pending, its value
        once known (so a finished future is never run twice)."""
        raise NotImplementedError
