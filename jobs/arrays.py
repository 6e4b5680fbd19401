"""The workshop's array cells as one job script, unchanged Dask code: runs under Dask
(`python3 jobs/arrays.py IN.h5 OUT.h5`) and under rask (`mpirun -n 2 rask run
jobs/arrays.py IN.h5 OUT.h5`), writing the same datasets to OUT.h5.

IN.h5 holds /x (integers, the workshop's randint(1, 10) matrix) and /r (floats); reading
them, not drawing them, makes Dask and rask see the same numbers. Make one with NumPy:

    with h5py.File("in.h5", "w") as f:
        f["x"] = rng.integers(1, 10, size=(15, 15)); f["r"] = rng.random((15, 15))

Optional third argument: the chunk size (5, as in the workshop).
"""
import sys

import h5py
import numpy as np

import dask
import dask.array as da

source, out = sys.argv[1], sys.argv[2]
chunk = int(sys.argv[3]) if len(sys.argv) > 3 else 5

f = h5py.File(source, "r")
x = da.from_array(f["x"], chunks=(chunk, chunk))
r = da.from_array(f["r"], chunks=(chunk, chunk))
n = x.shape[0]

# The notebook's cells.
ones = da.ones((n, n), chunks=(chunk, chunk))
y = x + x.T
print(y)  # the notebook's bare `y` cell
product = x.dot(x.T + 1)
centered = product - x.mean()
results = {
    "/ones_sum": ones.sum(),
    "/ones_sum_axis0": ones.sum(axis=0),
    "/x_plus_xT": y,
    "/dot": product,
    "/dot_minus_mean": centered,
    "/std": centered.std(),
}

# Beyond the notebook: what a script around it reaches for.
results.update({
    "/r_mean_axis1_keepdims": r.mean(axis=1, keepdims=True),
    "/r_var_ddof1": r.var(ddof=1),
    "/r_min_axis0": r.min(axis=0),
    "/r_argmax": r.argmax(),
    "/r_argmin_axis1": r.argmin(axis=1),
    "/r_prod_axis0": (r + 0.5).prod(axis=0),
    "/ufuncs": np.exp(r) + np.sqrt(r) - np.log(r + 1) + abs(r - 0.5),
    "/matmul_numpy": (r @ r.T) * np.arange(n) - np.ones(n),
    "/compare": (r > 0.5) != (x < 5),
    "/power_div": (x ** 2) / (r + 1) - 2 ** r,
    "/sliced": r[1:n - 1:2, ::3].T.rechunk((3, 2)).sum(axis=0),
    "/neg_max": (-x).max(axis=1),
})

# The chunks as delayed values, summed by delayed calls.
blocks = x.to_delayed()
block_sums = dask.compute(*[dask.delayed(np.sum)(b) for b in blocks.ravel()])
print("blocks:", blocks.shape, "sum of their sums equals x.sum():", int(sum(block_sums)) == int(x.sum().compute()))

for name, a in results.items():
    print(f"{name}: {a!r}")

total, spread = dask.compute(results["/ones_sum"], results["/std"])
print("ones sum:", total, type(total).__name__)
print("std is finite:", bool(np.isfinite(spread)), type(spread).__name__)
# dask.array re-exports dask.compute.
(kept,) = dask.persist(x + 1)
low, high = da.compute(kept.min(), kept.max())
print("min, max of x + 1:", low, high, type(low).__name__)
da.to_hdf5(out, results)
print("wrote", len(results), "datasets")
