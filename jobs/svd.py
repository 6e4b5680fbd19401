"""The workshop's SVD cells as one job script, unchanged Dask code: the singular values
of a tall-skinny random matrix x and of the square x.dot(x.T), and the factors of x.
Runs under Dask (`python3 jobs/svd.py IN.h5 OUT.h5`) and under rask (`mpirun -n 2 rask
run jobs/svd.py IN.h5 OUT.h5`), writing the same datasets to OUT.h5.

IN.h5 holds /x (floats, rows >= columns), read rather than drawn so that Dask and rask
factor the same numbers. Optional third argument: the rows per chunk (100).
"""
import sys

import h5py

import dask.array as da

source, out = sys.argv[1], sys.argv[2]
chunk_rows = int(sys.argv[3]) if len(sys.argv) > 3 else 100

f = h5py.File(source, "r")
rows, cols = f["x"].shape
x = da.from_array(f["x"], chunks=(chunk_rows, cols))

u, s, v = da.linalg.svd(x)
print("svd(x):", u.shape, s.shape, v.shape)
# x.dot(x.T) is square: Dask needs it in one column of chunks; so does rask's TSQR.
square = x.dot(x.T).rechunk((chunk_rows, rows))
s2 = da.linalg.svd(square)[1]
print("svd(x.dot(x.T)):", s2.shape, s2.dtype)
q, r = da.linalg.qr(x)
print("qr(x):", q.shape, r.shape)
# Singular vectors are defined up to sign: write sign-free products (u * s).dot(v) = x
# and v.T v = I, and |v| alongside.
da.to_hdf5(out, {"/s": s, "/s_square": s2, "/usv": (u * s).dot(v), "/vtv": v.T.dot(v), "/qr": q.dot(r),
                 "/abs_v": abs(v), "/r_abs_diag_sum": abs(r).sum(axis=1)})
print("wrote 7 datasets")
