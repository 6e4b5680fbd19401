"""Array benchmarks side by side with Dask (and NumPy), in one run on this machine.

  /usr/bin/python3 bench/run_arrays.py --build build [--big] [--persist-n 20000]

1. (x.dot(x.T + 1) - x.mean()).std(), x random 4000 x 4000 in chunks of 500: rask at
   2 ranks x 1 thread and 1 rank x 2 threads against Dask's threaded scheduler.
2. s of svd(x), x random 200,000 x 500 in chunks of (500, 500); with --big also
   1,000,000 x 500 in chunks of (10000, 500), with rask's peak resident memory.
3. svd(x.dot(x.T)), x 4000 x 500 (Dask refuses it): rask through ScaLAPACK against
   NumPy's LAPACK SVD of the same product.
4. x.persist() for random x N x N in chunks of 1000, then (x + x.T).sum(axis=0) alone:
   GB/s of x read against a STREAM-like read of the same bytes in the same run.
Medians of several runs; the machine is shared, so read the ratios (and, for the SVDs,
the CPU seconds of all ranks: divided by the 2 cores, the time the run would take alone).
The load average is printed before each case."""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"


def rask(build, ranks, threads, *args):
    command = ["mpirun", "-n", str(ranks), "--oversubscribe", "--bind-to", "none"]
    if os.geteuid() == 0:
        command.append("--allow-run-as-root")
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = subprocess.run(command + [os.path.join(build, "bench", "bench_arrays"), *map(str, args)], env=env,
                         check=True, capture_output=True, text=True).stdout
    # Lines "<mode> key value key value ...".
    rows = [dict(zip(l.split()[1::2], l.split()[2::2])) for l in out.splitlines() if re.match(r"^\w+ seconds", l)]
    return rows


def load():
    return f"load average {os.getloadavg()[0]:.1f}"


def median(rows, key):
    return statistics.median(float(r[key]) for r in rows)


def dask(*args):
    out = subprocess.run([PYTHON, os.path.join(HERE, "dask_arrays.py"), *map(str, args)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--big", action="store_true", help="also the 1,000,000 x 500 SVD (Dask takes about a minute)")
    parser.add_argument("--persist-n", type=int, default=20000)
    parser.add_argument("--cases", default="std,svd,svdprod,persist",
                        help="comma-separated subset of std, svd, svdprod, persist (default: all)")
    args = parser.parse_args()
    cases_wanted = set(args.cases.split(","))
    build = os.path.abspath(args.build)
    results = {}

    if "std" in cases_wanted:
        print(f"(x.dot(x.T + 1) - x.mean()).std(), x 4000 x 4000 in chunks of 500 [{load()}]", flush=True)
        peer = dask("std", "--repetitions", 2)
        results["std"] = {"dask": peer}
    for ranks, threads in ((2, 1), (1, 2)) if "std" in cases_wanted else ():
        rows = rask(build, ranks, threads, "std", 4000, 500, args.repetitions)
        t = median(rows, "seconds")
        results["std"][f"rask {ranks}x{threads}"] = t
        print(f"  rask {ranks} rank(s) x {threads} thread(s): {t:.2f} s | Dask threads: {peer['seconds']:.2f} s | "
              f"rask {peer['seconds'] / t:.1f}x faster", flush=True)

    cases = ([(200000, 500, 500)] + ([(1000000, 500, 10000)] if args.big else [])) if "svd" in cases_wanted else []
    for rows_, cols, chunk in cases:
        print(f"s of svd(x), x {rows_:,} x {cols} in chunks of ({chunk}, {cols}) [{load()}]", flush=True)
        peer = dask("svd", "--rows", rows_, "--cols", cols, "--chunk", chunk, "--repetitions", 1)
        for ranks, threads in ((2, 1), (1, 2)):
            rows = rask(build, ranks, threads, "svd", rows_, cols, chunk, args.repetitions)
            t = median(rows, "seconds")
            rss = max(float(r["peak_rss_mb_all_ranks"]) for r in rows)
            cpu = median(rows, "cpu_seconds")
            results[f"svd {rows_}x{cols}/{chunk} rask {ranks}x{threads}"] = {"seconds": t, "peak_rss_mb": rss,
                                                                            "cpu_seconds": cpu, "dask": peer}
            print(f"  rask {ranks} rank(s) x {threads} thread(s): {t:.2f} s (CPU {cpu:.2f} s, all ranks), "
                  f"peak RSS of all ranks {rss:.0f} MB | "
                  f"Dask threads: {peer['seconds']:.2f} s | rask {peer['seconds'] / t:.1f}x faster", flush=True)

    if "svdprod" in cases_wanted:
        print("svd(x.dot(x.T)), x 4000 x 500, chunks of 500 (the 4000 x 4000 product is a Gram product: ScaLAPACK's "
              "symmetric eigensolvers, PDSYEV for s, PDSYEVD with vectors)", flush=True)
        peer = dask("svdprod", "--rows", 4000, "--cols", 500, "--chunk", 500, "--repetitions", 1)
        results["svdprod"] = {"peer": peer}
    for uv in (0, 1) if "svdprod" in cases_wanted else ():
        for ranks, threads in ((2, 1), (1, 2)):
            rows = rask(build, ranks, threads, "svdprod", 4000, 500, 500, max(1, args.repetitions - 1), uv)
            t = median(rows, "seconds")
            np_t = peer["numpy_usv" if uv else "numpy_s"]["seconds"]
            eig_t = peer["numpy_eigh" if uv else "numpy_eigvalsh"]["seconds"]
            results["svdprod"][f"rask {ranks}x{threads} uv={uv}"] = t
            print(f"  {'u, s, v' if uv else 's only '}: rask {ranks} rank(s) x {threads} thread(s) {t:.2f} s "
                  f"(product included) | NumPy on the product alone: svd {np_t:.2f} s, "
                  f"{'eigh' if uv else 'eigvalsh'} {eig_t:.2f} s | ratio {np_t / t:.2f}, {eig_t / t:.2f}",
                  flush=True)
    if "svdprod" in cases_wanted:
        print(f"  Dask: {peer['dask']}", flush=True)

    n = args.persist_n
    if "persist" in cases_wanted:
        print(f"x.persist(), x {n} x {n} in chunks of 1000; then (x + x.T).sum(axis=0) alone [{load()}]", flush=True)
        peer = dask("persist", "--n", n, "--chunk", 1000, "--repetitions", 2)
        results["persist"] = {"dask": peer}
    for ranks, threads in ((2, 1), (1, 2)) if "persist" in cases_wanted else ():
        rows = rask(build, ranks, threads, "persist", n, 1000, args.repetitions)
        gbps, stream = median(rows, "gbps"), median(rows, "stream_gbps")
        results["persist"][f"rask {ranks}x{threads}"] = {"gbps": gbps, "stream_gbps": stream}
        print(f"  rask {ranks} rank(s) x {threads} thread(s): {gbps:.2f} GB/s, STREAM-like read {stream:.2f} GB/s "
              f"({100 * gbps / stream:.0f} %) | Dask threads: {peer['gbps']:.2f} GB/s | rask {gbps / peer['gbps']:.1f}x",
              flush=True)
    with open(os.path.join(build, "bench_arrays.json"), "w") as f:
        json.dump(results, f, indent=1)
    print(f"(all figures in {os.path.join(build, 'bench_arrays.json')})")


if __name__ == "__main__":
    sys.exit(main())
