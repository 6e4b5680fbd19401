"""dask.dataframe's names a job script uses, printed: run under Dask and under rask, the
outputs must be equal (tests/check_job_frames.py). Argument: a glob of minute-bar CSVs."""
import sys

import dask
import dask.dataframe as dd
import pandas as pd

pd.set_option("display.precision", 8)
pattern = sys.argv[1]

df = dd.read_csv(pattern, parse_dates=["timestamp"])
print(df)
print(df.columns, df.dtypes, df.npartitions, sep="\n")
print(df.close)
print(df["high"] - df.low)
print(df[["close", "volume"]])
print(df[df.close > 150])
print(df.timestamp.dt.hour)
print(df.timestamp.dt.date)
print(df.groupby(df.timestamp.dt.hour).close.mean())
print(df.groupby("volume").size())
print(df.groupby(df.timestamp.dt.date).agg({"high": "max", "low": "min"}))
print(df.close.mean())
print(len(df), df.close.count().compute(), df.volume.sum().compute())
print(df.head(4).to_string())
print(df.close.head(3).to_string())

# Results: each aggregation, filters, arithmetic and dt fields, in one or several computes.
g = df.groupby(df.timestamp.dt.hour)
for agg in ("sum", "mean", "min", "max", "count", "std", "var", "first", "last"):
    print(agg, getattr(g.close, agg)().compute().to_string(), sep="\n")
print(g.size().compute().to_string())
print(g.agg({"open": "first", "close": "last", "volume": "sum"}).compute().to_string())
print(g[["high", "low"]].max().compute().to_string())
print(g.close.agg(["min", "max"]).compute().to_string())
day = df.timestamp.dt.date
print((df.groupby(day).high.max() - df.groupby(day).low.min()).compute().to_string())
print(df.groupby([df.timestamp.dt.day, df.timestamp.dt.hour]).volume.sum().compute().head(12).to_string())
print(df.groupby(["volume"]).close.count().compute().sort_index().head(5).to_string())  # Dask: any order
busy = df[(df.volume > 3000) & (df.close < 160)]
print(busy.compute().head(10).to_string())
print(busy.compute().tail(3).to_string())
print((busy.close * 2 + 1).compute().head(5).to_string())
print((100 / df.close).compute().tail(3).to_string())
print(df[~(df.volume > 1000)].volume.compute().head(5).to_string())
# Ties in any order: Dask's and pandas' differ; sorted here by count, then value.
counts = df.volume.value_counts().compute()
print(counts.groupby(counts).size().sort_index().tail(3).to_string())
print(len(counts), counts.sum())
for field in ("year", "month", "day", "hour", "minute", "dayofweek"):
    print(field, getattr(df.timestamp.dt, field).compute().tail(2).to_string())
print(df.timestamp.dt.date.compute().tail(2).to_string())
for red in ("sum", "mean", "min", "max", "std", "var", "count"):
    print(red, f"{getattr(df.close, red)().compute():.10g}")


@dask.delayed
def describe(hourly, n):
    return f"{len(hourly)} hours over {n} rows, peak {hourly.idxmax()}"


hourly = df.groupby(df.timestamp.dt.hour).volume.mean()
text, h, n = dask.compute(describe(hourly, df.close.count()), hourly, df.close.count())
print(text, h.to_string(), n, sep="\n")
