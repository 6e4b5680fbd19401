"""The workshop's dataframe cells as one job: a month of one stock's minute bars, the
mean close per hour of the day and the daily high-low spread, written to HDF5.

    2010-01-04.csv  2010-01-05.csv  ...      dd.read_csv: one or more blocks per file
          |              |
     parse timestamp, close, high, low, open  only the columns the results need
          |              |
    partial groups per block ...            hour -> (sum, count); day -> (max, min)
           \\             |             /
        merged by a fixed tree -> pandas on rank 0 -> stocks.h5

The same script runs under Dask (python3 jobs/stocks.py) and under rask
(mpirun -n 2 rask run jobs/stocks.py); tests/check_job_frames.py compares the two.
Run: mpirun -n 2 rask run jobs/stocks.py 'inputs/minute/aig/2010-01-*.csv' stocks.h5
"""
import os
import sys

import dask
import dask.dataframe as dd
import h5py
import numpy as np

pattern = sys.argv[1] if len(sys.argv) > 1 else "inputs/minute/aig/2010-01-*.csv"
output = sys.argv[2] if len(sys.argv) > 2 else "stocks.h5"

df = dd.read_csv(pattern, parse_dates=["timestamp"])
print(df)
print(df.dtypes)

# The notebook's cells.
hourly = df.groupby(df.timestamp.dt.hour).close.mean()
by_day = df.groupby(df.timestamp.dt.date)
spread = by_day.high.max() - by_day.low.min()
above = df[df.close > df.close.mean().compute()]  # the workshop's files have no volume column
print(hourly)

hourly, spread, rows, above_rows, daily = dask.compute(hourly, spread, len(df), above.close.count(),
                                                       by_day.agg({"open": "first", "close": "last"}))
print(hourly.to_string())
print(spread.to_string())
print(daily.to_string())
print("rows", rows, "rows above the mean close", above_rows)
print(df.head(3).to_string())

# Written under a temporary name, then renamed: a failed job leaves no half file.
temporary = output + ".tmp"
with h5py.File(temporary, "w") as out:
    out["hourly/hour"] = hourly.index.to_numpy()
    out["hourly/close"] = hourly.to_numpy()
    out["spread/day"] = np.array([str(d) for d in spread.index], dtype="S10")
    out["spread/value"] = spread.to_numpy()
    out["daily/open"] = daily["open"].to_numpy()
    out["daily/close"] = daily["close"].to_numpy()
os.replace(temporary, output)
