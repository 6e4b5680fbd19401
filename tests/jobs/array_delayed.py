"""Arrays and delayed values together: from_delayed, to_delayed, dask.compute over both,
persist and to_hdf5 of arrays built on delayed values. Run under Dask and under rask by
tests/check_job_arrays.py, which compares the output and the HDF5 file.
Run: rask run tests/jobs/array_delayed.py OUT.h5"""
import sys

import numpy as np

import dask
import dask.array as da


@dask.delayed
def load(i):
    return np.arange(12.0).reshape(3, 4) * (i + 1) - i


parts = [da.from_delayed(load(i), shape=(3, 4), dtype=float) for i in range(3)]
print(repr(parts[0]))
combined = (parts[0] + parts[1] * parts[2]).sum(axis=0)
print("combined:", combined.compute())
a = parts[0].rechunk((1, 2))
print("gram row 0:", a.T.dot(a).compute()[0])
total = dask.delayed(sum)([p.sum() for p in parts])
mean_of_blocks = dask.delayed(np.mean)([dask.delayed(np.mean)(b) for b in a.to_delayed().ravel()])
print("compute over arrays and delayed:", dask.compute(total, mean_of_blocks, parts[2].max()))
p = (parts[1] - 1).persist()
print("persisted:", p.sum().compute(), repr(p))
da.to_hdf5(sys.argv[1], {"/combined": combined, "/persisted": p, "/part2": parts[2] ** 2})
