"""The workshop's dataframe lines end to end: the jobs' HDF5 equals pandas on the same files
(both column orders), bitwise the same at 1, 2 and 4 ranks; bad input stops every rank
with one message and leaves no output file."""
import glob
import os
import re
import tempfile

import h5py
import numpy as np
import pandas as pd

from harness import Checks

checks = Checks(__doc__)
build = checks.build
LAYOUTS = ((1, 2), (2, 1), (4, 1))  # (ranks, threads)


def read_series(path, key):
    with h5py.File(path, "r") as f:
        g = f[key]
        return g["index"][:], g["values"][:], dict(g["index"].attrs), dict(g.attrs)


def pandas_frame(pattern):
    return pd.concat([pd.read_csv(p, parse_dates=["timestamp"]) for p in sorted(glob.glob(pattern))],
                     ignore_index=True)


def close_enough(got, want):
    return got.shape == want.shape and np.allclose(got, want, rtol=1e-12, atol=0)


def errors_in(result):
    return [l for l in result.stderr.splitlines() if "rask: error:" in l or l.startswith("ERROR on rank")]


with tempfile.TemporaryDirectory() as tmp:
    gen = f"{build}/inputs/rask-gen-minute"
    for layout in ("full", "workshop"):
        out = os.path.join(tmp, layout)
        r = checks.run(gen, ["--out", out, "--symbols", "aig", "--start", "2010-01-01", "--days", "15", "--seed", "3",
                             "--layout", layout])
        checks.check(f"generator --layout {layout}", r.returncode == 0, r.stderr)
        pattern = os.path.join(out, "aig", "2010-01-*.csv")
        df = pandas_frame(pattern)
        want_header = ["timestamp", "close", "high", "low", "open"] if layout == "workshop" else \
            ["timestamp", "open", "high", "low", "close", "volume"]
        checks.check(f"{layout} files have the header {','.join(want_header)}", list(df.columns) == want_header)
        if layout == "workshop":
            times = df.timestamp.dt.strftime("%H:%M")
            checks.check("workshop layout: 2-minute bars 09:00-16:00",
                         times.iloc[0] == "09:00" and times.iloc[210] == "16:00" and times.iloc[1] == "09:02"
                         and len(df) % 211 == 0, f"{times.iloc[:3].tolist()} {len(df)}")

        hourly = df.groupby(df.timestamp.dt.hour).close.mean()
        day = df.timestamp.dt.date
        spread = df.groupby(day).high.max() - df.groupby(day).low.min()
        expected = {"frame_hourly": ("/hourly", hourly.index.to_numpy(np.int64), hourly.to_numpy()),
                    "frame_spread": ("/spread", pd.to_datetime(spread.index).to_numpy("datetime64[ns]").view(np.int64),
                                     spread.to_numpy())}
        for job, (key, want_index, want_values) in expected.items():
            first = None
            for ranks, threads in LAYOUTS:
                h5 = os.path.join(tmp, f"{job}-{layout}-{ranks}.h5")
                r = checks.run(f"{build}/jobs/{job}", [pattern, h5], ranks=ranks, threads=threads)
                name = f"{job} ({layout} order) at {ranks} ranks x {threads} threads"
                checks.check(f"{name} exits 0", r.returncode == 0, r.stdout + r.stderr)
                if r.returncode:
                    continue
                index, values, index_attrs, attrs = read_series(h5, key)
                checks.check(f"{name}: index equals pandas'", np.array_equal(index, want_index), f"{index}\n{want_index}")
                checks.check(f"{name}: values equal pandas' to 1e-12", close_enough(values, want_values),
                             f"{values}\n{want_values}")
                if first is None:
                    first = values
                checks.check(f"{name}: bitwise equal to 1 rank x 2 threads", values.tobytes() == first.tobytes())
                if job == "frame_spread":
                    checks.check(f"{name}: timestamps carry units=ns",
                                 index_attrs.get("units") in (b"ns", "ns"), str(index_attrs))
                else:
                    checks.check(f"{name}: index named timestamp, values close",
                                 attrs.get("index_name") in (b"timestamp", "timestamp")
                                 and attrs.get("name") in (b"close", "close"), str(attrs))
                checks.check(f"{name}: no temporary file left", not glob.glob(h5 + ".tmp*"))

    # Bad input: one rank reads the bad line, every rank stops, one message, no output.
    bad_dir = os.path.join(tmp, "bad")
    os.makedirs(bad_dir)
    header = "timestamp,close,high,low,open\n"
    for d in range(4, 8):
        with open(os.path.join(bad_dir, f"2010-01-0{d}.csv"), "w") as f:
            f.write(header + "".join(f"2010-01-0{d} 09:{m:02d}:00,{40 + m * 0.5},{41 + m},{39 - m * 0.1},40\n"
                                     for m in range(30)))
    bad = os.path.join(bad_dir, "2010-01-07.csv")
    lines = open(bad).read().splitlines(keepends=True)
    lines[12] = "2010-01-07 09:11:00,4x.1,41,39,40\n"
    open(bad, "w").write("".join(lines))
    out = os.path.join(tmp, "bad.h5")
    for ranks in (1, 2, 4):
        r = checks.run(f"{build}/jobs/frame_hourly", [os.path.join(bad_dir, "*.csv"), out], ranks=ranks)
        errs = errors_in(r)
        detail = f"exit {r.returncode}\n{r.stdout}\n{r.stderr}"
        checks.check(f"bad number at {ranks} ranks: non-zero exit, one message", r.returncode != 0 and len(errs) == 1,
                     detail)
        checks.check(f"bad number at {ranks} ranks: path:line: column 'close': cannot parse \"4x.1\" as float64",
                     bool(errs) and re.search(rf"failed on rank [0-3]: {re.escape(bad)}:13: column 'close': cannot "
                                              r"parse \"4x\.1\" as float64$", errs[0]) is not None, detail)
        checks.check(f"bad number at {ranks} ranks: Possible fixes name the options",
                     "Possible fixes:" in r.stderr and "on_bad_lines=\"skip\" or \"warn\"" in r.stderr, detail)
        checks.check(f"bad number at {ranks} ranks: no output file left",
                     not os.path.exists(out) and not glob.glob(out + ".tmp*"), str(os.listdir(tmp)))

    # on_bad_lines="warn": the bad line is skipped, rank 0 says how many and where.
    r = checks.run(f"{build}/jobs/frame_hourly", [os.path.join(bad_dir, "*.csv"), out, "warn"], ranks=2)
    checks.check("on_bad_lines=warn: exits 0 and warns once with the place",
                 r.returncode == 0 and r.stderr.count("rask: warning: read_csv skipped 1 bad line") == 1
                 and f"{bad}:13: column 'close'" in r.stderr, r.stdout + r.stderr)
    good = pd.concat([pd.read_csv(p, parse_dates=["timestamp"]) for p in sorted(glob.glob(os.path.join(bad_dir, "*")))])
    good = good[pd.to_numeric(good.close, errors="coerce").notna()]
    good["close"] = good.close.astype(float)
    want = good.groupby(good.timestamp.dt.hour).close.mean()
    if r.returncode == 0:
        index, values, _, _ = read_series(out, "/hourly")
        checks.check("on_bad_lines=warn: result equals pandas without the bad line",
                     np.array_equal(index, want.index.to_numpy()) and close_enough(values, want.to_numpy()),
                     f"{values}\n{want}")

    # A pattern matching nothing: every rank sees it; rank 0 says it once.
    r = checks.run(f"{build}/jobs/frame_spread", [os.path.join(tmp, "none", "*.csv"), out], ranks=2)
    errs = errors_in(r)
    checks.check("glob matching nothing: one collective message",
                 r.returncode != 0 and len(errs) == 1 and "read_csv: no files match" in errs[0], r.stderr)

checks.finish()
