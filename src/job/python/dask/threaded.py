"""dask.threaded under `rask run`: the scheduler is the MPI job (said once)."""
from rask.base import get as _get


def get(dsk, keys, **kwargs):
    """dask.threaded.get: the graph dict computed on the MPI job."""
    from rask.base import scheduler_note
    scheduler_note(get)
    return _get(dsk, keys)


get._rask_scheduler = "threads"
