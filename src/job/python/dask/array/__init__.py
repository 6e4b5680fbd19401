"""dask.array is not yet provided under `rask run`."""
import rask as _rask_py

raise _rask_py.unsupported("dask.array")
