"""Side-by-side runs: rask and Dask on the same graphs on this machine, in one run.

  make bench            (or: /usr/bin/python3 bench/run_bench.py --build build)

1. Per-task overhead: 100,000 `inc` tasks and a fan-in-8 tree sum (114,289 tasks),
   built and computed; rask at 1 rank x 1 thread, 1 x 2 and 2 ranks x 1 thread against
   Dask's threaded scheduler (1 and 2 workers) and dask.distributed (2 local workers,
   1 thread each, on a smaller graph since it needs milliseconds per task).
2. The workshop's cartesian exercise (2.1) at 2 ranks against its ideal time, and Dask's.
3. A 300 MB value moving between 2 ranks against MPI_Send of the same bytes (the peer
   here is MPI itself), and the peak memory of each rank.
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


def rask_transfer(build, megabytes, repetitions):
    out = mpirun(build, "bench/bench_transfer", [megabytes, repetitions], 2, 1)
    rows = [dict(zip(line.split()[::2], map(float, line.split()[1::2]))) for line in out.splitlines()
            if line.startswith("bytes")]
    peak = next(line for line in out.splitlines() if line.startswith("peak_rss_mb")).split()[1:]
    result = {key: statistics.median(r[key] for r in rows) for key in ("move_s", "mpi_warm_s", "mpi_new_vector_s")}
    return {"bytes": rows[0]["bytes"], **result, "runs": rows, "peak_rss_mb": [float(p) for p in peak]}


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
    cartesian = {"rask": mine, "dask": theirs}

    print("one 300 MB std::vector<double> from rank 1 to rank 0, against MPI_Send of the same bytes", flush=True)
    transfer = rask_transfer(build, 300, args.repetitions)
    gb = transfer["bytes"] / 1e9
    print(f"  rask move {transfer['move_s']:.3f} s ({gb / transfer['move_s']:.2f} GB/s) | MPI_Send into a warm buffer "
          f"{transfer['mpi_warm_s']:.3f} s ({gb / transfer['mpi_warm_s']:.2f} GB/s), into a new vector "
          f"{transfer['mpi_new_vector_s']:.3f} s ({gb / transfer['mpi_new_vector_s']:.2f} GB/s) | rask at "
          f"{100 * transfer['mpi_warm_s'] / transfer['move_s']:.0f} % / "
          f"{100 * transfer['mpi_new_vector_s'] / transfer['move_s']:.0f} % of MPI's rate; peak RSS per rank "
          f"{transfer['peak_rss_mb'][0]:.0f} / {transfer['peak_rss_mb'][1]:.0f} MB", flush=True)
    with open(os.path.join(build, "bench_results.json"), "w") as f:
        json.dump({"overhead": rows, "cartesian": cartesian, "transfer": transfer}, f, indent=1)
    print(f"(all figures in {os.path.join(build, 'bench_results.json')})")


if __name__ == "__main__":
    sys.exit(main())
