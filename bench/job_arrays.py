"""bench_arrays (bench/bench_arrays.cpp) as a job script: the same computations written
with dask.array under `rask run`, printing the same lines, so that bench/bench_arrays.py
can set the two side by side. Timed on rank 0 around building and computing.

  mpirun -n 2 rask run bench/job_arrays.py std N CHUNK REPS
  mpirun -n 2 rask run bench/job_arrays.py svd ROWS COLS CHUNK REPS
  mpirun -n 2 rask run bench/job_arrays.py persist N CHUNK REPS
  mpirun -n 2 rask run bench/job_arrays.py sum N CHUNK REPS"""
import sys
import time

import dask.array as da

mode = sys.argv[1]
args = [int(a) for a in sys.argv[2:]]
if mode == "std":
    n, chunk, reps = args
    for _ in range(reps):
        t0 = time.perf_counter()
        x = da.random.RandomState(1).random_sample((n, n), chunks=(chunk, chunk))
        (x.dot(x.T + 1) - x.mean()).std().compute()
        print(f"std seconds {time.perf_counter() - t0:.4f}", flush=True)
elif mode == "svd":
    rows, cols, chunk, reps = args
    for _ in range(reps):
        t0 = time.perf_counter()
        x = da.random.RandomState(7).random_sample((rows, cols), chunks=(chunk, cols))
        u, s, v = da.linalg.svd(x)
        s0 = s.compute()[0]
        print(f"svd seconds {time.perf_counter() - t0:.4f} s0 {s0:.6f}", flush=True)
elif mode == "sum":
    n, chunk, reps = args
    for _ in range(reps):
        t0 = time.perf_counter()
        x = da.random.RandomState(5).random_sample((n, n), chunks=(chunk, chunk))
        (x + 1).sum().compute()
        print(f"sum seconds {time.perf_counter() - t0:.4f}", flush=True)
elif mode == "persist":
    n, chunk, reps = args
    x = da.random.RandomState(3).random_sample((n, n), chunks=(chunk, chunk)).persist()
    for _ in range(reps):
        t0 = time.perf_counter()
        (x + x.T).sum(axis=0).compute()
        t = time.perf_counter() - t0
        print(f"persist seconds {t:.4f} gbps {8.0 * n * n / t / 1e9:.2f}", flush=True)
else:
    sys.exit("usage: job_arrays.py std|svd|persist|sum ...")
