"""The workshop's exercises 2.1 and 2.2 as a newcomer writes them, rask next to Dask in
the same run: no cost hints, no owners, impure calls, a first run (no cost file yet).

  /usr/bin/python3 bench/bench_exercises.py --build build [--repeat 5] [--quick]
                   [--only cartesian,inc_add] [--ranks 2,3,4] [--scale 1]

cartesian: f(a, b) (20 ms) and g(a, b) (30 ms) over the 50 x 25 pairs, then one
    collect(cells): 2,500 calls, ideal 31.25 s on 2 workers.
inc_add: inc(1), inc(2) (1 s each) and add (1 s): ideal 2 s on 2 workers.
Each in C++ (bench/bench_exercises.cpp) and as a job script (bench/job_exercises.py)
at RANKS x 1 thread, one process a sample; the peer is the same job script under Dask's
threaded scheduler (2 workers). Each figure also says how far it is over the ideal."""
import os
import statistics
import sys

import harness


def exercise(bench, args, mode, title):
    scale = 0.1 if args.quick else args.scale
    bench.section(f"{title}, sleeps x {scale:g}")
    script = os.path.join(harness.HERE, "job_exercises.py")
    program = [os.path.join(args.build, "bench", "bench_exercises"), mode, scale]
    samplers = {}
    for ranks in args.ranks:
        samplers[f"C++ {ranks}"] = lambda r=ranks: next(
            row for row in harness.fields(harness.mpirun(program, (), r, 1)[0]) if "ideal" in row)
        samplers[f"job {ranks}"] = lambda r=ranks: harness.last_json(
            harness.rask_run(args.build, script, [mode, scale], r, 1)[0])
    samplers["dask"] = lambda: harness.last_json(harness.python([script, mode, scale])[0])
    runs = harness.alternate(samplers, args.repeat)
    dask = [r["seconds"] for r in runs["dask"]]
    dask_over = 100 * (statistics.median(dask) / runs["dask"][0]["ideal"] - 1)
    for ranks in args.ranks:
        for side, name in (("C++", "C++"), ("job", "job script")):
            samples = runs[f"{side} {ranks}"]
            seconds = [r["seconds"] for r in samples]
            ideal = samples[0]["ideal"]
            over = 100 * (statistics.median(seconds) / ideal - 1)
            bench.figure(title, f"{ranks}x1 {name}", seconds, "s", dask,
                         note=f"{over:+.1f} % over the ideal {ideal:.3g} s; Dask {dask_over:+.1f} % on 2",
                         summary=ranks == 2)


def main():
    parser = harness.arguments(__doc__, quick_help="sleeps x 0.1, one repetition: checks that the driver works")
    parser.add_argument("--ranks", default="2", help="comma-separated rank counts (1 thread each); default 2")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every sleep (default 1)")
    args = harness.parse(parser)
    args.ranks = [int(r) for r in args.ranks.split(",")]
    bench = harness.Bench("exercises", args, "workshop exercises 2.1 and 2.2 as a newcomer writes them")
    if bench.wants("inc_add"):
        exercise(bench, args, "inc_add", "exercise 2.2: inc(1), inc(2), add (1 s each)")
    if bench.wants("cartesian"):
        exercise(bench, args, "cartesian", "exercise 2.1: f and g over 50 x 25 pairs, impure, then collect")
    bench.finish()


if __name__ == "__main__":
    sys.exit(main())
