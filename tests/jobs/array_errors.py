"""Every message dask.array under rask gives for input it refuses, one line each
(`case | Type: message`), for tests/check_job_arrays.py to check. Nothing is computed
except the from_delayed value of the wrong shape."""
import numpy as np

import dask
import dask.array as da

x = da.ones((4, 4), chunks=2)
b = x > 0
cases = {
    "3-d": lambda: da.ones((2, 2, 2)),
    "dtype": lambda: da.from_array(np.array(["a", "b"])),
    "negative step": lambda: x[::-1],
    "integer index": lambda: x[1],
    "boolean index": lambda: x[b],
    "astype rounding": lambda: (x * 1.5).astype(int),
    "floordiv": lambda: x // 2,
    "chunks spec": lambda: da.ones(4, chunks=1.5),
    "chunks sum": lambda: x.rechunk(((3,), (4,))),
    "chunks dims": lambda: da.ones((4, 4), chunks=(2, 2, 2)),
    "chunk size": lambda: da.ones(4, chunks=0),
    "from_delayed dtype": lambda: da.from_delayed(dask.delayed(np.ones)(3), shape=(3,)),
    "ufunc": lambda: np.sin(x),
    "numpy function": lambda: np.cumsum(x),
    "svd_compressed iterator": lambda: da.linalg.svd_compressed(x, 2, iterator="QR"),
    "linalg of numpy": lambda: da.linalg.svd(np.ones((4, 4))),
    "bool subtract": lambda: b - b,
    "bool negative": lambda: -b,
    "arange float": lambda: da.arange(0.5, 3),
    "transpose axes": lambda: x.transpose((0, 1)),
    "to_hdf5 arguments": lambda: da.to_hdf5("out.h5", x),
    "unknown name": lambda: da.map_blocks,
    "unknown random": lambda: da.random.poisson,
    "unknown linalg": lambda: da.linalg.cholesky,
    "svd of 1-d": lambda: da.linalg.svd(da.ones(4)),
    "reduce axis": lambda: x.sum(axis=2),
    "dot shapes": lambda: x.dot(da.ones((3, 3))),
    "wrong from_delayed shape": lambda: da.from_delayed(dask.delayed(np.ones)(3), shape=(4,), dtype=float).compute(),
}
for name, make in cases.items():
    try:
        make()
        print(f"{name} | no error")
    except Exception as e:
        print(f"{name} | {type(e).__name__}: {str(e).splitlines()[0]}")
