"""The workshop jobs end to end: the same results at 1, 2 and 4 ranks, and the same as
an independent computation in Python (pandas for the CSVs)."""
import filecmp
import glob
import os
import tempfile

import pandas as pd

from harness import Checks

checks = Checks(__doc__)
build = checks.build
LAYOUTS = ((1, 2), (2, 1), (4, 1))  # (ranks, threads)


def results(job, args):
    """The job's result lines at every layout; they must agree."""
    seen = {}
    for ranks, threads in LAYOUTS:
        r = checks.run(f"{build}/jobs/{job}", args, ranks=ranks, threads=threads)
        checks.check(f"{job} at {ranks} ranks x {threads} threads exits 0", r.returncode == 0,
                     r.stdout + r.stderr)
        seen[(ranks, threads)] = [l for l in r.stdout.splitlines() if l.startswith("result:")]
    first = seen[LAYOUTS[0]]
    for layout, lines in seen.items():
        checks.check(f"{job}: results at {layout} equal those at {LAYOUTS[0]}", lines == first and lines,
                     "\n".join(lines[:5]) + "\n---\n" + "\n".join(first[:5]))
    return first


fast = ["--sleep-scale", "0.01"]

# 2.2
lines = results("delayed_inc_add", fast)
checks.check("inc(1) + inc(2) = 5", len(lines) == 1 and lines[0].endswith(" = 5"), str(lines))

# 2.3: sum(x + 1) and sum(2x if even else x + 1) over 1..8, in Python
data = range(1, 9)
loop = sum(x + 1 for x in data)
branch = sum(2 * x if x % 2 == 0 else x + 1 for x in data)
lines = results("delayed_loop", fast)
checks.check("for-loop and control-flow sums", lines == [f"result: for-loop sum = {loop}",
                                                        f"result: control-flow sum = {branch}",
                                                        f"result: together = {loop}, {branch}"], str(lines))

# 2.1: the same seeded lists, drawn here with the same splitmix64 recipe
MASK = (1 << 64) - 1


def seeded_ints(count, lo, hi, seed):
    out = []
    for i in range(count):
        z = (seed + 0x9E3779B97F4A7C15 * (i + 1)) & MASK
        z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & MASK
        z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & MASK
        z ^= z >> 31
        out.append(lo + z % (hi - lo + 1))
    return out


A, B = seeded_ints(50, 1, 9, 42), seeded_ints(25, 4, 12, 4242)
expected = {(a, b): (a - b, a * b) for a in A for b in B}
lines = results("delayed_cartesian", fast + ["--all-results"])
want = [f"result: {len(expected)} pairs of 50 x 25 are distinct"] + [
    f"result: ({a}, {b}): f={fv} g={gv}" for (a, b), (fv, gv) in sorted(expected.items())]
checks.check("cartesian results equal the Python dict", lines == want, "\n".join(lines[:4]))

# 2.4 and the generator
with tempfile.TemporaryDirectory() as tmp:
    gen = f"{build}/inputs/rask-gen-minute"
    args = ["--symbols", "aig,xyz", "--start", "2010-01-01", "--days", "12", "--seed", "7"]
    one, two = os.path.join(tmp, "one"), os.path.join(tmp, "two")
    for out in (one, two):
        r = checks.run(gen, ["--out", out, *args])
        checks.check(f"generator writes {out}", r.returncode == 0, r.stderr)
    files = sorted(glob.glob(os.path.join(one, "aig", "*.csv")))
    checks.check("generator is seeded: same bytes twice",
                 all(filecmp.cmp(f, f.replace(one, two), shallow=False) for f in files) and len(files) == 12)
    checks.check("no temporary files left", not glob.glob(os.path.join(one, "*", "*.tmp")))
    frames = {os.path.basename(f)[:-4]: pd.read_csv(f, parse_dates=["timestamp"]) for f in files}
    shapes_ok = all(list(df.columns) == ["timestamp", "open", "high", "low", "close", "volume"] and len(df) == 390
                    and df.timestamp.dt.dayofweek.max() < 5
                    and str(df.timestamp.iloc[0].time()) == "09:30:00" and str(df.timestamp.iloc[-1].time()) == "15:59:00"
                    and (df.high >= df[["open", "close"]].max(axis=1)).all()
                    and (df.low <= df[["open", "close"]].min(axis=1)).all()
                    for df in frames.values())
    checks.check("minute bars: header, 390 rows 09:30-15:59, weekdays, low <= open/close <= high", shapes_ok)
    checks.check("2010-01-01 (a Friday) is the first day, weekends skipped",
                 list(frames)[:3] == ["2010-01-01", "2010-01-04", "2010-01-05"], str(list(frames)[:3]))

    lines = results("daily_spread", [os.path.join(one, "aig")])
    spreads = {day: df.high.max() - df.low.min() for day, df in frames.items()}
    got = {}
    for line in lines[:-1]:
        _, day, _, _, value = line.split()
        got[day] = float(value)
    checks.check("daily spreads equal pandas' high.max() - low.min()",
                 got.keys() == spreads.keys() and all(abs(got[d] - spreads[d]) < 1e-6 for d in spreads),
                 f"{got}\n{spreads}")
    widest = max(spreads, key=spreads.get)
    checks.check("widest day", lines[-1].startswith(f"result: widest day {widest} "), lines[-1])

checks.finish()
