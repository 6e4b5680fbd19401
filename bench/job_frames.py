"""The frames benchmark as a job script, as a newcomer writes it:
dd.read_csv(PATTERN, parse_dates=['timestamp']) with Dask's default blocksize, then
groupby(timestamp.dt.hour).close.mean().compute(), REPETITIONS times (default once);
prints each compute's time (around .compute(): the span bench/bench_frame.cpp times).

    mpirun -n 2 rask run bench/job_frames.py PATTERN [REPETITIONS [BLOCKSIZE|none]]
"""
import sys
import time

import dask.dataframe as dd

pattern = sys.argv[1]
repetitions = int(sys.argv[2]) if len(sys.argv) > 2 else 1
options = {}
if len(sys.argv) > 3:
    options["blocksize"] = None if sys.argv[3] == "none" else int(sys.argv[3])
df = dd.read_csv(pattern, parse_dates=["timestamp"], **options)
hourly = df.groupby(df.timestamp.dt.hour).close.mean()
for run in range(repetitions):
    start = time.perf_counter()
    result = hourly.compute()
    seconds = time.perf_counter() - start
    print(f"run {run} seconds {seconds:.6f} groups {len(result)} checksum {float(result.sum()):.12f}", flush=True)
