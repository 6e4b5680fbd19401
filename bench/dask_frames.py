"""The peer for bench/bench_frames.py: groupby(timestamp.dt.hour).close.mean() over CSV
files with Dask (Debian's python3-dask, threaded scheduler, Dask's default blocksize
unless --blocksize) or pandas alone, timed in-process from read_csv through the result,
--repetitions times. Prints one JSON object. Run with /usr/bin/python3."""
import argparse
import glob
import json
import time

import dask
import dask.dataframe as dd
import pandas as pd


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("engine", choices=("dask", "pandas"))
    parser.add_argument("pattern")
    parser.add_argument("--repetitions", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--blocksize", type=int, help="bytes (default: Dask's own default)")
    args = parser.parse_args()
    options = {} if args.blocksize is None else {"blocksize": args.blocksize}
    times, result = [], None
    for _ in range(args.repetitions):
        start = time.perf_counter()
        if args.engine == "dask":
            with dask.config.set(scheduler="threads", num_workers=args.workers):
                df = dd.read_csv(args.pattern, parse_dates=["timestamp"], **options)
                result = df.groupby(df.timestamp.dt.hour).close.mean().compute()
        else:
            df = pd.concat([pd.read_csv(p, parse_dates=["timestamp"]) for p in sorted(glob.glob(args.pattern))])
            result = df.groupby(df.timestamp.dt.hour).close.mean()
        times.append(time.perf_counter() - start)
    print(json.dumps({"runs": times, "groups": len(result), "checksum": float(result.sum())}))


if __name__ == "__main__":
    main()
