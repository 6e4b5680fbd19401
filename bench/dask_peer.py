"""The peer: the same graphs in Dask (Debian's python3-dask), timed the same way as
rask's benchmarks time themselves (building the delayed calls plus computing them).
Prints one JSON object. Run with /usr/bin/python3."""
import argparse
import itertools
import json
import statistics
import time

import dask
from dask import delayed


def inc(x):
    return x + 1


def sum_all(xs):
    return sum(xs)


def overhead_graph(n):
    level = [delayed(inc, pure=True)(i) for i in range(n)]
    tasks = len(level)
    while len(level) > 1:
        level = [delayed(sum_all, pure=True)(level[b:b + 8]) for b in range(0, len(level), 8)]
        tasks += len(level)
    return level[0], tasks


def time_overhead(n, repetitions, compute):
    times, compute_times = [], []
    for _ in range(repetitions):
        start = time.perf_counter()
        total, tasks = overhead_graph(n)
        built = time.perf_counter()
        value = compute(total)
        end = time.perf_counter()
        times.append(end - start)
        compute_times.append(end - built)
        assert value == n * (n + 1) // 2, value
    return {"tasks": tasks, "seconds": statistics.median(times), "compute_seconds": statistics.median(compute_times),
            "runs": times}


def splitmix_ints(count, lo, hi, seed):
    mask = (1 << 64) - 1
    out = []
    for i in range(count):
        z = (seed + 0x9E3779B97F4A7C15 * (i + 1)) & mask
        z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & mask
        z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & mask
        z ^= z >> 31
        out.append(lo + z % (hi - lo + 1))
    return out


def f(a, b):
    time.sleep(0.020)
    return a - b


def g(a, b):
    time.sleep(0.030)
    return a * b


def time_cartesian(workers):
    A, B = splitmix_ints(50, 1, 9, 42), splitmix_ints(25, 4, 12, 4242)
    start = time.perf_counter()
    results = {}
    for a, b in itertools.product(A, B):
        results[(a, b)] = (delayed(f, pure=True)(a, b), delayed(g, pure=True)(a, b))
    dask.compute(results, scheduler="threads", num_workers=workers)
    return {"pairs": len(results), "seconds": time.perf_counter() - start,
            "ideal": len(results) * 0.050 / workers}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["threads", "distributed", "cartesian"])
    parser.add_argument("--n", type=int, default=100000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repetitions", type=int, default=3)
    args = parser.parse_args()
    if args.what == "threads":
        result = time_overhead(args.n, args.repetitions,
                               lambda d: d.compute(scheduler="threads", num_workers=args.workers))
    elif args.what == "distributed":
        from dask.distributed import Client, LocalCluster
        with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            client.submit(inc, 1).result()  # workers up before the clock starts
            result = time_overhead(args.n, args.repetitions, lambda d: client.compute(d).result())
    else:
        result = time_cartesian(args.workers)
    result["dask"] = dask.__version__
    print(json.dumps(result))


if __name__ == "__main__":
    main()
