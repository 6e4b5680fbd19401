"""Every bad input gives one clear message and a non-zero exit on every rank, never a hang."""
import os
import re
import signal
import subprocess
import tempfile
import time

from harness import Checks, signal_ranks

checks = Checks(__doc__)
expect_one_error = checks.expect_one_error
build = checks.build


for ranks in (1, 2, 4):
    r = checks.run(f"{build}/tests/fail_task", ranks=ranks)
    expect_one_error(f"throwing task at {ranks} ranks", r,
                     r"^rask: error: task 'explode-[0-9a-f]{16}' failed on rank [0-3]: boom: cannot handle 5$")

    r = checks.run(f"{build}/tests/fail_cycle", ranks=ranks)
    expect_one_error(f"cycle at {ranks} ranks", r,
                     r"^rask: error: dependency cycle: 'clean' -> 'load' -> 'clean' \(each task needs the next\)")

    r = checks.run(f"{build}/tests/fail_unserializable", ranks=ranks)
    expect_one_error(f"unserializable result at {ranks} ranks", r,
                     r"^rask: error: result 'open_handle-[0-9a-f]{16}' \(Handle\) cannot be sent to every rank")

    r = checks.run(f"{build}/jobs/daily_spread", ["/nonexistent/minute/aig"], ranks=ranks)
    expect_one_error(f"missing input directory at {ranks} ranks", r,
                     r"^rask: error: input '/nonexistent/minute/aig' does not exist; generate minute bars with")

for ranks in (2, 4):
    r = checks.run(f"{build}/tests/fail_local", ranks=ranks)
    expect_one_error(f"error seen by one rank at {ranks} ranks", r,
                     rf"^ERROR on rank {ranks - 1}: only this rank saw it$")

r = checks.run(f"{build}/jobs/delayed_inc_add", ["--sleep-scale", "abc"], ranks=2)
expect_one_error("bad option", r, r"^rask: error: --sleep-scale wants a number >= 0, got 'abc'$")

r = checks.run(f"{build}/jobs/delayed_inc_add", ["--sleep-scale", "0"], ranks=2,
               env={"RASK_MESSAGE_PIECE_BYTES": "lots"})
expect_one_error("bad RASK_MESSAGE_PIECE_BYTES", r,
                 r"^rask: error: RASK_MESSAGE_PIECE_BYTES must be a whole number from 16 to 1073741824, not 'lots'$")

# The input generator's usage errors.
for args, message in ((["--days", "0"], "--days wants a positive number"),
                      (["--days", "ten"], "--days wants a whole number, got 'ten'"),
                      (["--seed", "-3"], "--seed wants a whole number, got '-3'"),
                      (["--start", "2010-13-01"], "--start wants YYYY-MM-DD, got '2010-13-01'"),
                      (["--colour", "red"], "unknown option --colour"),
                      (["--out"], "missing value after --out")):
    r = checks.run(f"{build}/inputs/rask-gen-minute", args)
    checks.check(f"generator {' '.join(args)}: exit 2 and '{message}'",
                 r.returncode == 2 and f"rask-gen-minute: {message}\n" in r.stderr, r.stderr)

# Bad CSV content: reported with file, line and column by the rank that read it.
with tempfile.TemporaryDirectory() as tmp:
    good = "timestamp,open,high,low,close,volume\n2010-01-04 09:30:00,1,2,0.5,1.5,10\n"
    for day in (4, 5, 6, 7):
        with open(os.path.join(tmp, f"2010-01-0{day}.csv"), "w") as f:
            f.write(good)
    bad = os.path.join(tmp, "2010-01-06.csv")
    with open(bad, "w") as f:
        f.write(good + "2010-01-06 09:31:00,1,x1.5,0.5,1.5,10\n")
    for ranks in (1, 2, 4):
        r = checks.run(f"{build}/jobs/daily_spread", [tmp], ranks=ranks)
        expect_one_error(f"bad number at {ranks} ranks", r,
                         rf"failed on rank [0-3]: {re.escape(bad)}:3:23: cannot read 'x1.5' as a number in column 'high'$")
    with open(bad, "w") as f:
        f.write("timestamp,open,close\n2010-01-06 09:31:00,1,2\n")
    r = checks.run(f"{build}/jobs/daily_spread", [tmp], ranks=2)
    expect_one_error("missing column", r,
                     rf"{re.escape(bad)}:1: no column named 'high' \(the header has: timestamp, open, close\)$")
    r = checks.run(f"{build}/jobs/daily_spread", [os.path.join(tmp, "2010-01-04.csv"),
                                                  os.path.join(tmp, "2010-01-09.csv")], ranks=2)
    expect_one_error("missing input file", r,
                     rf"^rask: error: input '{re.escape(tmp)}/2010-01-09.csv' does not exist")
    for name in os.listdir(tmp):
        os.remove(os.path.join(tmp, name))
    r = checks.run(f"{build}/jobs/daily_spread", [tmp], ranks=2)
    expect_one_error("no input files", r, rf"^rask: error: no \.csv files in '{re.escape(tmp)}'$")

# SIGTERM, as SLURM sends it at the time limit: every rank stops with one message.
job = checks.start(f"{build}/jobs/delayed_inc_add", ranks=2)
# The job prints its plan just before computing for 2 s; signal it in the middle.
printed = []
for line in job.stdout:
    printed.append(line)
    if line.startswith("  predicted wall time"):
        break
time.sleep(0.5)
ranks = signal_ranks(job, signal.SIGTERM)
try:
    out, err = job.communicate(timeout=60)
except subprocess.TimeoutExpired:
    job.kill()
    out, err = job.communicate()
out = "".join(printed) + out
expect_one_error("SIGTERM", subprocess.CompletedProcess(job.args, job.returncode, out, err),
                 r"^rask: error: rank [01] stopped: received SIGTERM \(the job's time limit, or scancel\); stopping$")
checks.check("SIGTERM reached both ranks", len(ranks) == 2, str(ranks))
checks.check("rank 0 said at once why the job is ending",
             "rask: received SIGTERM (the job's time limit, or scancel); stopping every rank after its running tasks"
             in err, err)

# One rank started alone (as srun starts each task): its exit status says SIGTERM.
job = subprocess.Popen([f"{build}/jobs/delayed_inc_add"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       env=dict(os.environ, OMP_NUM_THREADS="1"))
for line in job.stdout:
    if line.startswith("  predicted wall time"):
        break
time.sleep(0.5)
job.send_signal(signal.SIGTERM)
out, err = job.communicate(timeout=60)
checks.check("SIGTERM: exit status 143 (128 + SIGTERM)", job.returncode == 143, f"exit {job.returncode}\n{err}")

# More threads than the cores a rank is bound to: one warning from rank 0, and the job runs.
warning = ("rask: warning: 2 threads per rank, but rank 0 may only run on 1 core (mpirun binds each rank to a core "
           "by default): run mpirun with --bind-to none or --map-by slot:PE=2, or srun with --cpus-per-task=2")
for ranks in (1, 2):
    r = checks.run(f"{build}/jobs/delayed_inc_add", ranks=ranks, threads=2, mpiexec_args=("--bind-to", "core"))
    checks.check(f"2 threads bound to one core at {ranks} ranks: one warning, exit 0",
                 r.returncode == 0 and r.stderr.count(warning) == 1, f"exit {r.returncode}\n{r.stderr}")
    for threads, binding in ((2, ("--bind-to", "none")), (1, ("--bind-to", "core"))):
        r = checks.run(f"{build}/jobs/delayed_inc_add", ranks=ranks, threads=threads, mpiexec_args=binding)
        checks.check(f"{threads} thread(s) with {' '.join(binding)} at {ranks} ranks: no warning",
                     r.returncode == 0 and "rask: warning" not in r.stderr, f"exit {r.returncode}\n{r.stderr}")

checks.finish()
