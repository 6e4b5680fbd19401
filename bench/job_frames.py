"""The frames benchmark as a job script: groupby(timestamp.dt.hour).close.mean() over
CSV files with dask.dataframe, computed `repetitions` times; prints each compute's time
(in the script, around .compute(): the same span bench_frame times in C++, which also
builds its expression once before its loop).

    mpirun -n 2 rask run bench/job_frames.py PATTERN REPETITIONS BLOCKSIZE
"""
import sys
import time

import dask.dataframe as dd

pattern, repetitions, blocksize = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
# Built once, as bench_frame builds its expression once (Dask's read_csv reads the first
# rows for the columns and dtypes here; rask's reads every file's header, once).
df = dd.read_csv(pattern, parse_dates=["timestamp"], blocksize=blocksize)
hourly = df.groupby(df.timestamp.dt.hour).close.mean()
for run in range(repetitions):
    start = time.perf_counter()
    result = hourly.compute()
    seconds = time.perf_counter() - start
    print(f"run {run} seconds {seconds:.6f} groups {len(result)} checksum {float(result.sum()):.12f}", flush=True)
