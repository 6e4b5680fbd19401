"""The workshop's exercises 2.1 and 2.2 as a newcomer writes them with Dask: plain
`delayed` calls (impure, no hints). The same file runs under Dask and under `rask run`;
prints one JSON line: the compute's seconds and the ideal on 2 workers.

    python3 bench/job_exercises.py cartesian [SCALE]            Dask, threaded scheduler
    mpirun -n 2 rask run bench/job_exercises.py inc_add [SCALE]  rask

cartesian: f(a, b) (20 ms) and g(a, b) (30 ms) for each of 50 x 25 pairs, then one
collect(cells); inc_add: inc(1), inc(2) (1 s each), then add (1 s). SCALE multiplies
every sleep (bench/bench_exercises.cpp is the same in C++)."""
import json
import sys
import time
from itertools import product

import dask
from dask import delayed

mode = sys.argv[1]
scale = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
WORKERS = 2


def f(a, b):
    time.sleep(0.020 * scale)
    return a - b


def g(a, b):
    time.sleep(0.030 * scale)
    return a * b


def collect(cells):
    return sum(cells)


def inc(x):
    time.sleep(1.0 * scale)
    return x + 1


def add(x, y):
    time.sleep(1.0 * scale)
    return x + y


if mode == "cartesian":
    A = [1 + i * 7 % 9 for i in range(50)]
    B = [4 + i * 5 % 9 for i in range(25)]
    start = time.perf_counter()
    cells = []
    for a, b in product(A, B):
        cells += [delayed(f)(a, b), delayed(g)(a, b)]
    total = delayed(collect)(cells).compute()
    seconds = time.perf_counter() - start
    assert total == sum((a - b) + a * b for a, b in product(A, B)), total
    ideal = len(A) * len(B) * 0.050 * scale / WORKERS
elif mode == "inc_add":
    start = time.perf_counter()
    z = delayed(add)(delayed(inc)(1), delayed(inc)(2)).compute()
    seconds = time.perf_counter() - start
    assert z == 5, z
    ideal = 2.0 * scale
else:
    sys.exit("usage: job_exercises.py cartesian|inc_add [SCALE]")
print(json.dumps({"seconds": seconds, "ideal": ideal, "dask": dask.__version__}))
