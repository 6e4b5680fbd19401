"""Workshop exercise 2.4: the daily high-low spread of a stock, one delayed task per
file, read with pandas inside the task; results written with h5py by the script.

    2010-01-04.csv  2010-01-05.csv  ...     one file per trading day
         |               |
    spread(file)    spread(file)    ...     max(high) - min(low)
          \\              |              /
       dask.compute(spreads, days) -> spreads.h5 (datasets 'day', 'spread')

Columns are read by header name (the workshop's files are timestamp,close,high,low,open).
Run: mpirun -n 2 rask run jobs/daily_spread.py inputs/minute/aig spreads.h5
"""
import glob
import os
import sys

import dask
import h5py
import numpy as np
import pandas as pd
from dask import delayed

directory = sys.argv[1] if len(sys.argv) > 1 else "inputs/minute/aig"
output = sys.argv[2] if len(sys.argv) > 2 else "spreads.h5"


@delayed
def spread(path):
    frame = pd.read_csv(path)
    return float(frame["high"].max() - frame["low"].min())


@delayed
def day_of(path):
    return pd.read_csv(path, usecols=["timestamp"])["timestamp"].iloc[0][:10]


files = sorted(glob.glob(os.path.join(directory, "*.csv")))
if not files:
    sys.exit(f"no .csv files in {directory}; generate them with rask-gen-minute (see README)")

spreads = [spread(f) for f in files]
days = [day_of(f) for f in files]
spreads, days = dask.compute(spreads, days)

# Written under a temporary name, then renamed: a failed job leaves no half file.
temporary = output + ".tmp"
with h5py.File(temporary, "w") as out:
    out["spread"] = np.array(spreads)
    out["day"] = np.array(days, dtype="S10")
os.replace(temporary, output)

for day, value in zip(days, spreads):
    print(day, f"{value:.4f}")
