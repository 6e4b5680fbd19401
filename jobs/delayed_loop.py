"""Workshop exercise 2.3: parallelize a for loop, then the same with control flow.

    data = [1, 2, ..., 8]
    inc(1) inc(2) ... inc(8)          double(x) if iseven(x) else inc(x)
       \\     |      /                      \\       |       /
           sum  -> 44                          sum  -> 60

iseven() runs eagerly while the graph is built: only inc/double/sum are tasks.
Run: mpirun -n 2 rask run jobs/delayed_loop.py [sleep scale]
"""
import sys
import time

from dask import delayed

scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0


def inc(x):
    time.sleep(1 * scale)
    return x + 1


def double(x):
    time.sleep(1 * scale)
    return 2 * x


def iseven(x):
    return x % 2 == 0


data = [1, 2, 3, 4, 5, 6, 7, 8]

results = []
for x in data:
    y = delayed(inc)(x)
    results.append(y)
total = delayed(sum)(results)
print("loop total =", total.compute())

results = []
for x in data:
    if iseven(x):
        y = delayed(double)(x)
    else:
        y = delayed(inc)(x)
    results.append(y)
total = delayed(sum)(results)
print("control-flow total =", total.compute())
