"""Job scripts side by side: `rask run` and Dask on the same Python files, in one run.

  /usr/bin/python3 bench/bench_jobs.py --build build     (part of `make bench`)

1. 100,000 tiny Python tasks (map of inc + fan-in-8 tree sum, 114,289 tasks): rask at
   2 ranks x 1 thread against Dask's threaded scheduler (2 workers) and dask.distributed
   (2 local workers x 1 thread, on 10,000 since it needs milliseconds per task).
2. The workshop's cartesian exercise (jobs/delayed_cartesian.py, 81 pairs x (20 + 30 ms))
   at 2 ranks x 1 thread, first run (no cost file) and second run (learned costs),
   against its ideal (serial / 2) and against Dask's threaded scheduler; the C++ version
   (build/jobs/delayed_cartesian) at 2 ranks x 1 thread; and 1 rank x 2 threads, where
   nothing crosses ranks: what the sleeps overshoot on this machine at the moment.
3. Start-up: `mpirun -n 2 rask run empty.py`, the whole process.
Medians; the machine is shared and noisy, so the ratios are what to quote."""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PYTHON = "/usr/bin/python3"  # Debian's, with python3-dask


def mpirun(build, args, ranks=2, threads=1, program=None):
    """`rask run ARGS` (or `program ARGS`) under mpirun."""
    command = ["mpirun", "-n", str(ranks), "--oversubscribe", "--bind-to", "none"]
    if os.geteuid() == 0:
        command.append("--allow-run-as-root")
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    run = [program] if program else [os.path.join(build, "rask"), "run"]
    return subprocess.run(command + run + list(map(str, args)), env=env, check=True, capture_output=True, text=True)


def last_json(text):
    return json.loads(text.strip().splitlines()[-1])


def cartesian_seconds(stderr):
    return float(re.search(r"81 pairs in ([\d.]+) s", stderr).group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    build = os.path.abspath(args.build)
    tiny = os.path.join(HERE, "jobs_tiny.py")
    cartesian = os.path.join(ROOT, "jobs", "delayed_cartesian.py")
    tmp = tempfile.mkdtemp()

    print(f"1. {args.tasks:,} tiny tasks + tree sum")
    rask_runs = [last_json(mpirun(build, ["--no-learn", tiny, args.tasks]).stdout) for _ in range(args.runs)]
    rask_us = statistics.median(r["us_per_task"] for r in rask_runs)
    rask_compute = statistics.median(r["compute_s"] / r["tasks"] * 1e6 for r in rask_runs)
    rask_cpu = statistics.median(r["cpu_us_per_task"] for r in rask_runs)
    runs_text = ", ".join(f"{r['us_per_task']:.2f}" for r in rask_runs)
    dask_runs = [last_json(subprocess.run([PYTHON, tiny, str(args.tasks), "threads"], check=True, capture_output=True,
                                          text=True).stdout) for _ in range(2)]
    dask_us = statistics.median(r["us_per_task"] for r in dask_runs)
    dask_cpu = statistics.median(r["cpu_us_per_task"] for r in dask_runs)
    small = max(1000, args.tasks // 10)
    dist_runs = [last_json(subprocess.run([PYTHON, tiny, str(small), "distributed"], check=True, capture_output=True,
                                          text=True).stdout) for _ in range(2)]
    dist_us = statistics.median(r["us_per_task"] for r in dist_runs)
    print(f"   rask 2 ranks x 1 thread:        {rask_us:8.2f} us/task ({rask_compute:.2f} in compute), "
          f"{rask_runs[0]['tasks']:,} tasks, median of {args.runs} (runs {runs_text})")
    print(f"      CPU time of rank 0:           {rask_cpu:8.2f} us/task")
    print(f"   Dask threads, 2 workers:         {dask_us:8.2f} us/task   rask faster by {dask_us / rask_us:6.1f}x "
          f"(CPU {dask_cpu:.2f} us/task, {dask_cpu / rask_cpu:.1f}x rask's rank 0)")
    print(f"   dask.distributed 2 x 1 thread:   {dist_us:8.2f} us/task   rask faster by {dist_us / rask_us:6.1f}x "
          f"({dist_runs[0]['tasks']:,} tasks)")

    print("2. workshop cartesian (81 pairs x (20 + 30 ms)), 2 ranks x 1 thread; ideal = serial / 2 = 2.025 s")
    ideal = 81 * 0.050 / 2
    first, second, cpp, floor = [], [], [], []
    cpp_program = os.path.join(build, "jobs", "delayed_cartesian")
    for repeat in range(args.runs):
        costs = os.path.join(tmp, f"cartesian-{repeat}.rask-costs")
        first.append(cartesian_seconds(mpirun(build, ["--costs", costs, cartesian]).stderr))
        second.append(cartesian_seconds(mpirun(build, ["--costs", costs, cartesian]).stderr))
        floor.append(cartesian_seconds(mpirun(build, ["--no-learn", cartesian], ranks=1, threads=2).stderr))
        if os.path.exists(cpp_program):
            out = mpirun(build, [], program=cpp_program).stdout
            cpp.append(float(re.search(r"measured ([\d.]+) s", out).group(1)))
    dask_cart = [cartesian_seconds(subprocess.run([PYTHON, cartesian], check=True, capture_output=True,
                                                  text=True).stderr) for _ in range(2)]
    rows = [("rask, first run", first), ("rask, learned costs", second), ("rask C++ version", cpp),
            ("rask 1 rank x 2 threads", floor), ("Dask threads, 2", dask_cart)]
    for name, runs in (row for row in rows if row[1]):
        m = statistics.median(runs)
        print(f"   {name:24s} {m:.3f} s  (+{(m / ideal - 1) * 100:.1f} % over ideal; runs {', '.join(f'{r:.3f}' for r in runs)})")

    print("3. start-up: mpirun -n 2 rask run empty.py, whole process")
    empty = os.path.join(tmp, "empty.py")
    open(empty, "w").close()
    startup = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        mpirun(build, ["--quiet", "--no-learn", empty])
        startup.append(time.perf_counter() - t0)
    print(f"   {statistics.median(startup):.3f} s (median of {args.runs}; runs "
          f"{', '.join(f'{s:.3f}' for s in startup)})")


if __name__ == "__main__":
    sys.exit(main())
