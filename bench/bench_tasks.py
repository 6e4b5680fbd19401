"""Per-task overhead and start-up, rask next to Dask in the same run.

  /usr/bin/python3 bench/bench_tasks.py --build build [--repeat 5] [--quick] [--only overhead,startup]

overhead: a map of `inc` over 100,000 integers, then a tree sum with fan-in 8 (114,286
    tasks), built and computed, no hints. rask's C++ program (bench/bench_overhead.cpp;
    each sample is one process's compute after a first, warming one) at 1x1, 1x2 and
    2x1, and the same as a job script (bench/job_tiny.py, one process each) at 2x1;
    the peer is the same job script under Dask's threaded scheduler (2 workers), and
    under dask.distributed (2 local workers x 1 thread) on a fiftieth of the tasks,
    since it needs about a millisecond a task.
startup: `mpirun -n 2 rask run empty.py`, the whole process; the peer is what a Dask user
    waits for before two worker processes can take a task (a LocalCluster of 2)."""
import os
import sys
import tempfile

import harness

DASK_STARTUP = ("from dask.distributed import Client, LocalCluster\n"
                "with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as c, Client(c):\n"
                "    pass\n")


def overhead(bench, args):
    n = 10_000 if args.quick else args.tasks
    small = max(1000, n // 50)
    tiny = os.path.join(harness.HERE, "job_tiny.py")
    bench.section(f"per-task overhead: map of inc over {n:,} + tree sum (fan-in 8), µs per task, build + compute")
    program = [os.path.join(args.build, "bench", "bench_overhead")]

    def cpp(ranks, threads):
        def sample():
            out = harness.mpirun(program, [n, args.repeat + 1], ranks, threads)[0]
            return [row["us_per_task"] for row in harness.fields(out) if "us_per_task" in row][1:]
        return sample

    def job():
        return harness.last_json(harness.rask_run(args.build, tiny, [n])[0])["us_per_task"]

    def dask(scheduler, tasks):
        return lambda: harness.last_json(harness.python([tiny, tasks, scheduler])[0])["us_per_task"]

    runs = harness.alternate({"job": job, "dask": dask("threads", n)}, args.repeat)
    runs.update({f"{r}x{t}": cpp(r, t)() for r, t in ((1, 1), (1, 2), (2, 1))})
    distributed = harness.repeat(dask("distributed", small), args.repeat)
    case = f"{n:,} tiny tasks + tree sum"
    for layout in ("1x1", "1x2", "2x1"):
        bench.figure(case, f"{layout} C++", runs[layout], "µs/task", runs["dask"], summary=layout == "2x1")
    bench.figure(case, "2x1 job script", runs["job"], "µs/task", runs["dask"])
    bench.figure(case, "2x1 job script", runs["job"], "µs/task", distributed,
                 peer_name=f"dask.distributed 2x1, map of {small:,}")


def startup(bench, args):
    bench.section("start-up: an empty job at 2 ranks x 1 thread, whole process")
    with tempfile.TemporaryDirectory() as tmp:
        empty = os.path.join(tmp, "empty.py")
        open(empty, "w").close()
        runs = harness.alternate({"rask": lambda: harness.rask_run(args.build, empty)[2],
                                  "dask": lambda: harness.python(["-c", DASK_STARTUP])[2]}, args.repeat)
    bench.figure("start-up of an empty job", "2x1 job script", runs["rask"], "s", runs["dask"],
                 peer_name="Dask LocalCluster of 2")


def main():
    parser = harness.arguments(__doc__)
    parser.add_argument("--tasks", type=int, default=100_000)
    args = harness.parse(parser)
    bench = harness.Bench("tasks", args, "per-task overhead and start-up")
    for name, case in (("overhead", overhead), ("startup", startup)):
        if bench.wants(name):
            case(bench, args)
    bench.finish()


if __name__ == "__main__":
    sys.exit(main())
