"""dask.array.linalg beyond the workshop: svd_compressed (with Dask's oversampling),
tsqr(compute_svd=True), qr, checked against NumPy inside the script; run under Dask and
under rask by tests/check_job_arrays.py, which compares the output and the HDF5 file.
Run: rask run tests/jobs/array_linalg.py OUT.h5"""
import sys

import numpy as np

import dask.array as da

rng = np.random.default_rng(0)
a = rng.random((300, 20)) @ np.diag(np.arange(20, 0, -1.0)) @ rng.random((20, 40))
x = da.from_array(a, chunks=(100, 40))
u, s, v = da.linalg.svd_compressed(x, 5, n_power_iter=2, seed=3)
want = np.linalg.svd(a, compute_uv=False)
print("svd_compressed:", u.shape, s.shape, v.shape, np.allclose(s.compute(), want[:5], rtol=1e-6))
print("its u orthonormal:", np.allclose((u.T @ u).compute(), np.eye(5)))
u2, s2, v2 = da.linalg.tsqr(x, compute_svd=True)
print("tsqr svd:", np.allclose(s2.compute(), want))
q, r = da.linalg.qr(x)
print("qr:", np.allclose((q @ r).compute(), a), np.allclose((q.T @ q).compute(), np.eye(40)))
da.to_hdf5(sys.argv[1], {"/s": s2, "/qr": q @ r, "/usv": (u2 * s2) @ v2})
