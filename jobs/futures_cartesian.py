"""Workshop exercise 2.1 with concurrent.futures: the same cartesian product on a
ThreadPoolExecutor. Under rask it runs as ordinary Python on rank 0 (no Dask names).

Run: mpirun -n 1 rask run jobs/futures_cartesian.py [sleep scale]
"""
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import product

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
with ThreadPoolExecutor(max_workers=4) as executor:
    for a, b in product(A, B):
        results[(a, b)] = (executor.submit(f, a, b), executor.submit(g, a, b))
    results = {pair: (x.result(), y.result()) for pair, (x, y) in results.items()}

for pair in sorted(results):
    print(pair, results[pair])
