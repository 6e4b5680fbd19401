"""rask's random arrays, written for tests/check_job_arrays.py to test their statistics.
(Not a conformance script: rask's generator is not NumPy's, by design.)
Run: rask run tests/jobs/array_random.py OUT.h5"""
import sys

import dask.array as da

out = sys.argv[1]
shape, chunks = (400, 500), (100, 125)
rs = da.random.RandomState(5)
arrays = {
    "/random": da.random.RandomState(11).random_sample(shape, chunks=chunks),
    "/uniform": da.random.RandomState(12).uniform(-1, 4, size=shape, chunks=chunks),
    "/normal": da.random.RandomState(13).normal(2, 3, size=shape, chunks=chunks),
    "/randint": da.random.RandomState(14).randint(0, 7, size=shape, chunks=chunks),
    "/vector": da.random.RandomState(15).random_sample(100000, chunks=7000),
    # Same seed, other chunks: the same numbers. Same state, next call: other numbers.
    "/same_seed_one_chunk": da.random.RandomState(11).random_sample(shape, chunks=shape),
    "/next_call_a": rs.random_sample(shape, chunks=chunks),
    "/next_call_b": rs.random_sample(shape, chunks=chunks),
}
da.to_hdf5(out, arrays)
