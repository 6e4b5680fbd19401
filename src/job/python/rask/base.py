"""compute, persist and visualize, as dask.base: collections in, one graph on the whole
MPI job, values out."""
import _rask

from .delayed import Delayed, _Future, _identity
from .graph import _collect, _compute_local


def collective(name, payload=b""):
    """Runs the C++ collective call `name` on every rank at once; rank 0's result as
    bytes (None under --dry-run, where nothing runs)."""
    return _rask.collective(name, bytes(payload))


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
