"""compute, persist and visualize, as dask.base: collections in, one graph on the whole
MPI job, values out."""
import _rask

from .delayed import Delayed, _Future, _identity, delayed
from .errors import say_once
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


def scheduler_note(scheduler):
    """Any scheduler a script names (``scheduler='processes'``, ``dask.multiprocessing.get``,
    ``dask.local.get_sync``, ``get=``) is the MPI job under rask: accepted, said once."""
    if scheduler is None:
        return
    name = scheduler if isinstance(scheduler, str) else getattr(scheduler, "_rask_scheduler", None)
    if name is None:
        name = f"{getattr(scheduler, '__module__', '?')}.{getattr(scheduler, '__name__', type(scheduler).__name__)}"
    say_once(f"scheduler {name}", f"scheduler {name!r} is the MPI job under rask: computes run on "
             f"{_rask.ranks()} rank(s) x {_rask.threads()} thread(s)")


def compute(*args, traverse=True, optimize_graph=True, scheduler=None, get=None, **kwargs):
    """Computes every Delayed in `args` (nested in lists, tuples, sets and dicts) as one
    graph on the whole MPI job, as ``dask.compute``; returns a tuple. Collective under
    rask run: rank 0 broadcasts the graph and every rank runs its share."""
    scheduler_note(scheduler if scheduler is not None else get)
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


def visualize_path(filename, format=None):
    """Where Dask's visualize writes and in which format: a known extension of
    `filename` names the format when `format` is not given, else `format` (png by default)
    is appended, as dask.dot.graphviz_to_file does; None: a temporary file."""
    known = (".png", ".pdf", ".dot", ".svg", ".jpeg", ".jpg")
    if filename is None:
        import tempfile
        fmt = (format or "png").lower()
        handle, path = tempfile.mkstemp(suffix="." + fmt)
        import os
        os.close(handle)
        return path, fmt
    filename = str(filename)
    if format is None and filename.lower().endswith(known):
        stem, ext = filename.rsplit(".", 1)
        return filename, ext.lower()
    fmt = (format or "png").lower()
    return f"{filename}.{fmt}", fmt


def visualize_result(path, format, keep=True):
    """What Dask's visualize returns for the file it wrote: IPython.display.Image for png
    and jpeg, SVG for svg, None for dot and pdf (or without IPython). `keep=False` (no
    filename was given): the image holds the data and the file is removed."""
    import os
    try:
        import IPython.display as display
    except ImportError:
        display = None
    try:
        if display is None or format in ("dot", "pdf"):
            return None
        if format in ("png", "jpeg", "jpg"):
            fmt = "jpeg" if format == "jpg" else format
            if keep:
                return display.Image(filename=path, format=fmt)
            with open(path, "rb") as f:
                return display.Image(data=f.read(), format=fmt)
        if format == "svg":
            if keep:
                return display.SVG(filename=path)
            with open(path, "rb") as f:
                return display.SVG(data=f.read())
        return None
    finally:
        if not keep:
            os.unlink(path)


def visualize(*args, filename="mydask", format=None, **kwargs):
    """Draws the graph of the Delayed values in `args`, as rask's C++ visualize does
    (coloured by the rank each task is planned on), and returns what Dask returns (an
    IPython image for png, jpeg and svg). Local: runs on rank 0 only."""
    found = []
    for a in args:
        _find(a, found)
    path, fmt = visualize_path(filename, format)
    records, out_pos = _collect(found)
    _rask.visualize(records, out_pos, path)
    return visualize_result(path, fmt, keep=filename is not None)


def get(dsk, keys, **kwargs):
    """Dask's scheduler call on a graph dict (``dask.threaded.get``, ``dask.local.get_sync``,
    ``dask.multiprocessing.get``): its tasks ``(func, *args)``, whose arguments name other
    keys, lists of them or inner tasks, run as one compute on the MPI job; the values of
    `keys` in their structure."""
    import sys
    made = {}

    def is_key(a):
        try:
            return a in dsk
        except TypeError:  # unhashable: not a key
            return False

    def arg(a):
        if is_key(a):
            return value(a)
        if type(a) is list:
            return [arg(x) for x in a]
        if type(a) is tuple and a and callable(a[0]):
            return task(a)
        return a

    def task(spec):
        return delayed(spec[0], pure=True)(*[arg(a) for a in spec[1:]])

    def value(key):
        if key not in made:
            spec = dsk[key]
            made[key] = task(spec) if type(spec) is tuple and spec and callable(spec[0]) else arg(spec)
        return made[key]

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(dsk) + 100))  # a chain of n keys nests n calls
    try:
        wanted = arg(keys) if not is_key(keys) else value(keys)
    finally:
        sys.setrecursionlimit(limit)
    values = compute(wanted)[0]

    def nested(keys, value):  # Dask's nested_get: a list of keys gives a tuple of values
        if type(keys) is list and not is_key(keys):
            return tuple(nested(k, v) for k, v in zip(keys, value))
        return value
    return nested(keys, values)
