"""The array benchmarks of bench/run_arrays.py rerun as job scripts (bench/job_arrays.py,
dask.array under `rask run`) next to the C++ programs (bench/bench_arrays.cpp) and Dask,
in one run on this machine: Python should add no cost per chunk, so the job scripts
should be within 10 % of the C++ figures.

  /usr/bin/python3 bench/run_job_arrays.py --build build [--repetitions 3] [--persist-n 10000] [--only sum]

The fourth case, (x + 1).sum() over 40,000 chunks of 20 x 20, has no Dask peer here
(Dask's per-task overhead is measured by bench/run_bench.py); it shows what a chunk
costs beyond its arithmetic in each.

Runs alternate C++ and job script, each its own process; every figure is the median of
the repetitions of all runs. The machine is shared, so read the ratios."""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"


def mpirun(ranks, threads, program):
    command = ["mpirun", "-n", str(ranks), "--oversubscribe", "--bind-to", "none"]
    if os.geteuid() == 0:
        command.append("--allow-run-as-root")
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = subprocess.run(command + program, env=env, check=True, capture_output=True, text=True).stdout
    return [dict(zip(l.split()[1::2], map(float, l.split()[2::2]))) for l in out.splitlines()
            if re.match(r"^\w+ seconds", l)]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--runs", type=int, default=2, help="processes of each kind, alternating")
    parser.add_argument("--persist-n", type=int, default=10000)
    parser.add_argument("--only", help="run only this case (std, svd, persist, sum)")
    args = parser.parse_args()
    build = os.path.abspath(args.build)
    cpp = [os.path.join(build, "bench", "bench_arrays")]
    job = [os.path.join(build, "rask"), "run", "--no-learn", os.path.join(HERE, "job_arrays.py")]
    reps = str(args.repetitions)
    cases = [
        ("std", "(x.dot(x.T + 1) - x.mean()).std(), x 4000 x 4000 in chunks of 500", ["std", "4000", "500", reps],
         ["std", "--repetitions", "2"]),
        ("svd", "s of svd(x), x 200,000 x 500 in chunks of (500, 500)", ["svd", "200000", "500", "500", reps],
         ["svd", "--rows", "200000", "--cols", "500", "--chunk", "500", "--repetitions", "1"]),
        ("persist", f"x.persist(), x {args.persist_n} x {args.persist_n} in chunks of 1000; (x + x.T).sum(axis=0)",
         ["persist", str(args.persist_n), "1000", reps],
         ["persist", "--n", str(args.persist_n), "--chunk", "1000", "--repetitions", "2"]),
        ("sum", "(x + 1).sum(), x random 4000 x 4000 in chunks of 20 (40,000 chunks)", ["sum", "4000", "20", reps],
         None),
    ]
    results = {}
    for name, title, program_args, dask_args in cases:
        if args.only and name != args.only:
            continue
        print(title, flush=True)
        dask = {"seconds": float("nan")}
        if dask_args:
            dask = json.loads(subprocess.run([PYTHON, os.path.join(HERE, "dask_arrays.py"), *dask_args], check=True,
                                             capture_output=True, text=True).stdout.strip().splitlines()[-1])
        results[name] = {"dask_seconds": dask["seconds"]}
        for ranks, threads in ((2, 1), (1, 2)):
            times = {"C++": [], "job script": []}
            for _ in range(args.runs):
                times["C++"] += [r["seconds"] for r in mpirun(ranks, threads, cpp + program_args)]
                times["job script"] += [r["seconds"] for r in mpirun(ranks, threads, job + program_args)]
            c, j = statistics.median(times["C++"]), statistics.median(times["job script"])
            results[name][f"{ranks}x{threads}"] = {"cpp_seconds": c, "job_seconds": j, "runs": times}
            peer = (f" | Dask threads {dask['seconds']:.3f} s (job script {dask['seconds'] / j:.1f}x faster)"
                    if dask_args else "")
            print(f"  {ranks} rank(s) x {threads} thread(s): C++ {c:.3f} s | job script {j:.3f} s "
                  f"({100 * (j / c - 1):+.1f} %){peer}", flush=True)
    with open(os.path.join(build, "bench_job_arrays.json"), "w") as f:
        json.dump(results, f, indent=1)
    print(f"(all figures in {os.path.join(build, 'bench_job_arrays.json')})")


if __name__ == "__main__":
    sys.exit(main())
