"""The frames benchmark rerun as a job script, side by side in one run:

  /usr/bin/python3 bench/bench_job_frames.py --build build     (part of `make bench`)

groupby(timestamp.dt.hour).close.mean() over the inputs of bench/bench_frames.py (1,000
per-day files; one ~447 MB CSV), timed in-process around each compute: the C++ program
(bench/bench_frame) against the same computation written with dask.dataframe and run by
`rask run` (bench/job_frames.py, same blocksize: 16 MiB, rask's C++ default), at 2 ranks
x 1 thread and 1 rank x 2 threads; Dask's threaded scheduler alongside. A job's compute
adds building the expression on rank 0, one broadcast of the graph's records and the
pandas result; it should stay within 10 % of the C++ figure. Medians of the repetitions
after a first, page-cache-warming one; the machine is shared, so rounds alternate C++ and
job runs and the ratio of medians is what to quote."""
import argparse
import os
import re
import statistics
import subprocess
import sys

from bench_frames import mpirun, peer, prepare_data

HERE = os.path.dirname(os.path.abspath(__file__))
BLOCKSIZE = 16 << 20


def job(build, pattern, ranks, threads, repetitions):
    command = ["mpirun", "-n", str(ranks), "--oversubscribe", "--bind-to", "none"]
    if os.geteuid() == 0:
        command.append("--allow-run-as-root")
    out = subprocess.run(command + [os.path.join(build, "rask"), "run", "--no-learn", os.path.join(HERE, "job_frames.py"),
                                    pattern, str(repetitions + 1), str(BLOCKSIZE)],
                         env=dict(os.environ, OMP_NUM_THREADS=str(threads)), check=True, capture_output=True,
                         text=True).stdout
    runs = [float(m.group(1)) for m in re.finditer(r" seconds ([\d.]+)", out)][1:]
    checksum = float(re.search(r"checksum ([\d.]+)", out).group(1))
    return runs, checksum


def cpp(build, pattern, ranks, threads, repetitions):
    out, _ = mpirun(build, [pattern, repetitions + 1, BLOCKSIZE], ranks, threads)
    runs = [float(m.group(1)) for m in re.finditer(r" seconds ([\d.]+)", out)][1:]
    checksum = float(re.search(r"checksum ([\d.]+)", out).group(1))
    return runs, checksum


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build")
    parser.add_argument("--data", default="/tmp/rask-bench-frames")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    build = os.path.abspath(args.build)
    files, big = prepare_data(build, args.data)
    inputs = [("1,000 per-day files", os.path.join(args.data, "minute", "*", "*.csv"),
               sum(os.path.getsize(f) for f in files)),
              (f"one {os.path.getsize(big) / 1e6:.0f} MB CSV", big, os.path.getsize(big))]
    for title, pattern, size in inputs:
        print(f"{title} ({size / 1e6:.1f} MB), groupby(timestamp.dt.hour).close.mean()", flush=True)
        dask_run = peer("dask", pattern, 1 if size > 1e8 else 2)
        print(f"  Dask, threads x 2: {dask_run['seconds']:.3f} s", flush=True)
        for ranks, threads in ((2, 1), (1, 2)):
            cpp_runs, job_runs, same = [], [], True
            for _ in range(args.rounds):  # alternated, so load changes hit both alike
                runs, checksum = cpp(build, pattern, ranks, threads, args.repetitions)
                cpp_runs += runs
                same &= abs(checksum - dask_run["checksum"]) < 1e-9 * abs(dask_run["checksum"])
                runs, checksum = job(build, pattern, ranks, threads, args.repetitions)
                job_runs += runs
                same &= abs(checksum - dask_run["checksum"]) < 1e-9 * abs(dask_run["checksum"])
            c, j = statistics.median(cpp_runs), statistics.median(job_runs)
            print(f"  {ranks} rank(s) x {threads} thread(s): C++ {c:.4f} s, job script {j:.4f} s "
                  f"(job / C++ = {j / c:.3f}; {'within' if j <= 1.1 * c else 'NOT within'} 10 %), "
                  f"Dask / job = {dask_run['seconds'] / j:.1f}x"
                  f"{'' if same else ' (RESULT DIFFERS FROM DASK)'}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
