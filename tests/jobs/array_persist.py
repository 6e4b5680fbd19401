"""Persisting in a loop: each persisted array is freed on every rank once the script
drops it, and an array built on a dropped one keeps its chunks. tests/check_job_arrays.py
checks the printed sums and the peak memory per rank (12 x 64 MB per rank if nothing
were freed)."""
import gc

import dask.array as da

x = da.ones((4000, 4000), chunks=(500, 500))
for i in range(12):
    p = (x + i).persist()  # 128 MB; the previous one is dropped here
    print(i, int(p[:10, :10].sum().compute()))
q = p * 2
del p
gc.collect()
print("built on a dropped one:", int(q.sum().compute()))
del q
print("after:", int(x.sum().compute()))
