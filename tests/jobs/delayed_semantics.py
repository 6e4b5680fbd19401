"""Dask's delayed semantics, printed: runs under Dask (python3) and under rask run, and
the two outputs must be equal. Usage: delayed_semantics.py WORKDIR"""
import operator
import os
import sys

import numpy as np

import dask
import dask.delayed
from dask import compute, delayed, persist

workdir = sys.argv[1]
calls_log = os.path.join(workdir, "calls.log")


def logged(name, value):
    # One line per call, appended by whichever process runs the task.
    with open(calls_log, "a") as log:
        log.write(name + "\n")
    return value


def inc(x):
    return x + 1


def add(x, y):
    return x + y


@delayed
def double(x):
    return 2 * x


@delayed(pure=True)
def pure_square(x):
    return x * x


class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y

    def norm2(self):
        return self.x * self.x + self.y * self.y


# Calls, decorators, arithmetic, indexing, attributes and methods on Delayed values.
x = delayed(np.arange)(10)
print("numpy chain:", int((x + 1)[::2].sum().compute()))
print("operators:", compute(delayed(inc)(1) * 3 - 1, -delayed(inc)(4), 2 ** delayed(inc)(2), delayed(7) // 2))
p = delayed(Point)(3, 4)
print("attribute and method:", compute(p.x, p.norm2()))
print("getitem:", delayed({"a": 1, "b": 2})["b"].compute(), delayed([1, 2, 3])[1:].compute())
print("decorated:", double(21).compute(), dask.delayed(inc)(41).compute())
print("comparison:", compute(delayed(inc)(1) < 3, delayed(inc)(2) == 3))

# Keys: impure by default (equal calls differ), pure shares, dask_key_name names.
print("impure keys differ:", delayed(inc)(1).key != delayed(inc)(1).key)
print("pure keys equal:", pure_square(3).key == pure_square(3).key, delayed(inc, pure=True)(1).key == delayed(inc, pure=True)(1).key)
named = delayed(add)(1, 2, dask_key_name="my-sum")
print("named key:", named.key, named.compute())

# nout: a Delayed that unpacks.
a, b = delayed(divmod, nout=2)(17, 5)
print("nout:", a.compute(), b.compute(), compute(*delayed(lambda: (1, 2, 3), nout=3)()))

# compute over nested lists, tuples and dicts, with plain values passed through.
nested = {"list": [delayed(inc)(i) for i in range(3)], "tuple": (delayed(inc)(10), "plain"), ("k", 1): delayed(inc)(5)}
print("nested:", compute(nested, 42, [delayed(inc)(0)]))
print("delayed collection:", delayed([delayed(inc)(1), {"x": delayed(inc)(2)}]).compute())
print("kwargs:", delayed(sorted)([3, 1, 2], reverse=delayed(lambda: True)()).compute())

# A shared intermediate runs once, wherever its consumers run.
open(calls_log, "w").close()
shared = delayed(logged)("shared", 5)
users = [delayed(add)(shared, i) for i in range(6)]
print("shared users:", compute(users)[0])
with open(calls_log) as log:
    print("shared ran:", log.read().split().count("shared"), "time(s)")

# persist gives a Delayed holding the value; later graphs start from it.
open(calls_log, "w").close()
base = delayed(logged)("base", 100)
(kept,) = persist(base)
print("persisted:", compute(kept + 1, kept + 2))
with open(calls_log) as log:
    print("base ran:", log.read().split().count("base"), "time(s)")

# A compute inside a task runs there (as Dask's own would).
def inner(n):
    return delayed(sum)([delayed(inc)(i) for i in range(n)]).compute()


print("compute inside a task:", delayed(inner)(4).compute())

# Settings are accepted.
with dask.config.set(scheduler="threads"):
    print("with config:", delayed(inc)(1).compute(scheduler="threads"))
dask.config.set({"optimization.fuse.active": False})

# The script's exception handling sees the task's own exception type.
def fails(v):
    raise KeyError(v)


try:
    delayed(fails)("missing").compute()
except KeyError:
    print("KeyError caught")

# Truth and iteration of a Delayed are errors, as in Dask.
for action in (lambda: bool(delayed(inc)(1)), lambda: list(delayed(inc)(1))):
    try:
        action()
    except TypeError as e:
        print("TypeError:", e)

# Script threads may compute at the same time (the ranks take them in turn).
from concurrent.futures import ThreadPoolExecutor

with ThreadPoolExecutor(max_workers=3) as pool:
    print("computes from threads:", list(pool.map(lambda i: delayed(inc)(i).compute(), range(6))))
