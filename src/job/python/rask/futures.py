"""dask.distributed's Client, LocalCluster and Future, describing the MPI job instead of
starting processes. Submitted work is batched: the first result(), gather() or
as_completed() runs everything submitted so far as one graph, so a loop of submits is
planned as a whole."""
import _rask

from . import Delayed, _call, _find, _Future, _identity, _rebuild, compute, delayed, funcname, unsupported
from .errors import say_once as _say_once

_pending = []  # futures submitted but not yet computed


def _flush():
    """Runs every pending future as one graph; stores results and errors in them."""
    if not _pending:
        return
    batch = [f for f in _pending if f._state == "pending"]
    _pending.clear()
    if not batch:
        return
    try:
        values = compute([f._delayed for f in batch])[0]
    except Exception as e:
        for f in batch:
            f._state, f._error = "error", e
        return
    for f, v in zip(batch, values):
        f._state, f._value = "finished", v


class Future(_Future):
    """The result of client.submit: a task of the job's next batch."""
    __slots__ = ("_delayed", "_state", "_value", "_error", "client")

    def __init__(self, d, client):
        self._delayed = d
        self._state = "pending"
        self._value = None
        self._error = None
        self.client = client
        _pending.append(self)

    @property
    def key(self):
        return self._delayed._key

    def _dep(self):
        if self._state == "finished":
            return Delayed(self._delayed._key, _identity, (self._value,), None, (), False)
        return self._delayed

    @property
    def status(self):
        return self._state

    def done(self):
        return self._state != "pending"

    def result(self, timeout=None):
        """Runs the pending batch if needed (collective) and returns this value, or
        raises the task's error."""
        if self._state == "pending":
            _flush()
        if self._state == "error":
            raise self._error
        return self._value

    def exception(self, timeout=None):
        if self._state == "pending":
            _flush()
        return self._error

    def cancel(self):
        if self._state == "pending":
            self._state = "cancelled"

    def cancelled(self):
        return self._state == "cancelled"

    def add_done_callback(self, fn):
        self.result() if self._state == "pending" else None
        fn(self)

    def __repr__(self):
        # Dask's: the value's type once known
        if self._state == "finished":
            t = type(self._value)
            name = t.__name__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__name__}"
            return f"<Future: finished, type: {name}, key: {self.key}>"
        return f"<Future: {self._state}, key: {self.key}>"


class LocalCluster:
    """Accepted for compatibility: the cluster is the MPI job (ranks x threads)."""

    def __init__(self, *args, **kwargs):
        self.workers = _rask.ranks()
        self.threads_per_worker = _rask.threads()

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"LocalCluster(rask: {self.workers} ranks x {self.threads_per_worker} threads)"


class Client:
    """dask.distributed.Client backed by the MPI job: no scheduler and no worker
    processes are started; submit/map/gather/compute run as tasks on every rank."""

    def __init__(self, address=None, *args, **kwargs):
        self.cluster = address if isinstance(address, LocalCluster) else None
        self.status = "running"
        self.dashboard_link = None

    def submit(self, func, *args, key=None, pure=True, **kwargs):
        for name in ("workers", "resources", "retries", "priority", "allow_other_workers",
                     "fifo_timeout", "actor", "actors"):
            kwargs.pop(name, None)
        d = _call(func, funcname(func), pure, None, key, args, kwargs)
        return Future(d, self)

    def map(self, func, *iterables, key=None, pure=True, **kwargs):
        return [self.submit(func, *args, pure=pure, **kwargs) for args in zip(*iterables)]

    def gather(self, futures, errors="raise", direct=None, asynchronous=None):
        _flush()
        if isinstance(futures, Future):
            return futures.result()
        found = []
        _find(futures, found)
        values = {}
        for f in _walk(futures):
            if f._state == "error" and errors == "raise":
                raise f._error
            values[f.key] = f._value if f._state == "finished" else None
        return _rebuild(futures, values)

    def compute(self, collections, sync=False, **kwargs):
        single = isinstance(collections, Delayed)
        items = [collections] if single else list(collections)
        futures = [Future(d, self) for d in items]
        if sync:
            return self.gather(futures[0] if single else futures)
        return futures[0] if single else futures

    def persist(self, collections, **kwargs):
        from . import persist
        if isinstance(collections, Delayed):
            return persist(collections)[0]
        return list(persist(*collections))

    def scatter(self, data, **kwargs):
        if isinstance(data, list):
            return [self.scatter(d) for d in data]
        f = Future(delayed(data), self)
        f._state, f._value = "finished", data
        _pending.remove(f)
        return f

    def nthreads(self):
        return {f"rank-{r}": _rask.threads() for r in range(_rask.ranks())}

    ncores = nthreads

    def scheduler_info(self):
        return {"workers": {f"rank-{r}": {"nthreads": _rask.threads()} for r in range(_rask.ranks())}}

    def wait_for_workers(self, n_workers=0, timeout=None):
        pass

    def run(self, func, *args, **kwargs):
        raise unsupported("dask.distributed.Client.run")

    def close(self, timeout=None):
        self.status = "closed"

    shutdown = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def restart(self, timeout=None, wait_for_workers=True):
        """Dask restarts the workers, forgetting every result; the ranks here stay, and
        what restarts is the job's batch of submitted futures (said once)."""
        _say_once("Client.restart", "Client.restart() keeps the MPI job's ranks; submitted futures not yet "
                  "computed are cancelled")
        for f in _pending:
            f._state = "cancelled"
        _pending.clear()
        return self

    def __repr__(self):
        # Dask's form: <Client: 'tcp://...' processes=4 threads=8, memory=15.52 GiB>
        ranks, threads = _rask.ranks(), _rask.threads()
        return f"<Client: 'mpi://rank-0' processes={ranks} threads={ranks * threads}, memory={_memory_text()}>"

    def _repr_html_(self):
        ranks, threads = _rask.ranks(), _rask.threads()
        return ("<div><h3 style=\"margin-bottom: 0px;\">Client</h3>"
                "<p style=\"color: #9D9D9D; margin-bottom: 0px;\">rask: the MPI job is the cluster</p>"
                "<table style=\"width: 100%; text-align: left;\">"
                "<tr><td style=\"text-align: left;\"><strong>Connection method:</strong> MPI job (rask run)</td>"
                "<td style=\"text-align: left;\"><strong>Dashboard:</strong> none (rask run --progress, --trace)"
                "</td></tr>"
                f"<tr><td style=\"text-align: left;\"><strong>Workers (ranks):</strong> {ranks}</td>"
                f"<td style=\"text-align: left;\"><strong>Total threads:</strong> {ranks * threads}</td>"
                f"<td style=\"text-align: left;\"><strong>Total memory:</strong> {_memory_text()}</td></tr>"
                "</table></div>")

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        raise unsupported(f"dask.distributed.Client.{name}")


def _memory_text():
    """The node's memory as Dask's format_bytes writes it (a LocalCluster's default total)."""
    import os
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return "unknown"
    for prefix, k in (("Pi", 2 ** 50), ("Ti", 2 ** 40), ("Gi", 2 ** 30), ("Mi", 2 ** 20), ("ki", 2 ** 10)):
        if total >= k * 0.9:
            return f"{total / k:.2f} {prefix}B"
    return f"{total} B"


def _walk(obj):
    if isinstance(obj, Future):
        yield obj
    elif type(obj) in (list, tuple, set):
        for o in obj:
            yield from _walk(o)
    elif type(obj) is dict:
        for o in obj.values():
            yield from _walk(o)


def as_completed(futures=None, with_results=False, raise_errors=True):
    """Runs the pending batch and yields the futures (all complete together)."""
    futures = list(futures or [])
    _flush()
    for f in futures:
        if with_results:
            if f._state == "error" and raise_errors:
                raise f._error
            yield f, f._value
        else:
            yield f


def wait(fs, timeout=None, return_when="ALL_COMPLETED"):
    _flush()
    return fs


def progress(*futures, **kwargs):
    _flush()


def get_client():
    return Client()


def default_client():
    return Client()
