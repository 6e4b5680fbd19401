"""Workshop exercise 2.1: a cartesian product of two random lists, one delayed call per
pair, results gathered in a dict keyed by (a, b).

    f(a, b) sleeps 20 ms -> a - b      g(a, b) sleeps 30 ms -> a * b
    results[(a, b)] = (f(a, b), g(a, b))   for a, b in product(A, B)
    compute(results)

Run: mpirun -n 2 rask run jobs/delayed_cartesian.py [sleep scale, default 1]
 or: python3 jobs/delayed_cartesian.py        (the same file under Dask)
"""
import random
import sys
import time
from itertools import product

from dask import compute, delayed

scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0


def f(a, b):
    time.sleep(0.020 * scale)
    return a - b


def g(a, b):
    time.sleep(0.030 * scale)
    return a * b


random.seed(42)
A = [random.randint(1, 9) for _ in range(50)]
B = [random.randint(4, 12) for _ in range(25)]

results = {}
for a, b in product(A, B):
    results[(a, b)] = (delayed(f)(a, b), delayed(g)(a, b))

start = time.time()
results = compute(results)[0]
elapsed = time.time() - start

for pair in sorted(results):
    print(pair, results[pair])
ideal = len(results) * 0.050 * scale
print(f"{len(results)} pairs in {elapsed:.3f} s (serial {ideal:.3f} s)", file=sys.stderr)
