"""Dataframes side by side with Dask on this machine, in one run:

  /usr/bin/python3 bench/bench_frames.py --build build      (part of `make bench`)

groupby(timestamp.dt.hour).close.mean() over
1. 1,000 per-day files (2 symbols x 500 days, rask-gen-minute): rask in-process at
   1 rank x 1 thread, 1 x 2 and 2 ranks x 1 thread, against Dask's threaded scheduler;
2. one ~447 MB CSV of the same rows (repeated; generated under /tmp, never committed):
   rask at 1 x 2 and 2 x 1 (MB/s, MB/s per core, whole-process time under mpirun, peak
   resident memory of the largest rank) against Dask (2 workers) and pandas alone;
3. the same over that file under a cgroup memory limit of a third of its size (root only).
Medians; the machine is shared and noisy, so the ratios are what to quote, and MB per
CPU second (bytes over the CPU time all ranks' threads used) says what one core does
when other jobs hold the cores."""
import argparse
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"
BIG_BYTES = 447_000_000


def mpirun(build, args, ranks, threads):
    command = ["mpirun", "-n", str(ranks), "--oversubscribe", "--bind-to", "none"]
    if os.geteuid() == 0:
        command.append("--allow-run-as-root")
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    start = time.perf_counter()
    out = subprocess.run(command + [os.path.join(build, "bench", "bench_frame"), *map(str, args)], env=env, check=True,
                         capture_output=True, text=True).stdout
    return out, time.perf_counter() - start


def rask(build, pattern, ranks, threads, repetitions):
    out, _ = mpirun(build, [pattern, repetitions + 1], ranks, threads)
    runs = [float(m.group(1)) for m in re.finditer(r" seconds ([\d.]+)", out)][1:]  # the first warms the page cache
    cpu = [float(m.group(1)) for m in re.finditer(r"cpu_seconds ([\d.]+)", out)][1:]
    checksum = float(re.search(r"checksum ([\d.]+)", out).group(1))
    # Whole process, one computation: start-up, MPI, reading, parsing, result, exit.
    whole = statistics.median(mpirun(build, [pattern, 1], ranks, threads)[1] for _ in range(3))
    rss_kb = int(re.search(r"peak_rss_kb (\d+)", out).group(1))
    return {"seconds": statistics.median(runs), "runs": runs, "cpu_seconds": statistics.median(cpu), "whole_process": whole, "peak_rss_mb": rss_kb / 1024,
            "checksum": checksum}


def peer(engine, pattern, repetitions, workers=2):
    out = subprocess.run([PYTHON, os.path.join(HERE, "dask_frames.py"), engine, pattern, "--repetitions",
                          str(repetitions), "--workers", str(workers)], check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def memory_limited(build, big, big_bytes, want_checksum):
    """The aggregation under a cgroup-v1 memory limit of a third of the file (root only).
    The file is first dropped from the page cache, so its pages are read again and charged
    to the job: page cache included, the job may hold at most a third of the file."""
    root = "/sys/fs/cgroup/memory"
    if os.geteuid() != 0 or not os.path.isdir(root):
        print("memory-limit run skipped (needs root and the cgroup-v1 memory controller)")
        return None
    limit = big_bytes // 3
    group = os.path.join(root, f"rask-bench-{os.getpid()}")
    os.mkdir(group)
    try:
        with open(os.path.join(group, "memory.limit_in_bytes"), "w") as f:
            f.write(str(limit))
        fd = os.open(big, os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
        command = ["mpirun", "-n", "2", "--oversubscribe", "--bind-to", "none", "--allow-run-as-root",
                   os.path.join(build, "bench", "bench_frame"), big, "1"]
        env = dict(os.environ, OMP_NUM_THREADS="1")
        start = time.perf_counter()
        r = subprocess.run(["sh", "-c", f'echo $$ > {group}/cgroup.procs && exec "$@"', "sh", *command], env=env,
                           capture_output=True, text=True)
        seconds = time.perf_counter() - start
        with open(os.path.join(group, "memory.max_usage_in_bytes")) as f:
            peak = int(f.read())
        with open(os.path.join(group, "memory.failcnt")) as f:
            failcnt = int(f.read())
    finally:
        os.rmdir(group)
    m = re.search(r"checksum ([\d.]+)", r.stdout)
    ok = r.returncode == 0 and m is not None and abs(float(m.group(1)) - want_checksum) < 1e-9 * abs(want_checksum)
    print(f"  under a memory limit of {limit / 1e6:.0f} MB (a third of the file; page cache included), 2 ranks x 1 "
          f"thread: {'completed, same answer as Dask' if ok else 'FAILED: ' + r.stderr[-300:]} in {seconds:.2f} s, "
          f"cgroup peak {peak / 1e6:.0f} MB, {failcnt} times at the limit (pages reclaimed)")
    return {"limit_bytes": limit, "ok": ok, "seconds": seconds, "peak_bytes": peak, "failcnt": failcnt}


def prepare_data(build, data):
    """The inputs, generated once under `data`: 1,000 per-day files (2 symbols x 500
    days) and one ~447 MB CSV of their rows. Returns (the files, the big file)."""
    minute = os.path.join(data, "minute")
    if len(glob.glob(os.path.join(minute, "*", "*.csv"))) != 1000:
        shutil.rmtree(minute, ignore_errors=True)
        subprocess.run([os.path.join(build, "inputs", "rask-gen-minute"), "--out", minute, "--symbols", "aig,ibm",
                        "--start", "2010-01-04", "--days", "500", "--seed", "7"], check=True, capture_output=True)
    files = sorted(glob.glob(os.path.join(minute, "*", "*.csv")))
    big = os.path.join(data, "big.csv")
    if not os.path.exists(big) or os.path.getsize(big) < BIG_BYTES - 1000:
        bodies = []
        for f in files:
            with open(f) as fh:
                header = fh.readline()
                bodies.append(fh.read())
        body = "".join(bodies)
        with open(big + ".tmp", "w") as out:
            out.write(header)
            written = len(header)
            while written < BIG_BYTES:
                chunk = body if written + len(body) <= BIG_BYTES else body[:body.rfind("\n", 0, BIG_BYTES - written) + 1]
                if not chunk:
                    break
                out.write(chunk)
                written += len(chunk)
        os.rename(big + ".tmp", big)
    return files, big


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build")
    parser.add_argument("--data", default="/tmp/rask-bench-frames")
    parser.add_argument("--repetitions", type=int, default=5)
    args = parser.parse_args()
    build = os.path.abspath(args.build)
    files, big = prepare_data(build, args.data)
    small_bytes = sum(os.path.getsize(f) for f in files)
    minute = os.path.join(args.data, "minute")
    big_bytes = os.path.getsize(big)
    results = {"small": {}, "big": {}}

    pattern = os.path.join(minute, "*", "*.csv")
    print(f"1,000 per-day files ({small_bytes / 1e6:.1f} MB), groupby(timestamp.dt.hour).close.mean()", flush=True)
    dask_small = peer("dask", pattern, 2)
    results["small"]["dask"] = dask_small
    print(f"  Dask, threads x 2: {dask_small['seconds']:.3f} s ({small_bytes / 1e6 / dask_small['seconds']:.1f} MB/s)")
    for ranks, threads in ((1, 1), (1, 2), (2, 1)):
        r = rask(build, pattern, ranks, threads, args.repetitions)
        ok = abs(r["checksum"] - dask_small["checksum"]) < 1e-9 * abs(dask_small["checksum"])
        results["small"][f"rask {ranks}x{threads}"] = r
        print(f"  rask {ranks} rank x {threads} thread: {r['seconds']:.4f} s in-process "
              f"({small_bytes / 1e6 / r['seconds']:.0f} MB/s), whole process {r['whole_process']:.2f} s, "
              f"peak RSS {r['peak_rss_mb']:.0f} MB | Dask / rask = {dask_small['seconds'] / r['seconds']:.0f}x"
              f"{'' if ok else ' (RESULT DIFFERS FROM DASK)'}", flush=True)

    print(f"one {big_bytes / 1e6:.0f} MB CSV of the same rows", flush=True)
    pandas_big = peer("pandas", big, 1)
    dask_big = peer("dask", big, 1)
    results["big"]["pandas"] = pandas_big
    results["big"]["dask"] = dask_big
    print(f"  pandas alone (1 core): {pandas_big['seconds']:.2f} s ({big_bytes / 1e6 / pandas_big['seconds']:.0f} MB/s)")
    print(f"  Dask, threads x 2:     {dask_big['seconds']:.2f} s ({big_bytes / 1e6 / dask_big['seconds']:.0f} MB/s)")
    for ranks, threads in ((1, 1), (1, 2), (2, 1)):
        r = rask(build, big, ranks, threads, args.repetitions)
        ok = abs(r["checksum"] - dask_big["checksum"]) < 1e-9 * abs(dask_big["checksum"])
        results["big"][f"rask {ranks}x{threads}"] = r
        rate = big_bytes / 1e6 / r["seconds"]
        print(f"  rask {ranks} rank x {threads} thread: {r['seconds']:.3f} s in-process ({rate:.0f} MB/s, "
              f"{rate / (ranks * threads):.0f} MB/s per core; {big_bytes / 1e6 / r['cpu_seconds']:.0f} MB per CPU "
              f"second), whole process {r['whole_process']:.2f} s, peak RSS "
              f"{r['peak_rss_mb']:.0f} MB ({r['peak_rss_mb'] * 1.048576e6 / big_bytes:.2f}x the file) | "
              f"Dask / rask = {dask_big['seconds'] / r['seconds']:.1f}x"
              f"{'' if ok else ' (RESULT DIFFERS FROM DASK)'}", flush=True)
    limited = memory_limited(build, big, big_bytes, dask_big["checksum"])
    if limited:
        results["memory_limit"] = limited
    with open(os.path.join(build, "bench_frames.json"), "w") as f:
        json.dump(results, f, indent=1)
    print(f"(all figures in {os.path.join(build, 'bench_frames.json')})")


if __name__ == "__main__":
    sys.exit(main())
