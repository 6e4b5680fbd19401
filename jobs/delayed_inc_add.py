"""Workshop exercise 2.2: two independent incs feeding one add.

    inc(1)   inc(2)
       \\      /
        add      -> 5

Run: mpirun -n 2 rask run jobs/delayed_inc_add.py [sleep scale]
"""
import sys
import time

import dask
from dask import delayed

scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0


def inc(x):
    time.sleep(1 * scale)
    return x + 1


def add(x, y):
    time.sleep(1 * scale)
    return x + y


x = delayed(inc)(1)
y = delayed(inc)(2)
z = delayed(add)(x, y)
print("z =", z.compute())

# The same graph, decorated, computed with dask.compute and a scheduler setting.
inc_d = delayed(inc)
add_d = delayed(add)
with dask.config.set(scheduler="threads"):
    a, b = dask.compute(inc_d(10), add_d(inc_d(1), inc_d(2)))
print("a, b =", a, b)
