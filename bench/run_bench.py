"""Side-by-side runs: rask and Dask on the same graphs on this machine, in one run.

  make bench            (or: /usr/bin/python3 bench/run_bench.py --build build)

1. Per-task overhead: 100,000 `inc` tasks and a fan-in-8 tree sum (114,289 tasks),
   built and computed; rask at 1 rank x 1 thread, 1 x 2 and 2 ranks x 1 thread against
   Dask's threaded scheduler (1 and 2 workers) and dask.distributed (2 local workers,
   1 thread each, on a smaller graph since it needs milliseconds per task).
2. The workshop's cartesian exercise (2.1) at 2 ranks against its ideal time, and Dask's.
Medians of several runs; the ratios are what to quote, since this machine is noisy."""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"  # Debian's, with python3-dask


def mpirun(build, program, args, ranks, threads):
    command = ["mpirun", "-n", str(ranks), "--oversubscribe", "--bind-to", "none"]
    if os.geteuid() == 0:
        command.append("--allow-run-as-root")
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = subprocess.run(command + [os.path.join(build, program), *map(str, args)], env=env, check=True,
                         capture_output=True, text=True).stdout
    return out


def dask_peer(*args):
    out = subprocess.run([PYTHON, os.path.join(HERE, "dask_peer.py"), *map(str, args)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def rask_overhead(build, n, repetitions, ranks, threads):
    out = mpirun(build, "bench/bench_overhead", [n, repetitions + 1], ranks, threads)
    rows = [dict(zip(line.split()[::2], line.split()[1::2])) for line in out.splitlines() if line.startswith("tasks")]
    rows = rows[1:]  # the first run warms caches and the allocator
    return {"tasks": int(rows[0]["tasks"]),
            "us_per_task": statistics.median(float(r["us_per_task"]) for r in rows),
            "run_us_per_task": statistics.median(float(r["run_us_per_task"]) for r in rows),
            "messages": int(rows[0]["messages"])}


def rask_cartesian(build, runs):
    measured, ideal = [], None
    for _ in range(runs):
        out = mpirun(build, "jobs/delayed_cartesian", [], 2, 1)
        m = re.search(r"time: serial ([\d.]+) s, ideal ([\d.]+) s on 2 workers, planned ([\d.]+) s, measured ([\d.]+) s",
                      out)
        ideal = float(m.group(2))
        measured.append(float(m.group(4)))
    return {"ideal": ideal, "measured": statistics.median(measured), "runs": measured}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build")
    parser.add_argument("--n", type=int, default=100000)
    parser.add_argument("--distributed-n", type=int, default=10000)
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--dask-repetitions", type=int, default=2)
    args = parser.parse_args()
    build = os.path.abspath(args.build)

    print(f"per-task overhead: map of inc over {args.n:,} + tree sum, fan-in 8", flush=True)
    rows = []
    for ranks, threads, peer, peer_args in (
            (1, 1, "Dask threads, 1 worker", ("threads", "--n", args.n, "--workers", 1)),
            (1, 2, "Dask threads, 2 workers", ("threads", "--n", args.n, "--workers", 2)),
            (2, 1, "dask.distributed, 2 workers x 1 thread",
             ("distributed", "--n", args.distributed_n, "--workers", 2))):
        mine = rask_overhead(build, args.n, args.repetitions, ranks, threads)
        theirs = dask_peer(*peer_args, "--repetitions", args.dask_repetitions)
        dask_us = 1e6 * theirs["seconds"] / theirs["tasks"]
        dask_compute_us = 1e6 * theirs["compute_seconds"] / theirs["tasks"]
        rows.append({"rask": f"{ranks} rank x {threads} thread", **mine, "peer": peer, "peer_tasks": theirs["tasks"],
                     "peer_us_per_task": dask_us, "peer_compute_us_per_task": dask_compute_us,
                     "ratio": dask_us / mine["us_per_task"]})
        r = rows[-1]
        print(f"  rask {r['rask']:<18} {r['us_per_task']:7.3f} us/task ({r['run_us_per_task']:.3f} running, "
              f"{r['messages']} messages) | {peer:<40} {dask_us:9.1f} us/task ({dask_compute_us:.1f} computing; "
              f"{theirs['tasks']:,} tasks) | rask {r['ratio']:,.0f}x faster", flush=True)

    print("cartesian exercise 2.1 (81 distinct pairs x (20 ms + 30 ms)), 2 workers", flush=True)
    mine = rask_cartesian(build, 3)
    theirs = dask_peer("cartesian", "--workers", 2)
    over = 100 * (mine["measured"] / mine["ideal"] - 1)
    print(f"  rask 2 ranks x 1 thread: {mine['measured']:.3f} s, ideal {mine['ideal']:.3f} s ({over:+.2f} %) | "
          f"Dask threads, 2 workers: {theirs['seconds']:.3f} s ({100 * (theirs['seconds'] / theirs['ideal'] - 1):+.2f} %)")
    with open(os.path.join(build, "bench_results.json"), "w") as f:
        json.dump({"overhead": rows, "cartesian": {"rask": mine, "dask": theirs}}, f, indent=1)
    print(f"(all figures in {os.path.join(build, 'bench_results.json')})")


if __name__ == "__main__":
    sys.exit(main())
