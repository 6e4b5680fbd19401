"""dask.dataframe in job scripts: jobs/stocks.py and tests/jobs/frames_api.py run under
Dask (this Python, Debian's python3-dask) and under `rask run` at 1, 2 and 4 ranks must
print the same and write the same HDF5 (floats to 1e-12 relative); to_hdf/to_csv
checked against pandas on the same files; every bad input ends within seconds at 2
ranks with a non-zero exit, a message naming the place, and no output file."""
import glob
import os
import re
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np
import pandas as pd

from harness import Checks, h5_datasets

checks = Checks(__doc__)
build = checks.build
source = checks.source
rask = checks.rask

tmp = tempfile.TemporaryDirectory()
minute = os.path.join(tmp.name, "minute")
checks.generate_minute(minute, days=20, seed=11)
pattern = f"{minute}/aig/2010-01-*.csv"
# The workshop's own layout (timestamp,close,high,low,open; 2-minute bars) for jobs/stocks.py.
workshop = os.path.join(tmp.name, "workshop")
checks.generate_minute(workshop, days=20, seed=5, layout="workshop")
workshop_pattern = f"{workshop}/aig/2010-01-*.csv"


def same_h5(a, b):
    if a.keys() != b.keys():
        return False
    for k in a:
        x, y = a[k], b[k]
        if x.dtype.kind == "f":
            if x.shape != y.shape or not np.allclose(x, y, rtol=1e-12, atol=0, equal_nan=True):
                return False
        elif not np.array_equal(x, y):
            return False
    return True


def same_text(a, b):
    """Equal printed outputs, except that a number printed with d decimals may differ by
    one unit in its last place: sums in another order differ in the last bits, and a
    value on a rounding boundary then prints either way (the HDF5 outputs are held to
    1e-12 instead)."""
    la, lb = a.splitlines(), b.splitlines()
    if len(la) != len(lb):
        return False
    for x, y in zip(la, lb):
        tx, ty = x.split(), y.split()
        if len(tx) != len(ty):
            return False
        for u, v in zip(tx, ty):
            if u == v:
                continue
            if "." not in u or len(u.split(".")[1]) != len(v.split(".")[-1]):
                return False
            try:
                if abs(float(u) - float(v)) > 1.01 * 10 ** -len(u.split(".")[1]):
                    return False
            except ValueError:
                return False
    return True


# ---- conformance: the same script under Dask and under rask ----
scripts = [("jobs/stocks.py", [workshop_pattern, "{work}/stocks.h5"], "stocks.h5"),
           ("tests/jobs/frames_api.py", [f"{minute}/aig/2010-01-0*.csv"], None),
           ("tests/jobs/frames_map.py", [f"{minute}/aig/2010-01-0*.csv"], None)]
for script, args, output in scripts:
    path = os.path.join(source, script)
    work = tempfile.mkdtemp(dir=tmp.name)
    dask_run = subprocess.run([sys.executable, path, *[a.format(work=work) for a in args]], capture_output=True,
                              text=True, timeout=300, cwd=work)
    checks.check(f"{script} runs under Dask", dask_run.returncode == 0, dask_run.stderr)
    dask_h5 = h5_datasets(os.path.join(work, output)) if output else None
    for ranks, threads in ((1, 2), (2, 1), (4, 1)):
        work = tempfile.mkdtemp(dir=tmp.name)
        r = checks.run(rask, ["run", "--costs", os.path.join(work, "job.rask-costs"), path,
                              *[a.format(work=work) for a in args]], ranks=ranks, threads=threads, timeout=300)
        name = f"{script} at {ranks} rank(s) x {threads} thread(s)"
        checks.check(f"{name}: exit 0", r.returncode == 0, r.stderr)
        checks.check(f"{name}: same output as Dask", same_text(r.stdout, dask_run.stdout) and r.stdout != "",
                     f"rask:\n{r.stdout}\nDask:\n{dask_run.stdout}")
        if output:
            got = h5_datasets(os.path.join(work, output))
            checks.check(f"{name}: same HDF5 as Dask (floats 1e-12 relative)", same_h5(got, dask_h5),
                         f"{got}\nvs\n{dask_h5}")
            rask_output = os.path.join(work, output)

# ---- stocks.h5 against pandas directly on the same files ----
bars = pd.concat([pd.read_csv(f, parse_dates=["timestamp"]) for f in sorted(glob.glob(workshop_pattern))],
                 ignore_index=True)
hourly = bars.groupby(bars.timestamp.dt.hour).close.mean()
day = bars.timestamp.dt.date
spread = bars.groupby(day).high.max() - bars.groupby(day).low.min()
got = h5_datasets(rask_output)
checks.check("stocks.h5: hourly mean close equals pandas'",
             np.array_equal(got["hourly/hour"], hourly.index.to_numpy())
             and np.allclose(got["hourly/close"], hourly.to_numpy(), rtol=1e-12, atol=0), str(got))
checks.check("stocks.h5: daily spreads equal pandas'",
             np.allclose(got["spread/value"], spread.to_numpy(), rtol=1e-12, atol=0)
             and [d.decode() for d in got["spread/day"]] == [str(d) for d in spread.index], str(got))

checks.check("stocks.h5: first open and last close per day equal pandas'",
             np.allclose(got["daily/open"], bars.groupby(day).open.first().to_numpy(), rtol=1e-12, atol=0)
             and np.allclose(got["daily/close"], bars.groupby(day).close.last().to_numpy(), rtol=1e-12, atol=0), "")

# ---- to_hdf, to_csv and --dry-run ----
frame = pd.concat([pd.read_csv(f, parse_dates=["timestamp"]) for f in sorted(glob.glob(pattern))],
                  ignore_index=True)
hourly = frame.groupby(frame.timestamp.dt.hour).close.mean()
writer = os.path.join(tmp.name, "writer.py")
with open(writer, "w") as f:
    f.write(f"""import sys
import dask.dataframe as dd
df = dd.read_csv({pattern!r}, parse_dates=["timestamp"])
busy = df[df.volume > 3000][["timestamp", "close", "volume"]]
busy.to_hdf(sys.argv[1] + "/out.h5", "/busy")
hourly = df.groupby(df.timestamp.dt.hour).close.mean()
hourly.to_hdf(sys.argv[1] + "/out.h5", "/hourly")
busy.to_csv(sys.argv[1] + "/busy.csv", single_file=True)
print(len(df), len(busy), busy.head(2))
""")
for ranks in (1, 2):
    work = tempfile.mkdtemp(dir=tmp.name)
    r = checks.run(rask, ["run", "--no-learn", writer, work], ranks=ranks, threads=1)
    checks.check(f"to_hdf/to_csv at {ranks} rank(s): exit 0", r.returncode == 0, r.stderr)
    want = frame[frame.volume > 3000]
    with h5py.File(f"{work}/out.h5", "r") as f:
        checks.check(f"to_hdf at {ranks} rank(s): columns equal pandas' filter",
                     np.array_equal(f["busy/close"][...], want.close.to_numpy())
                     and np.array_equal(f["busy/timestamp"][...], want.timestamp.to_numpy().view("int64"))
                     and np.array_equal(f["busy/volume"][...], want.volume.to_numpy()), str(list(f["busy"])))
        checks.check(f"to_hdf at {ranks} rank(s): a groupby series (index, values)",
                     np.array_equal(f["hourly/index"][...], hourly.index.to_numpy())
                     and np.allclose(f["hourly/values"][...], hourly.to_numpy(), rtol=1e-12, atol=0), "")
    back = pd.read_csv(f"{work}/busy.csv", parse_dates=["timestamp"], index_col=0)
    checks.check(f"to_csv at {ranks} rank(s): the rows read back equal pandas'",
                 back.reset_index(drop=True).equals(want[["timestamp", "close", "volume"]].reset_index(drop=True)),
                 str(back.head()))
work = tempfile.mkdtemp(dir=tmp.name)
r = checks.run(rask, ["run", "--dry-run", "--no-learn", writer, work], ranks=2)
checks.check("--dry-run: exit 0, plans printed, nothing written",
             r.returncode == 0 and "plan:" in r.stdout and os.listdir(work) == [], r.stdout + r.stderr)

# ---- bad input at 2 ranks ----
bad = os.path.join(tmp.name, "bad")
files = sorted(glob.glob(pattern))[:4]


def variant(name, edit):
    os.makedirs(f"{bad}/{name}")
    for i, path in enumerate(files):
        with open(path) as f:
            lines = f.read().splitlines(True)
        if i == 2:
            lines = edit(lines)
        with open(f"{bad}/{name}/{os.path.basename(path)}", "w") as f:
            f.write("".join(lines))


def cut_fields(line, n):
    return ",".join(line.split(",")[:n]) + "\n"


def bad_close(line):
    fields = line.split(",")
    fields[4] = fields[4].replace(".", "x", 1)
    return ",".join(fields)


variant("ragged", lambda t: t[:10] + [cut_fields(t[10], 4)] + t[11:])
variant("float", lambda t: t[:12] + [bad_close(t[12])] + t[13:])
variant("date", lambda t: t[:7] + ["2010-13-45 09:36:00" + t[7][19:]] + t[8:])
variant("header", lambda t: [t[0].replace("volume", "vol")] + t[1:])
third = os.path.basename(files[2])
job = os.path.join(tmp.name, "bad_job.py")
with open(job, "w") as f:
    f.write("""import sys
import dask.dataframe as dd
import h5py
df = dd.read_csv(sys.argv[1], parse_dates=["timestamp"])
hourly = df.groupby(df.timestamp.dt.hour)[sys.argv[3]].mean().compute()
with h5py.File(sys.argv[2], "w") as out:
    out["hourly"] = hourly.to_numpy()
""")
cases = [
    ("a ragged CSV row", "ragged", "close", rf"ragged/{third}:11: expected 6 fields \(as the header\), found 4"),
    ("an unparsable float", "float", "close", rf"float/{third}:13: column 'close': cannot parse \"\d+x\d+\" as float64"),
    ("an unparsable date", "date", "close",
     rf"date/{third}:8: column 'timestamp': cannot parse \"2010-13-45 09:36:00\" as datetime64\[ns\]"),
    ("a header that differs between files", "header", "close",
     rf"header/{third}:1: the header differs from .*2010-01-04.csv's \(missing: volume; extra: vol\)"),
    ("a glob that matches nothing", "nothing", "close", r"read_csv: no files match '.*nothing/\*.csv'"),
    ("a column that does not exist", "ragged", "closing", r"KeyError: 'Column not found: closing'"),
]
for name, directory, column, message in cases:
    out = os.path.join(tmp.name, f"out-{directory}-{column}.h5")
    started = time.time()
    r = checks.run(rask, ["run", "--no-learn", job, f"{bad}/{directory}/*.csv", out, column], ranks=2, timeout=60)
    took = time.time() - started
    detail = f"exit {r.returncode} after {took:.1f} s\n{r.stderr}"
    checks.check(f"{name}: non-zero exit within seconds", r.returncode != 0 and took < 20, detail)
    checks.check(f"{name}: the message names the place", re.search(message, r.stderr) is not None, detail)
    checks.check(f"{name}: the script's line in the traceback", re.search(r'File ".*bad_job.py", line [45]', r.stderr)
                 is not None, detail)
    checks.check(f"{name}: no output file", not os.path.exists(out), detail)
    checks.check(f"{name}: one summary line", r.stderr.count("rask: failed:") == 1, detail)

# on_bad_lines="warn": the ragged line skipped, rank 0 says so once, the rest as pandas.
warner = os.path.join(tmp.name, "warn_job.py")
with open(warner, "w") as f:
    f.write(f"""import dask.dataframe as dd
df = dd.read_csv({bad + '/ragged/*.csv'!r}, on_bad_lines="warn")
print(len(df), f"{{df.close.sum().compute():.6f}}")
""")
r = checks.run(rask, ["run", "--no-learn", warner], ranks=2)
# pandas reads the short line with NaN for its missing fields (its close is NaN, so the sum
# skips it); rask's read_csv counts a line of the wrong width as bad, and skips it.
want = pd.concat([pd.read_csv(f) for f in sorted(glob.glob(f"{bad}/ragged/*.csv"))]).dropna()
checks.check('on_bad_lines="warn" at 2 ranks: pandas\' rows and sum, one warning per compute naming file:line',
             r.returncode == 0 and r.stdout == f"{len(want)} {want.close.sum():.6f}\n"
             and r.stderr.count("rask: warning: read_csv skipped 1 bad line") == 2
             and f"ragged/{third}:11" in r.stderr, r.stdout + r.stderr)

# ---- unsupported names: NotImplementedError naming them, before any work ----
for code, named in (("df.pivot_table()", "DataFrame.pivot_table"),
                    ("dd.read_csv(P, compression='gzip')", "dask.dataframe.read_csv keyword compression="),
                    ("df.close.rolling(3)", "Series.rolling"), ("dd.from_pandas(None)", "dask.dataframe.from_pandas"),
                    ("df.groupby(df.timestamp.dt.hour).close.median()", "SeriesGroupBy.median")):
    path = os.path.join(tmp.name, "unsupported.py")
    with open(path, "w") as f:
        f.write(f"import dask.dataframe as dd\nP = {pattern!r}\ndf = dd.read_csv(P, parse_dates=['timestamp'])\n"
                f"{code}\n")
    r = checks.run(rask, ["run", "--no-learn", path], ranks=2, timeout=60)
    checks.check(f"{code}: NotImplementedError naming {named}",
                 r.returncode != 0 and f"NotImplementedError: {named} is not supported by rask; see the table "
                 "'What is supported' in rask's README.md" in r.stderr, r.stderr)

# ---- errors the script can catch, at the line that builds the expression ----
catcher = os.path.join(tmp.name, "catcher.py")
with open(catcher, "w") as f:
    f.write(f"""import dask.dataframe as dd
df = dd.read_csv({pattern!r}, parse_dates=["timestamp"])
def attempt(what, build):
    try:
        build()
        print(what, "no error")
    except Exception as e:
        print(what, type(e).__name__, str(e).splitlines()[0])
attempt("item", lambda: df["closing"])
attempt("attribute", lambda: df.closing)
attempt("sep", lambda: dd.read_csv({pattern!r}, sep=";;"))
attempt("dt of a float", lambda: df.close.dt.hour)
attempt("string arithmetic", lambda: dd.read_csv({pattern!r}, dtype={{"volume": "string"}}).volume + 1)
attempt("truth", lambda: bool(df.close > 1))
attempt("meta", lambda: df.map_partitions(lambda p: p.nosuch))
attempt("delayed argument", lambda: df.map_partitions(lambda p, q: p, df.close))
attempt("scalar operand", lambda: df.close - df.close.mean())
attempt("scalar arithmetic", lambda: df.close.mean() * 2)
attempt("floor frequency", lambda: df.timestamp.dt.floor("fortnight"))
attempt("dt field", lambda: df.timestamp.dt.quarter)
""")
r = checks.run(rask, ["run", "--no-learn", catcher], ranks=1)
expected = [
    "item ColumnNotFound column 'closing' not found in read_csv('" + pattern + "'); the frame has columns: "
    "timestamp, open, high, low, close, volume",
    "attribute AttributeError 'DataFrame' object has no attribute 'closing'",
    "sep ValueError read_csv: sep must be one character; got ';;'",
    "dt of a float ValueError .dt().hour(): 'close' is float64, not a timestamp",
    "string arithmetic ValueError cannot apply + to a string column ('volume' + '')",
    "truth TypeError Trying to convert gt to a boolean value. Because Dask objects are lazily evaluated, they cannot "
    "be converted to a boolean value or used in boolean conditions like if statements. Try calling .compute() to "
    "force computation prior to converting to a boolean value or using in a conditional statement.",
    "meta ValueError map_partitions could not infer the result's columns by calling lambda on an empty partition "
    "(AttributeError: 'DataFrame' object has no attribute 'nosuch'); pass meta= (an empty pandas object like the "
    "result)",
    "delayed argument NotImplementedError map_partitions with a dask collection or delayed argument is not "
    "supported by rask; see the table 'What is supported' in rask's README.md",
    "scalar operand NotImplementedError arithmetic of a Series with a dd.Scalar (compute the scalar first, e.g. "
    "s - s.mean().compute()) is not supported by rask; see the table 'What is supported' in rask's "
    "README.md",
    "scalar arithmetic NotImplementedError dd.Scalar.__mul__ (compute the scalar first: .compute()) is not "
    "supported by rask; see the table 'What is supported' in rask's README.md",
    'floor frequency ValueError dt().floor("fortnight"): unknown frequency; use "D", "h", "min" or "s"',
    "dt field NotImplementedError Series.dt.quarter is not supported by rask; see the table 'What is supported' in "
    "rask's README.md",
]
got = r.stdout.splitlines()
for line in expected:
    checks.check(f"message: {line[:60]}...", line in got, "\n".join(got) + "\n" + r.stderr)

# ---- dtypes: one rule, in C++: what a script is told is what compute gives, and Dask's ----
typer = os.path.join(tmp.name, "dtypes.py")
with open(typer, "w") as f:
    f.write(f"""import numpy as np
import dask.dataframe as dd
df = dd.read_csv({pattern!r}, parse_dates=["timestamp"])
g = df.groupby(df.timestamp.dt.hour)
cases = {{
    "close.sum": df.close.sum(), "volume.sum": df.volume.sum(), "volume.min": df.volume.min(),
    "volume.mean": df.volume.mean(), "volume.count": df.volume.count(), "g.volume.sum": g.volume.sum(),
    "g.volume.mean": g.volume.mean(), "g.volume.max": g.volume.max(), "g.close.first": g.close.first(),
    "g.size": g.size(), "g.volume.count": g.volume.count(), "g.sum+sum": g.volume.sum() + g.volume.sum(),
    "g.sum/sum": g.volume.sum() / g.volume.sum(), "g.sum>5": g.volume.sum() > 5, "-g.sum": -g.volume.sum(),
    "value_counts": df.volume.value_counts(), "up": df.close > 50, "~up": ~(df.close > 50),
    "vol+vol": df.volume + df.volume, "vol/vol": df.volume / df.volume, "close*2": df.close * 2,
    "date": df.timestamp.dt.date, "normalize": df.timestamp.dt.normalize(), "floor": df.timestamp.dt.floor("h"),
    "weekday": df.timestamp.dt.weekday, "hour": df.timestamp.dt.hour,
}}
for name, value in cases.items():
    print(name, value.dtype, np.asarray(value.compute()).dtype)
""")
dask_run = subprocess.run([sys.executable, typer], capture_output=True, text=True, timeout=300)
r = checks.run(rask, ["run", "--no-learn", typer], ranks=2, timeout=120)
checks.check("dtypes: the script runs under Dask and under rask at 2 ranks", dask_run.returncode == 0
             and r.returncode == 0, dask_run.stderr + r.stderr)
checks.check("dtypes: each series' and scalar's dtype is Dask's", [line.split()[:2] for line in r.stdout.splitlines()]
             == [line.split()[:2] for line in dask_run.stdout.splitlines()], r.stdout + "\nDask:\n" + dask_run.stdout)
checks.check("dtypes: what the script is told is what compute gives (dates: objects)",
             all(told == got for _, told, got in (line.split() for line in r.stdout.splitlines())) and r.stdout.count("\n") == 26, r.stdout)

checks.finish()
