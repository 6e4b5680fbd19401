"""dask.distributed under `rask run`: Client and LocalCluster describe the MPI job."""
from rask import unsupported
from rask.futures import (Client, Future, LocalCluster, as_completed, default_client,  # noqa: F401
                          get_client, progress, wait)


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    raise unsupported(f"dask.distributed.{name}")
