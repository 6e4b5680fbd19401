"""Conformance: every job script under jobs/ and tests/jobs/ runs under Dask (this
Python, Debian's python3-dask) and under `rask run` at 1, 2 and 4 ranks (1 and 2
threads); the printed outputs, and the HDF5 files the scripts write, must be equal."""
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from harness import Checks, h5_datasets

checks = Checks(__doc__)
build = checks.build
source = checks.source
rask = checks.rask

tmp = tempfile.TemporaryDirectory()
minute = os.path.join(tmp.name, "minute")
checks.generate_minute(minute, days=8, seed=7)


# (script, arguments; {work} is a fresh directory per run, {minute} the generated bars)
scripts = [
    ("jobs/delayed_cartesian.py", ["0.02"]),
    ("jobs/futures_cartesian.py", ["0.02"]),
    ("jobs/client_cartesian.py", ["0.02"]),
    ("jobs/delayed_inc_add.py", ["0.01"]),
    ("jobs/delayed_loop.py", ["0.01"]),
    ("jobs/daily_spread.py", ["{minute}/aig", "{work}/spreads.h5"]),
    ("tests/jobs/delayed_semantics.py", ["{work}"]),
    ("tests/jobs/client_semantics.py", []),
]

for script, args in scripts:
    path = os.path.join(source, script)
    work = tempfile.mkdtemp(dir=tmp.name)
    argv = [a.format(work=work, minute=minute) for a in args]
    dask_run = subprocess.run([sys.executable, path, *argv], capture_output=True, text=True, timeout=300,
                              cwd=work)
    checks.check(f"{script} runs under Dask", dask_run.returncode == 0, dask_run.stderr)
    dask_h5 = h5_datasets(os.path.join(work, "spreads.h5")) if "spreads" in " ".join(argv) else None
    for ranks, threads in ((1, 2), (2, 1), (4, 1)):
        work = tempfile.mkdtemp(dir=tmp.name)
        argv = [a.format(work=work, minute=minute) for a in args]
        # Learned costs go to the run's own directory, never beside the script in the repo.
        r = checks.run(rask, ["run", "--costs", os.path.join(work, "job.rask-costs"), path, *argv], ranks=ranks,
                       threads=threads, timeout=300)
        name = f"{script} at {ranks} rank(s) x {threads} thread(s)"
        checks.check(f"{name}: exit 0", r.returncode == 0, r.stderr)
        checks.check(f"{name}: same output as Dask", r.stdout == dask_run.stdout and r.stdout != "",
                     f"rask:\n{r.stdout}\nDask:\n{dask_run.stdout}")
        checks.check(f"{name}: one summary line", r.stderr.count("rask: done:") == 1, r.stderr)
        if dask_h5 is not None:
            rask_h5 = h5_datasets(os.path.join(work, "spreads.h5"))
            same = rask_h5.keys() == dask_h5.keys() and all(np.array_equal(rask_h5[k], dask_h5[k]) for k in dask_h5)
            checks.check(f"{name}: same HDF5 datasets as Dask", same, f"{rask_h5} vs {dask_h5}")

# The job's broadcasts (graphs, collective calls, the cost file, build errors) in pieces
# of RASK_MESSAGE_PIECE_BYTES, as the executor's messages: a 16-byte piece splits every
# payload into many.
for script, args in (("tests/jobs/delayed_semantics.py", ["{work}"]), ("jobs/daily_spread.py",
                                                                      ["{minute}/aig", "{work}/spreads.h5"])):
    path = os.path.join(source, script)
    work = tempfile.mkdtemp(dir=tmp.name)
    argv = [a.format(work=work, minute=minute) for a in args]
    dask_run = subprocess.run([sys.executable, path, *argv], capture_output=True, text=True, timeout=300, cwd=work)
    for ranks in (2, 4):
        work = tempfile.mkdtemp(dir=tmp.name)
        argv = [a.format(work=work, minute=minute) for a in args]
        with open(os.path.join(work, "job.rask-costs"), "w") as f:
            f.write("# rask cost file\n" + "".join(f"fn{i}\t0.001\t1\n" for i in range(50)))
        r = checks.run(rask, ["run", "--costs", os.path.join(work, "job.rask-costs"), path, *argv], ranks=ranks,
                       env={"RASK_MESSAGE_PIECE_BYTES": "16"}, timeout=300)
        checks.check(f"{script} at {ranks} ranks in 16-byte pieces: exit 0, same output as Dask",
                     r.returncode == 0 and r.stdout == dask_run.stdout and r.stdout != "",
                     f"rask:\n{r.stdout}\n{r.stderr}\nDask:\n{dask_run.stdout}")

# The spreads against pandas directly, on the same files (an independent computation).
import glob
import pandas as pd

work = tempfile.mkdtemp(dir=tmp.name)
r = checks.run(rask, ["run", "--no-learn", os.path.join(source, "jobs/daily_spread.py"), f"{minute}/aig", f"{work}/s.h5"],
               ranks=2)
got = h5_datasets(f"{work}/s.h5")
files = sorted(glob.glob(f"{minute}/aig/*.csv"))
want = [pd.read_csv(f)["high"].max() - pd.read_csv(f)["low"].min() for f in files]
checks.check("daily spreads equal pandas' on the same files", np.allclose(got["spread"], want, rtol=0, atol=1e-12),
             f"{got} vs {want}")
checks.check("no temporary file left", sorted(os.listdir(work)) == ["s.h5"], str(os.listdir(work)))

# One rank alone works without mpirun, and h5py in a job is the Open MPI build.
with open(os.path.join(tmp.name, "h5.py"), "w") as f:
    f.write("import h5py\nprint('mpi', h5py.get_config().mpi)\n")
alone = subprocess.run([rask, "run", os.path.join(tmp.name, "h5.py")], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, OMP_NUM_THREADS="1"))
checks.check("rask run without mpirun; h5py is the MPI build", alone.returncode == 0 and alone.stdout == "mpi True\n",
             alone.stdout + alone.stderr)
r = checks.run(rask, ["run", os.path.join(tmp.name, "h5.py")], ranks=2)
checks.check("h5py is the MPI build at 2 ranks", r.returncode == 0 and r.stdout == "mpi True\n", r.stdout + r.stderr)

# --dry-run plans and runs nothing; a real run learns costs; the next dry run predicts
# with them; --trace and --visualize write their files.
import json
import re

loop = os.path.join(source, "jobs/delayed_loop.py")
work = tempfile.mkdtemp(dir=tmp.name)
costs = os.path.join(work, "loop.rask-costs")
started = time.time()
r = checks.run(rask, ["run", "--dry-run", "--costs", costs, loop, "1"], ranks=2)
checks.check("--dry-run: no task runs (8 one-second tasks would take 4 s)", time.time() - started < 3.5, r.stderr)
checks.check("--dry-run: each compute's plan printed",
             r.returncode == 0 and r.stdout.count("plan: 9 tasks on 2 ranks x 1 thread") == 2
             and "rask --dry-run: compute 2, 9 tasks" in r.stdout, r.stdout + r.stderr)
r = checks.run(rask, ["run", "--costs", costs, "--trace", f"{work}/trace.json", "--visualize", f"{work}/g.dot", loop,
                      "0.05"], ranks=2)
checks.check("real run: exit 0", r.returncode == 0, r.stderr)
learned = {}
with open(costs) as f:
    for line in f:
        if not line.startswith("#"):
            name, seconds, calls = line.split("\t")
            learned[name] = (float(seconds), int(calls))
checks.check("cost file: inc and double near their 50 ms sleeps, with their call counts",
             0.045 < learned["inc"][0] < 0.09 and learned["inc"][1] == 12 and 0.045 < learned["double"][0] < 0.09
             and learned["double"][1] == 4, str(learned))
r = checks.run(rask, ["run", "--dry-run", "--costs", costs, loop, "0.05"], ranks=2)
serial = [float(x) for x in re.findall(r"serial ([0-9.]+) ms", r.stdout)]
predicted = [float(x) for x in re.findall(r"predicted wall time ([0-9.]+) ms", r.stdout)]
checks.check("dry run after a run: serial time = 8 calls x ~50 ms, predicted about half on 2 ranks",
             len(serial) == 2 and all(380 < s < 750 for s in serial)
             and all(0.45 * s < p < 0.65 * s for s, p in zip(serial, predicted)), r.stdout)
with open(f"{work}/trace.json") as f:
    trace = json.load(f)
tasks = [e for e in trace["traceEvents"] if e["ph"] == "X"]
checks.check("--trace: one event per task (18), on ranks 0 and 1, thread 0, named by key",
             len(tasks) == 18 and {e["pid"] for e in tasks} == {0, 1} and {e["tid"] for e in tasks} == {0}
             and all(re.match(r"^(inc|double|sum)-", e["name"]) for e in tasks), json.dumps(tasks)[:2000])
flows = {}
for e in trace["traceEvents"]:
    if e["ph"] in ("s", "f"):
        flows.setdefault(e["id"], []).append(e)
checks.check("--trace: values crossing ranks as flow arrows, each from its producer (with bytes) to a consumer",
             len(flows) > 0 and all(sorted(x["ph"] for x in pair) == ["f", "s"] for pair in flows.values())
             and all(x["args"]["bytes"] > 0 for pair in flows.values() for x in pair if x["ph"] == "s")
             and all(x["pid"] != y["pid"] for x, y in flows.values()), json.dumps(flows)[:2000])
checks.check("--visualize: one graph per compute",
             all(open(f"{work}/{g}").read().startswith("digraph") for g in ("g.dot", "g-2.dot")), str(os.listdir(work)))
# Calls the script only wants back spread over the ranks function by function, on a
# first run (no cost file) and on the second (learned costs): at 2 and 4 ranks each rank
# runs 30 / ranks (+-1) calls of f and as many of g. The plan alone would split the 60
# independent calls in two contiguous runs: every f on rank 0, every g on rank 1.
spread = os.path.join(source, "tests/jobs/spread_calls.py")
for ranks in (2, 4):
    work = tempfile.mkdtemp(dir=tmp.name)
    for run in ("first", "second"):
        r = checks.run(rask, ["run", "--costs", f"{work}/c.rask-costs", "--trace", f"{work}/t.json", spread],
                       ranks=ranks)
        with open(f"{work}/t.json") as f:
            events = [e for e in json.load(f)["traceEvents"] if e["ph"] == "X"]
        per_rank = {(rank, fn): sum(1 for e in events if e["pid"] == rank and e["cat"] == fn)
                    for rank in range(ranks) for fn in ("f", "g")}
        checks.check(f"independent calls at {ranks} ranks, {run} run: each rank runs 30/{ranks} (+-1) of f and of g",
                     r.returncode == 0 and r.stdout == "435 -435\n" and len(events) == 60
                     and all(abs(n - 30 / ranks) <= 1 for n in per_rank.values()), f"{per_rank}\n{r.stderr}")

# --progress counts every rank's tasks: 40 naps + their sum, about 3 s at every rank count.
# At 2 ranks rank 0 runs about half: a line showing more than 21 done before the end
# counts the other rank's tasks too.
naps = os.path.join(source, "tests/jobs/progress_naps.py")
for ranks, threads in ((1, 2), (2, 1), (4, 1)):
    nap = 0.075 * ranks * threads
    r = checks.run(rask, ["run", "--progress", "--no-learn", naps, "40", nap], ranks=ranks, threads=threads)
    lines = re.findall(r"^compute 1 \[([#.]{20})\] ([0-9]+)/41 tasks on ([0-9]) ranks?, [0-9]+ tasks/s, "
                       r"(~[0-9.]+ s left|took [0-9.]+ s)$", r.stderr, re.M)
    done = [int(line[1]) for line in lines]
    checks.check(f"--progress at {ranks} rank(s) x {threads} thread(s): lines every 2 s, counts rising to 41/41 "
                 "on every rank, the last one final",
                 r.returncode == 0 and "sum = 780" in r.stdout and len(lines) >= 2 and done == sorted(done)
                 and done[-1] == 41 and lines[-1][0] == "#" * 20 and lines[-1][3].startswith("took")
                 and all(line[2] == str(ranks) for line in lines) and all(not x[3].startswith("took") for x in lines[:-1]),
                 r.stderr)
    if ranks == 2:
        checks.check("--progress at 2 ranks: a line before the end counts the other rank's tasks (> 21 done)",
                     any(d > 21 for d in done[:-1]), r.stderr)
for flag, text in (("--help", "usage: rask run [options] JOB.py"), ("--version", "rask 0.1")):
    r = subprocess.run([rask, flag], capture_output=True, text=True)
    checks.check(f"rask {flag}", r.returncode == 0 and text in r.stdout, r.stdout + r.stderr)

checks.finish()
