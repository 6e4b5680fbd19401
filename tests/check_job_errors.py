"""Every user-facing error of `rask run`: Python's own message for a bad script, the
task's key, rank and traceback for a failing task, clean ends on signals; a non-zero
exit on every rank and never a hang."""
import os
import re
import signal
import subprocess
import tempfile
import time

from harness import Checks, signal_ranks

checks = Checks(__doc__)
build = checks.build
rask = checks.rask
jobs = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jobs", "errors")


def script(name):
    return os.path.join(jobs, name)


def expect(name, result, patterns, status=None):
    detail = f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    if status is None:
        checks.check(f"{name}: non-zero exit", result.returncode != 0, detail)
    else:
        checks.check(f"{name}: exit {status}", result.returncode == status, detail)
    for pattern in patterns:
        checks.check(f"{name}: /{pattern}/", re.search(pattern, result.stderr, re.M) is not None, detail)
    checks.check(f"{name}: one summary line", result.stderr.count("rask: failed:") == 1, detail)


# --progress on a compute that fails: the last line says so, and every rank still ends.
r = checks.run(rask, ["run", "--progress", script("task_raises.py")], ranks=2)
expect("task raising under --progress at 2 ranks", r, [
    r"^compute 1 \[[#.]{20}\] [0-7]/7 tasks on 2 ranks, [0-9]+ tasks/s, failed after [0-9.]+ s$",
    r"^ZeroDivisionError: task 'inc-[0-9a-f]+' failed on rank [01]"])

for ranks in (1, 2, 4):
    at = f"at {ranks} rank(s)"
    r = checks.run(rask, ["run", script("task_raises.py")], ranks=ranks)
    expect(f"task raising {at}", r, [
        r"^ZeroDivisionError: task 'inc-[0-9a-f]+' failed on rank [0-3]: ZeroDivisionError: division by zero$",
        r'^  File ".*task_raises.py", line 5, in inc$',  # the task's own traceback
        r'^  File ".*task_raises.py", line 9, in <module>$',  # where the script computed
    ])
    checks.check(f"task raising {at}: no rask-internal frames", "<rask>" not in r.stderr, r.stderr)

    r = checks.run(rask, ["run", script("syntax_error.py")], ranks=ranks)
    expect(f"syntax error {at}", r, [r'^  File ".*syntax_error.py", line 3$', r"^SyntaxError: invalid syntax$"], 1)

    r = checks.run(rask, ["run", script("unknown_name.py")], ranks=ranks)
    expect(f"unknown name {at}", r, [r'^  File ".*unknown_name.py", line 4, in <module>$',
                                     r"^NameError: name 'undefined_name' is not defined$"], 1)

    r = checks.run(rask, ["run", script("exit_code.py")], ranks=ranks)
    checks.check(f"sys.exit(3) {at}: exit 3 on every rank", r.returncode == 3 and r.stdout == "bye\n", r.stderr)

for name, dask_name in (("unsupported_name.py", "dask.bag"), ("unsupported_module.py", "dask.dataframe.from_pandas"),
                        ("unsupported_client.py", "dask.distributed.Client.run")):
    r = checks.run(rask, ["run", script(name)], ranks=2)
    expect(f"{name} at 2 ranks", r, [
        rf"^NotImplementedError: {re.escape(dask_name)} is not supported by rask; see the table "
        r"'What is supported' in rask's README.md$"], 1)

for ranks in (2, 4):
    r = checks.run(rask, ["run", script("unpicklable_argument.py")], ranks=ranks)
    expect(f"unpicklable argument at {ranks} ranks", r, [
        r"^TypeError: task 'use-[0-9a-f]+' cannot be sent to the other ranks: its function or arguments cannot be "
        r"pickled \(TypeError: cannot pickle '_thread.lock' object\); make them picklable, or create the object "
        r"inside the task$"], 1)
    r = checks.run(rask, ["run", script("unpicklable_result.py")], ranks=ranks)
    expect(f"unpicklable result at {ranks} ranks", r, [
        r"^rask.TaskError: task 'make_lock-[0-9a-f]+' failed on rank [1-3]: could not serialize its result "
        r"\(Python object \(pickled\)\) to send it to rank 0: TypeError: cannot pickle '_thread.lock' object$"], 1)

# The program's own usage errors, printed once, exit 2.
for args, message in ((["run"], "no job script given: rask run job.py"),
                      (["run", "/nonexistent/job.py"], "cannot open job script '/nonexistent/job.py': no such file"),
                      (["run", "--threads", "zero", script("exit_code.py")],
                       "--threads wants a whole number from 1 to 1024, got 'zero'"),
                      (["run", "--colour", script("exit_code.py")],
                       "unknown option --colour (options go before the script; the script's own after it)"),
                      (["jump"], "unknown command 'jump' (the command is 'run': rask run job.py)"),
                      ([], "no command given (did you mean 'rask run job.py'?)")):
    r = checks.run(rask, args, ranks=2)
    checks.check(f"rask {' '.join(args)}: exit 2, '{message}' once",
                 r.returncode == 2 and r.stderr.count(f"rask: {message}\n") == 1, r.stderr)

# A bad cost file is reported with its file and line.
with tempfile.TemporaryDirectory() as tmp:
    costs = os.path.join(tmp, "bad.rask-costs")
    with open(costs, "w") as f:
        f.write("# comment\ninc 0.5\n")
    r = checks.run(rask, ["run", "--costs", costs, script("exit_code.py")], ranks=2)
    checks.check("bad cost file: one message with file and line",
                 r.returncode == 1 and r.stderr.count(f"rask: error: {costs}:2: expected 'name seconds calls'") == 1,
                 r.stderr)


def start(args, ranks):
    return checks.start(rask, ["run", *args], ranks)


def after_start(process):
    line = process.stdout.readline()  # "started": the script is running
    return line == "started\n"


def ended(name, process, limit, patterns, status=None):
    try:
        out, err = process.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        process.kill()
        checks.check(f"{name}: ends within {limit} s", False, "still running")
        return
    checks.check(f"{name}: ends within {limit} s", True)
    ok_status = process.returncode != 0 if status is None else process.returncode == status
    checks.check(f"{name}: exit status", ok_status, f"exit {process.returncode}\n{err}")
    for pattern in patterns:
        checks.check(f"{name}: /{pattern}/", re.search(pattern, err, re.M) is not None, err)


# SIGTERM (SLURM's time limit) during a compute and outside one; Ctrl-C (SIGINT to every
# rank, as a terminal sends it) during a compute; a rank killed outright.
p = start([script("sleeps.py")], 2)
checks.check("SIGTERM in a compute: job started", after_start(p))
time.sleep(1.0)
signal_ranks(p, signal.SIGTERM)
ended("SIGTERM in a compute", p, 20, [r"^rask.TaskError: rank [01] stopped: received SIGTERM \(the job's time limit, "
                                      r"or scancel\); stopping$"], 1)

p = start([script("sleeps.py")], 2)
checks.check("SIGTERM to mpirun in a compute: job started", after_start(p))
time.sleep(1.0)
p.send_signal(signal.SIGTERM)
ended("SIGTERM to mpirun in a compute", p, 20, [])

p = start([script("sleeps.py"), "idle"], 2)
checks.check("SIGTERM outside a compute: job started", after_start(p))
signal_ranks(p, signal.SIGTERM)
ended("SIGTERM outside a compute", p, 20, [r"^rask: received SIGTERM \(the job's time limit, or scancel\); stopping"])

p = start([script("sleeps.py")], 2)
checks.check("Ctrl-C in a compute: job started", after_start(p))
time.sleep(1.0)
signal_ranks(p, signal.SIGINT)
ended("Ctrl-C in a compute", p, 20, [r"^KeyboardInterrupt$"], 130)

p = start([script("sleeps.py")], 2)
checks.check("SIGKILL of a rank: job started", after_start(p))
time.sleep(1.0)
pids = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True).stdout.split()
os.kill(int(pids[-1]), signal.SIGKILL)
ended("SIGKILL of a rank", p, 20, [])

checks.finish()
