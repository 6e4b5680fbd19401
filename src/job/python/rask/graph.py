"""A compute's records: what a graph of Delayed values becomes before it crosses ranks.

A record is (key, func, args, kwargs, deps, nested): its args are a template in which
``_In(i)`` stands for the value of the i-th dependency (``deps`` are positions of earlier
records). The rask program builds one rask::Graph from a list of records on every rank
(src/job/graph.cpp) and calls ``_run`` for templates that nest their inputs.
"""
import itertools
import operator
import uuid

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


def _expression(*args):
    """The func of an expression record: never called. Every rank lowers the record's
    (kind, payload) into the compute's graph itself (src/job/expression.hpp)."""
    raise RuntimeError("an array or dataframe cannot be computed inside a task; "
                       "compute it in the script, or pass it to the delayed call")


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
