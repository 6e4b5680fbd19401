"""The whole workshop notebook (jobs/workshop.py) as one job, whole process, rask next to
Dask in the same run.

  /usr/bin/python3 bench/bench_workshop.py --build build [--repeat 5] [--quick] [--rows 200000]

rask at 2 ranks x 1 thread (`mpirun -n 2 rask run jobs/workshop.py`, a first run: no cost
file) against the same file under Dask's threaded scheduler (`/usr/bin/python3
jobs/workshop.py`, 2 workers), each timed from process start to exit, alternating. Sizes
are workshop.py's defaults (svd of random 200,000 x 500 in (500, 500) chunks, svd of a
1,000 x 1,000 Gram product, which Dask refuses at once), on a month of minute bars with
full-precision prices."""
import os
import sys
import tempfile

import harness


def main():
    parser = harness.arguments(__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    args = harness.parse(parser)
    rows = 20_000 if args.quick else args.rows
    bench = harness.Bench("workshop", args, "the workshop notebook as one job, whole process")
    script = os.path.join(harness.ROOT, "jobs", "workshop.py")
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "minute")
        harness.run([os.path.join(args.build, "inputs", "rask-gen-minute"), "--out", data, "--symbols", "aig",
                     "--start", "2010-01-04", "--days", "20", "--seed", "7", "--prices", "full"])
        common = ["--data", data, "--rows", rows]
        case = f"jobs/workshop.py, the whole notebook (svd of {rows:,} x 500), whole process"
        bench.section(case)
        runs = harness.alternate(
            {"rask": lambda: harness.rask_run(args.build, script, common + ["--out", os.path.join(tmp, "rask.h5")],
                                              cwd=tmp)[2],
             "dask": lambda: harness.python([script, *common, "--out", os.path.join(tmp, "dask.h5")], cwd=tmp)[2]},
            args.repeat)
    bench.figure(case, "2x1 job script", runs["rask"], "s", runs["dask"])
    bench.finish()


if __name__ == "__main__":
    sys.exit(main())
