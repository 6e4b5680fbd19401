"""The dataframe peer: groupby(timestamp.dt.hour).close.mean() over CSV files with Dask
(Debian's python3-dask, default threaded scheduler) or pandas alone, timed end to end
(read_csv through the result). Prints one JSON object. Run with /usr/bin/python3."""
import argparse
import glob
import json
import statistics
import time

import pandas as pd


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("engine", choices=("dask", "pandas"))
    parser.add_argument("pattern")
    parser.add_argument("--repetitions", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    times, result = [], None
    for _ in range(args.repetitions):
        start = time.perf_counter()
        if args.engine == "dask":
            import dask
            import dask.dataframe as dd
            with dask.config.set(scheduler="threads", num_workers=args.workers):
                df = dd.read_csv(args.pattern, parse_dates=["timestamp"])
                result = df.groupby(df.timestamp.dt.hour).close.mean().compute()
        else:
            df = pd.concat([pd.read_csv(p, parse_dates=["timestamp"]) for p in sorted(glob.glob(args.pattern))])
            result = df.groupby(df.timestamp.dt.hour).close.mean()
        times.append(time.perf_counter() - start)
    print(json.dumps({"seconds": statistics.median(times), "runs": times, "groups": len(result),
                      "checksum": float(result.sum())}))


if __name__ == "__main__":
    main()
