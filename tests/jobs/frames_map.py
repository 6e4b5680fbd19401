"""df.map_partitions under Dask and under rask: a function on pandas partitions, the results
concatenated in order (tests/check_job_frames.py compares the outputs). Argument: a glob."""
import sys
import dask
import dask.dataframe as dd
import pandas as pd

df = dd.read_csv(sys.argv[1], parse_dates=["timestamp"], blocksize=20000)
print(df.npartitions)

def spread(part, scale):
    out = pd.DataFrame({"day": part.timestamp.dt.day, "spread": (part.high - part.low) * scale})
    return out[out.spread > 0.2]

m = df.map_partitions(spread, 10.0)
print(m)
r = m.compute()
print(r.shape, r.head().to_string(), r.tail(3).to_string(), sep="\n")
rows = df.map_partitions(len).compute()
print(rows.sum(), len(rows))
a, b = dask.compute(m, df.close.mean())
print(len(a), f"{b:.8f}")
