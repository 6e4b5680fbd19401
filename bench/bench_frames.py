"""Dataframes, rask next to Dask in the same run, as a newcomer writes them:
read_csv(PATTERN, parse_dates=['timestamp']), then groupby(timestamp.dt.hour).close.mean(),
on minute bars whose prices carry every digit (as pandas' to_csv writes float64).

  /usr/bin/python3 bench/bench_frames.py --build build [--repeat 5] [--quick]
                   [--only files,big,blocksize,memory,pandas]

files:     1,000 per-day files (2 symbols x 500 days, rask-gen-minute --prices full).
big:       one ~447 MB CSV of the same rows (generated under --data, never committed).
pandas:    (only when named in --only, with big) the big file against pandas alone.
blocksize: the big file at 2 ranks x 1 thread with blocksize 1, 16 and 64 MiB and None,
           against Dask at its default.
memory:    the big file under a cgroup memory limit of a third of its size, at least 150 MB
           (root and cgroup v1 only; one run).
rask's C++ program (bench/bench_frame.cpp, C++ default blocksize) at 1x2 and 2x1, and the
job script (bench/job_frames.py, Dask's default blocksize) at 2x1; the peer is
bench/dask_frames.py with Dask's threaded scheduler (2 workers, default blocksize). Every
sample is one process computing once, as a newcomer's run: the compute's time in the
process, and the whole process's (start-up, reading, result, exit)."""
import glob
import os
import shutil
import subprocess
import sys
import time

import harness

BIG_BYTES = 447_000_000
MB = 1_000_000


def prepare_data(args):
    """The inputs, generated once under --data: per-day files and one big CSV of their
    rows. Returns (the files' pattern, their bytes, the big file)."""
    symbols, days, big_bytes = ("aig", 25, 20 * MB) if args.quick else ("aig,ibm", 500, BIG_BYTES)
    root = os.path.join(args.data, "quick" if args.quick else "full")
    minute = os.path.join(root, "minute")
    wanted = len(symbols.split(",")) * days
    if len(glob.glob(os.path.join(minute, "*", "*.csv"))) != wanted:
        shutil.rmtree(minute, ignore_errors=True)
        subprocess.run([os.path.join(args.build, "inputs", "rask-gen-minute"), "--out", minute, "--symbols", symbols,
                        "--start", "2010-01-04", "--days", str(days), "--seed", "7", "--prices", "full"], check=True,
                       capture_output=True)
    files = sorted(glob.glob(os.path.join(minute, "*", "*.csv")))
    big = os.path.join(root, "big.csv")
    if not os.path.exists(big) or os.path.getsize(big) < big_bytes - 1000:
        bodies = []
        for path in files:
            with open(path) as f:
                header = f.readline()
                bodies.append(f.read())
        body = "".join(bodies)
        with open(big + ".tmp", "w") as out:
            out.write(header)
            written = len(header)
            while written < big_bytes:
                end = len(body) if written + len(body) <= big_bytes else body.rfind("\n", 0, big_bytes - written) + 1
                chunk = body[:end]
                if not chunk:
                    break
                out.write(chunk)
                written += len(chunk)
        os.rename(big + ".tmp", big)
    return os.path.join(minute, "*", "*.csv"), sum(os.path.getsize(f) for f in files), big


def run_fields(text):
    """The compute line ("run 0 seconds S ... checksum C") and peak_rss_kb if printed."""
    rows = harness.fields(text)
    out = next(row for row in rows if "seconds" in row)
    out.update(next((row for row in rows if "peak_rss_kb" in row), {}))
    return out


def sides(args, pattern, cpp_layouts, job_layouts, blocksize=None):
    """Samplers, one process a sample: name -> function returning {seconds, whole, checksum, ...}."""
    program = [os.path.join(args.build, "bench", "bench_frame")]
    script = os.path.join(harness.HERE, "job_frames.py")
    samplers = {}
    for ranks, threads in cpp_layouts:
        def cpp(r=ranks, t=threads):
            extra = [] if blocksize is None else [blocksize]
            out, _, whole = harness.mpirun(program, [pattern, 1] + extra, r, t)
            return dict(run_fields(out), whole=whole)
        samplers[f"{ranks}x{threads} C++"] = cpp
    for ranks, threads in job_layouts:
        def job(r=ranks, t=threads):
            extra = [] if blocksize is None else [1, blocksize or "none"]
            out, _, whole = harness.rask_run(args.build, script, [pattern] + extra, r, t)
            return dict(run_fields(out), whole=whole)
        samplers[f"{ranks}x{threads} job script"] = job
    return samplers


def peer(engine, pattern):
    def sample():
        out, _, whole = harness.python([os.path.join(harness.HERE, "dask_frames.py"), engine, pattern])
        result = harness.last_json(out)
        return {"seconds": result["runs"][0], "whole": whole, "checksum": result["checksum"]}
    return sample


def same_answer(rows, dask_rows):
    want = dask_rows[0]["checksum"]
    return all(abs(row["checksum"] - want) <= 1e-9 * abs(want) for row in rows)


def report(bench, case, runs, size):
    dask = runs["dask"]
    rate = lambda rows: [size / MB / row["seconds"] for row in rows]  # noqa: E731
    for layout, rows in runs.items():
        if layout in ("dask", "pandas"):
            continue
        note = "" if same_answer(rows, dask) else "RESULT DIFFERS FROM DASK; "
        if "peak_rss_kb" in rows[0]:
            note += f"peak RSS of the largest rank {max(r['peak_rss_kb'] for r in rows) / 1024:.0f} MB"
        bench.figure(f"{case}, in-process", layout, rate(rows), "MB/s", rate(dask), "Dask threads",
                     higher_is_better=True, note=note.rstrip("; "), summary=layout.startswith("2x1"))
        bench.figure(f"{case}, whole process", layout, [row["whole"] for row in rows], "s",
                     [row["whole"] for row in dask], "Dask threads, whole process", summary=layout == "2x1 C++")
    if "pandas" in runs:
        bench.figure(f"{case}, in-process", "2x1 C++", rate(runs["2x1 C++"]), "MB/s", rate(runs["pandas"]),
                     "pandas alone", higher_is_better=True)


def files_case(bench, args, pattern, size, count):
    case = f"{count:,} per-day CSV files ({size / MB:.0f} MB), hourly mean close"
    bench.section(case)
    samplers = sides(args, pattern, ((1, 2), (2, 1)), ((2, 1),))
    samplers["dask"] = peer("dask", pattern)
    report(bench, case, harness.alternate(samplers, args.repeat), size)


def big_case(bench, args, big):
    size = os.path.getsize(big)
    case = f"one {size / MB:.0f} MB CSV, hourly mean close"
    bench.section(case)
    samplers = sides(args, big, ((1, 2), (2, 1)), ((2, 1),))
    samplers["dask"] = peer("dask", big)
    if bench.wants("pandas", default=False):
        samplers["pandas"] = peer("pandas", big)
    report(bench, case, harness.alternate(samplers, args.repeat), size)


def blocksize_case(bench, args, big):
    size = os.path.getsize(big)
    bench.section(f"one {size / MB:.0f} MB CSV by blocksize, 2 ranks x 1 thread, in-process MB/s")
    samplers = {"dask": peer("dask", big)}
    for blocksize in (1 << 20, 16 << 20, 64 << 20, 0):
        for name, sampler in sides(args, big, ((2, 1),), ((2, 1),), blocksize).items():
            samplers[f"{name}, blocksize {f'{blocksize >> 20} MiB' if blocksize else 'None'}"] = sampler
    runs = harness.alternate(samplers, args.repeat)
    dask_rows = runs.pop("dask")
    dask = [size / MB / row["seconds"] for row in dask_rows]
    for layout, rows in runs.items():
        bench.figure(f"one {size / MB:.0f} MB CSV, in-process", layout, [size / MB / row["seconds"] for row in rows],
                     "MB/s", dask, "Dask threads, default blocksize", higher_is_better=True, summary=False,
                     note="" if same_answer(rows, dask_rows) else "RESULT DIFFERS FROM DASK")


def memory_case(bench, args, big):
    """Under a cgroup-v1 memory limit of a third of the file (root only). The file is first
    dropped from the page cache, so its pages are read again and charged to the job: page
    cache included, the job may hold at most a third of the file."""
    root = "/sys/fs/cgroup/memory"
    if os.geteuid() != 0 or not os.path.isdir(root):
        print("  memory-limit run skipped (needs root and the cgroup-v1 memory controller)", flush=True)
        return
    size = os.path.getsize(big)
    limit = max(size // 3, 150 * MB)  # rask's own processes need about 100 MB (--quick's file is small)
    bench.section(f"one {size / MB:.0f} MB CSV under a memory limit of {limit / MB:.0f} MB (page cache included)")
    group = os.path.join(root, f"rask-bench-{os.getpid()}")
    os.mkdir(group)
    try:
        with open(os.path.join(group, "memory.limit_in_bytes"), "w") as f:
            f.write(str(limit))
        fd = os.open(big, os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
        command = harness.mpirun_prefix(2) + [os.path.join(args.build, "bench", "bench_frame"), big, "1"]
        try:
            out, _, seconds = harness.run(["sh", "-c", f'echo $$ > {group}/cgroup.procs && exec "$@"', "sh",
                                           *command], env=dict(os.environ, OMP_NUM_THREADS="1"))
            outcome = "completed" if "checksum" in out else "FAILED: no result"
        except RuntimeError as error:
            seconds, outcome = float("nan"), f"FAILED: {str(error)[-200:]}"
        with open(os.path.join(group, "memory.max_usage_in_bytes")) as f:
            peak = int(f.read())
        with open(os.path.join(group, "memory.failcnt")) as f:
            failcnt = int(f.read())
    finally:
        for attempt in range(20):  # the cgroup stays busy while its last pages are uncharged
            try:
                os.rmdir(group)
                break
            except OSError as error:
                if attempt == 19:
                    print(f"  (could not remove {group}: {error})", flush=True)
                time.sleep(0.5)
    bench.figure(f"one {size / MB:.0f} MB CSV under a {limit / MB:.0f} MB memory limit, whole process", "2x1 C++",
                 [seconds], "s", note=f"{outcome}; cgroup peak {peak / MB:.0f} MB, {failcnt} times at the limit",
                 summary=False)


def main():
    parser = harness.arguments(__doc__)
    parser.add_argument("--data", default="/tmp/rask-bench-frames", help="where the generated inputs are kept")
    args = harness.parse(parser)
    bench = harness.Bench("frames", args, "dataframes: C++ and job scripts against dask.dataframe")
    pattern, size, big = prepare_data(args)
    if bench.wants("files"):
        files_case(bench, args, pattern, size, len(glob.glob(pattern)))
    if bench.wants("big"):
        big_case(bench, args, big)
    if bench.wants("blocksize"):
        blocksize_case(bench, args, big)
    if bench.wants("memory"):
        memory_case(bench, args, big)
    bench.finish()


if __name__ == "__main__":
    sys.exit(main())
