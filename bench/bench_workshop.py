"""The whole workshop notebook (jobs/workshop.py) as one job, whole process, side by side:

  /usr/bin/python3 bench/bench_workshop.py --build build     (part of `make bench`)

rask at 2 ranks x 1 thread (`mpirun -n 2 rask run jobs/workshop.py`) against the same
file under Dask's threaded scheduler (`/usr/bin/python3 jobs/workshop.py`, 2 workers),
each timed from process start to exit, alternating, --runs times; medians and their
ratio. Sizes are workshop.py's defaults (svd of random 200,000 x 500 in (500, 500)
chunks, svd(x.dot(x.T)) of a 1,000 x 1,000 product, which Dask refuses at once, a month
of minute bars). The machine is shared and noisy: quote the ratio."""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PYTHON = "/usr/bin/python3"  # Debian's, with python3-dask


def timed(command, env=None, cwd=None):
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, text=True, env=env, cwd=cwd)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    build = os.path.abspath(args.build)
    script = os.path.join(ROOT, "jobs", "workshop.py")
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "minute")
        subprocess.run([os.path.join(build, "inputs", "rask-gen-minute"), "--out", data, "--symbols", "aig",
                        "--start", "2010-01-04", "--days", "20", "--seed", "7"], check=True, capture_output=True)
        common = ["--data", data, "--rows", str(args.rows)]
        mpirun = ["mpirun", "-n", "2", "--bind-to", "none"] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])
        rask_env = dict(os.environ, OMP_NUM_THREADS="1")
        rask_times, dask_times = [], []
        for run in range(args.runs):
            rask_times.append(timed(mpirun + [os.path.join(build, "rask"), "run", "--costs",
                                              os.path.join(tmp, "workshop.rask-costs"), script, *common, "--out",
                                              os.path.join(tmp, "rask.h5")], env=rask_env, cwd=tmp))
            dask_times.append(timed([PYTHON, script, *common, "--out", os.path.join(tmp, "dask.h5")], cwd=tmp))
            print(f"run {run + 1}: rask {rask_times[-1]:.2f} s, Dask {dask_times[-1]:.2f} s", flush=True)
    r, d = statistics.median(rask_times), statistics.median(dask_times)
    print(f"workshop.py whole process, {args.rows} x 500 svd: rask 2 ranks x 1 thread {r:.2f} s, "
          f"Dask threads {d:.2f} s: {d / r:.1f}x (target >= 10x)")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    sys.exit(main())
