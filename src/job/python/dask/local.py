"""dask.local under `rask run`: the scheduler is the MPI job (said once)."""
from rask.base import get as _get


def get_sync(dsk, keys, **kwargs):
    """dask.local.get_sync: the graph dict computed on the MPI job."""
    from rask.base import scheduler_note
    scheduler_note(get_sync)
    return _get(dsk, keys)


get_sync._rask_scheduler = "sync"
get = get_sync
