"""Arrays, rask next to Dask (or NumPy) in the same run: the C++ program
(bench/bench_arrays.cpp) and the same computations as a job script (bench/job_arrays.py,
dask.array under `rask run`, a first run) at 2 ranks x 1 thread and 1 rank x 2 threads;
the peer (bench/dask_arrays.py) is Dask's threaded scheduler with 2 workers.

  /usr/bin/python3 bench/bench_arrays.py --build build [--repeat 5] [--quick] [--big]
                   [--only std,svd,svdprod,persist,sum]

std:     (x.dot(x.T + 1) - x.mean()).std(), x random 4000 x 4000 in chunks of 500.
svd:     s of svd(x), x random 200,000 x 500 in chunks of (500, 500); with --big also
         1,000,000 x 500 in chunks of (10000, 500) (C++ only; Dask takes a minute a run).
svdprod: s of svd(x.dot(x.T)), x 4000 x 500: the Gram product by chunk tasks, then
         ScaLAPACK as a collective task. Dask refuses it (its answer is printed), so the
         peer is NumPy's LAPACK svd of the product alone (eigvalsh alongside).
persist: x.persist(), x random 20000 x 20000 in chunks of 1000, then (x + x.T).sum(axis=0)
         alone: GB/s of x read, against Dask and a STREAM-like read of the same bytes.
sum:     (x + 1).sum(), x random 4000 x 4000 in chunks of 20 (40,000 chunks): what a
         chunk costs beyond its arithmetic; the peer is the C++ program (Dask's per-task
         cost is bench_tasks.py's).
Each process computes --repeat times; every compute is a sample. The job script's figure
against the C++ program's is printed too (Python should add no cost per chunk)."""
import os
import sys

import harness

LAYOUTS = ((2, 1), (1, 2))


def rask_samples(args, mode, program_args, job=True, key="seconds"):
    """layout -> samples: the C++ program, then (if `job`) the job script, per layout."""
    cpp = [os.path.join(args.build, "bench", "bench_arrays")]
    script = os.path.join(harness.HERE, "job_arrays.py")
    program_args = [mode, *program_args]
    out = {}
    for ranks, threads in LAYOUTS:
        text = harness.mpirun(cpp, program_args, ranks, threads)[0]
        out[f"{ranks}x{threads} C++"] = harness.fields(text, mode)
        if job:
            text = harness.rask_run(args.build, script, program_args, ranks, threads)[0]
            out[f"{ranks}x{threads} job script"] = harness.fields(text, mode)
    return out


def peer(*args):
    return harness.last_json(harness.python([os.path.join(harness.HERE, "dask_arrays.py"), *args])[0])


def report(bench, case, runs, dask, key="seconds", unit="s", higher_is_better=False, peer_name="Dask threads",
           note=None):
    for layout, rows in runs.items():
        samples = [row[key] for row in rows]
        bench.figure(case, layout, samples, unit, dask, peer_name, higher_is_better,
                     note=note(rows) if note else "", summary=layout != "1x2 job script")
        cpp = runs.get(layout.replace("job script", "C++"))
        if layout.endswith("job script") and cpp:
            bench.figure(case, layout, samples, unit, [row[key] for row in cpp], "the C++ program", higher_is_better,
                         summary=False)


def std(bench, args):
    n, chunk = (1000, 250) if args.quick else (4000, 500)
    case = f"(x.dot(x.T + 1) - x.mean()).std(), x {n} x {n} in chunks of {chunk}"
    bench.section(case)
    dask = peer("std", "--n", n, "--chunk", chunk, "--repetitions", args.repeat)["runs"]
    report(bench, case, rask_samples(args, "std", [n, chunk, args.repeat]), dask)


def svd(bench, args):
    sizes = [(20000, 100, 100)] if args.quick else [(200000, 500, 500)] + ([(1000000, 500, 10000)] if args.big else [])
    for rows_, cols, chunk in sizes:
        case = f"s of svd(x), x {rows_:,} x {cols} in chunks of ({chunk}, {cols})"
        bench.section(case)
        dask = peer("svd", "--rows", rows_, "--cols", cols, "--chunk", chunk, "--repetitions", args.repeat)["runs"]
        runs = rask_samples(args, "svd", [rows_, cols, chunk, args.repeat], job=rows_ <= 200000)

        def note(rows):
            return (f"peak RSS of all ranks {max(r.get('peak_rss_mb_all_ranks', 0) for r in rows):.0f} MB"
                    if "peak_rss_mb_all_ranks" in rows[0] else "")
        report(bench, case, runs, dask, note=note)


def svdprod(bench, args):
    rows_, cols, chunk = (1000, 250, 250) if args.quick else (4000, 500, 500)
    case = f"s of svd(x.dot(x.T)), x {rows_} x {cols} in chunks of {chunk}"
    bench.section(case + " (ScaLAPACK as a collective task)")
    numpy = peer("svdprod", "--rows", rows_, "--cols", cols, "--chunk", chunk, "--repetitions", args.repeat)
    eigvalsh = harness.show(numpy["numpy_eigvalsh"]["runs"], "s")
    report(bench, case, rask_samples(args, "svdprod", [rows_, cols, chunk, args.repeat, 0], job=False),
           numpy["numpy_s"]["runs"], peer_name="NumPy svd of the product alone",
           note=lambda rows: f"NumPy eigvalsh of the product {eigvalsh}; Dask {numpy['dask'].split(':')[0]}")


def persist(bench, args):
    n = 4000 if args.quick else args.persist_n
    case = f"x.persist(), x {n} x {n} in chunks of 1000, then (x + x.T).sum(axis=0): GB/s of x read"
    bench.section(case)
    dask = peer("persist", "--n", n, "--chunk", 1000, "--repetitions", args.repeat)["runs_gbps"]
    report(bench, case, rask_samples(args, "persist", [n, 1000, args.repeat]), dask, key="gbps", unit="GB/s",
           higher_is_better=True,
           note=lambda rows: (f"STREAM-like read {harness.show([r['stream_gbps'] for r in rows], 'GB/s')}"
                              if "stream_gbps" in rows[0] else ""))


def chunk_sum(bench, args):
    n = 1000 if args.quick else 4000
    case = f"(x + 1).sum(), x {n} x {n} in chunks of 20 ({(n // 20) ** 2:,} chunks)"
    bench.section(case)
    runs = rask_samples(args, "sum", [n, 20, args.repeat])
    for ranks, threads in LAYOUTS:
        layout = f"{ranks}x{threads}"
        bench.figure(case, f"{layout} job script", [r["seconds"] for r in runs[f"{layout} job script"]], "s",
                     [r["seconds"] for r in runs[f"{layout} C++"]], "the C++ program")


def main():
    parser = harness.arguments(__doc__)
    parser.add_argument("--big", action="store_true", help="also the 1,000,000 x 500 svd")
    parser.add_argument("--persist-n", type=int, default=20000)
    args = harness.parse(parser)
    bench = harness.Bench("arrays", args, "arrays: C++ and job scripts against dask.array")
    for name, case in (("std", std), ("svd", svd), ("svdprod", svdprod), ("persist", persist), ("sum", chunk_sum)):
        if bench.wants(name):
            case(bench, args)
    bench.finish()


if __name__ == "__main__":
    sys.exit(main())
