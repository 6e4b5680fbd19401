"""The "Dask task graphs" workshop notebook, every cell, as one batch job.

    mpirun -n 2 rask run jobs/workshop.py          # rask: one MPI job
    python3 jobs/workshop.py                       # the same file under Dask

Cells, in the notebook's order:
  1. delayed: 2.1 cartesian product (dict of results), 2.2 inc/inc/add, 2.3 the for
     loop and its iseven control flow, 2.4 per-file daily high-low spreads (pandas
     inside delayed functions);
  2. arrays: ones(...).sum(), .sum(axis=0), randint x, x + x.T, x.dot(x.T + 1),
     ... - x.mean(), (...).std(); random((rows, 500), chunks=(500, 500)) -> svd, s;
     svd(x.dot(x.T)) (Dask raises: svd needs one column of chunks; rask runs
     ScaLAPACK);
  3. dataframes: read_csv of a month of minute bars, mean close per hour of the day.
Every result goes to one HDF5 file (default results/workshop.h5), written under a
temporary name and renamed when complete.

Sizes are the notebook's, scaled to finish in under a minute on 2 cores under Dask:
--rows (svd input rows, notebook 1,000,000), --product (rows of the x whose x.dot(x.T)
is decomposed), --scale (the delayed exercises' sleeps, notebook 1.0).
--inputs IN.h5 reads the arrays' inputs (/x integers 15x15, /tall rows x 500, /wide
product x 500) instead of drawing them, so that Dask and rask see the same numbers
(rask's generator is its own, by design); tests/check_workshop.py uses it.
"""
import argparse
import glob
import os
import random
import sys
import time
from itertools import product

import h5py
import numpy as np
import pandas as pd

import dask
import dask.array as da
import dask.dataframe as dd
from dask import compute, delayed

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--data", default="inputs/minute", help="minute bars: DATA/aig/2010-01-*.csv")
parser.add_argument("--out", default="results/workshop.h5")
parser.add_argument("--rows", type=int, default=200_000)
parser.add_argument("--product", type=int, default=1_000)
parser.add_argument("--scale", type=float, default=0.01)
parser.add_argument("--inputs", default=None)
args = parser.parse_args()
started = time.time()
results = {}

# --- 1. delayed -------------------------------------------------------------------------


def f(a, b):
    time.sleep(0.020 * args.scale)
    return a - b


def g(a, b):
    time.sleep(0.030 * args.scale)
    return a * b


random.seed(42)
A = [random.randint(1, 9) for _ in range(50)]
B = [random.randint(4, 12) for _ in range(25)]
cartesian = {}
for a, b in product(A, B):
    cartesian[(a, b)] = (delayed(f)(a, b), delayed(g)(a, b))
cartesian = compute(cartesian)[0]
pairs = sorted(cartesian)
results["delayed/cartesian/pairs"] = np.array(pairs)
results["delayed/cartesian/values"] = np.array([cartesian[p] for p in pairs])


def inc(x):
    time.sleep(1 * args.scale)
    return x + 1


def add(x, y):
    time.sleep(1 * args.scale)
    return x + y


def double(x):
    time.sleep(1 * args.scale)
    return 2 * x


def iseven(x):
    return x % 2 == 0


x = delayed(inc)(1)
y = delayed(inc)(2)
z = delayed(add)(x, y)
results["delayed/inc_add"] = z.compute()

data = [1, 2, 3, 4, 5, 6, 7, 8]
loop = [delayed(inc)(x) for x in data]
control = [delayed(double)(x) if iseven(x) else delayed(inc)(x) for x in data]
loop_total, control_total = compute(delayed(sum)(loop), delayed(sum)(control))
results["delayed/loop_total"] = loop_total
results["delayed/control_flow_total"] = control_total


@delayed
def spread(path):
    frame = pd.read_csv(path)
    return float(frame["high"].max() - frame["low"].min())


@delayed
def day_of(path):
    return pd.read_csv(path, usecols=["timestamp"])["timestamp"].iloc[0][:10]


files = sorted(glob.glob(os.path.join(args.data, "aig", "*.csv")))
if not files:
    sys.exit(f"no CSV files in {args.data}/aig: make demo generates them (inputs/gen_minute)")
spreads, days = dask.compute([spread(p) for p in files], [day_of(p) for p in files])
results["delayed/daily_spread"] = np.array(spreads)
results["delayed/days"] = np.array(days, dtype="S10")

# --- 2. arrays --------------------------------------------------------------------------
inputs = h5py.File(args.inputs, "r") if args.inputs else None

results["arrays/ones_sum"] = da.ones((15,), chunks=(5,)).sum().compute()
results["arrays/ones_sum_axis0"] = da.ones((15, 15), chunks=(5, 5)).sum(axis=0).compute()

if inputs:
    x = da.from_array(inputs["x"], chunks=(5, 5))
else:
    x = da.random.randint(1, 10, size=(15, 15), chunks=(5, 5))
y = x + x.T
print(y)  # the notebook's bare `y` cell: what Dask knows without computing
z = x.dot(x.T + 1)
w = z - x.mean()
v = w.std()
print(v)
xs, ys, zs, ws, vs = dask.compute(x, y, z, w, v)
results.update({"arrays/x": xs, "arrays/x_plus_xT": ys, "arrays/dot": zs, "arrays/dot_minus_mean": ws,
                "arrays/std": vs})

if inputs:
    tall = da.from_array(inputs["tall"], chunks=(500, 500))
else:
    tall = da.random.random((args.rows, 500), chunks=(500, 500))
u, s, v = da.linalg.svd(tall)
results["svd/s"] = s.compute()  # the singular values, as the notebook looks at them

if inputs:
    small = da.from_array(inputs["wide"], chunks=(500, 500))
else:
    small = da.random.random((args.product, 500), chunks=(500, 500))
try:
    _, s2, _ = da.linalg.svd(small.dot(small.T))
    results["svd/product_s"] = s2.compute()
except (NotImplementedError, ValueError) as e:
    # Dask's svd needs one column of chunks (tsqr); the notebook shows it failing.
    print("svd(x.dot(x.T)):", type(e).__name__, str(e).split("\n")[0])

# --- 3. dataframes ----------------------------------------------------------------------
df = dd.read_csv(os.path.join(args.data, "aig", "2010-01-*.csv"), parse_dates=["timestamp"])
print(df)
hourly = df.groupby(df.timestamp.dt.hour).close.mean().compute()
results["frames/hourly/hour"] = hourly.index.to_numpy()
results["frames/hourly/close"] = hourly.to_numpy()
print(hourly.to_string())

# --- results ----------------------------------------------------------------------------
os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
temporary = args.out + ".tmp"
with h5py.File(temporary, "w") as out:
    for name, value in results.items():
        out[name] = value
os.replace(temporary, args.out)
print(f"wrote {len(results)} datasets to {args.out} in {time.time() - started:.2f} s")
