"""100,000 tiny Python tasks: a map of `inc`, then a tree sum with fan-in 8, written as
a newcomer writes them (no hints). The same file runs under Dask and under `rask run`;
prints one JSON line with its timings (bench/bench_tasks.py runs it).

    python3 bench/job_tiny.py 100000 threads        Dask, threaded scheduler
    python3 bench/job_tiny.py 10000 distributed     Dask, 2 local workers x 1 thread
    mpirun -n 2 rask run bench/job_tiny.py 100000   rask
"""
import json
import sys
import time

import dask
from dask import delayed


def inc(x):
    return x + 1


def total(*xs):
    return sum(xs)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    scheduler = sys.argv[2] if len(sys.argv) > 2 else "threads"
    client = None
    if scheduler == "distributed":
        from dask.distributed import Client, LocalCluster
        client = Client(LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None))
    start = time.perf_counter()
    cpu_start = time.process_time()
    layer = [delayed(inc)(i) for i in range(n)]
    tasks = n
    while len(layer) > 1:
        layer = [delayed(total)(*layer[i:i + 8]) for i in range(0, len(layer), 8)]
        tasks += len(layer)
    built = time.perf_counter()
    with dask.config.set(scheduler=scheduler if scheduler != "distributed" else None):
        result = layer[0].compute() if client is None else client.compute(layer[0]).result()
    end = time.perf_counter()
    cpu = time.process_time() - cpu_start
    assert result == n * (n + 1) // 2, result
    print(json.dumps({"tasks": tasks, "build_s": built - start, "compute_s": end - built,
                      "us_per_task": (end - start) / tasks * 1e6,
                      # CPU time of this process, all its threads: under rask, rank 0's (the
                      # one that builds, pickles and also runs its share); less sensitive
                      # than wall time to a machine shared with other work.
                      "cpu_us_per_task": cpu / tasks * 1e6}))
    if client is not None:
        client.close()


if __name__ == "__main__":
    main()
