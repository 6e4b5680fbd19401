"""Independent calls the script only wants back, made function by function: 30 calls of
f, then 30 of g, computed as two lists. Their costs are unknown on a first run; each
function's calls must still spread evenly over the ranks.

Run: mpirun -n 2 rask run --trace t.json tests/jobs/spread_calls.py
"""
import time

from dask import compute, delayed


def f(i):
    time.sleep(0.002)
    return i


def g(i):
    time.sleep(0.003)
    return -i


fs = [delayed(f)(i) for i in range(30)]
gs = [delayed(g)(i) for i in range(30)]
a, b = compute(fs, gs)
print(sum(a), sum(b))
