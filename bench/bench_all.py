"""Every bench driver in one run, then one summary table of all their figures.

  make bench      (or: /usr/bin/python3 bench/bench_all.py --build build)
  make bench BENCH_REPEAT=3 BENCH_ONLY=tasks,frames     fewer samples, some drivers
  /usr/bin/python3 bench/bench_all.py --quick           small sizes, once: do they work?

Runs bench/bench_<name>.py for each driver name below, in order, each with --build,
--repeat and --quick; a driver that fails is reported and the rest still run (the exit
status is then 1). Whether this is the first benchmark run since boot is decided once,
here, for all of them. Writes bench/results/summary.md: a markdown table (case | rask |
peer | ratio | date) with the header that says where the figures came from.

Time on a quiet 2-core machine at --repeat 5, estimated from earlier figures: tasks 2 min,
exercises 9 min (2,500 sleeping calls, ideal 31 s a run, x 3 sides x 5), transfer under
1 min, arrays 8 min (Dask's svd takes 42 s a run), frames 5 min (and 1 min generating its
inputs the first time), workshop 4 min (Dask 40 s a run): about 28 min; 17 at --repeat 3.
--quick takes about 3 min."""
import json
import os
import subprocess
import sys
import time

import harness

DRIVERS = ("tasks", "exercises", "transfer", "arrays", "frames", "workshop")


def cell(row, side):
    return harness.show(row[side], row["unit"]) if row.get(side) else ""


def summary(results, machine, repeat, quick):
    loads = [r["machine"]["load_average"][0] for r in results] + \
            [r["machine"].get("load_average_end", [0])[0] for r in results] or machine["load_average"][:1]
    lines = [
        "# rask next to Dask: figures at a glance", "",
        f"`make bench` of {machine['date']}, commit {machine['commit']}; {machine['cores']} cores ({machine['cpu']}), "
        f"Dask {machine['dask']}, Python {machine['python']}. Load average (1 min) {min(loads):.2f}–{max(loads):.2f} "
        f"during the run; up {machine['uptime_s'] // 60} min at the start, "
        f"{'the' if machine['fresh_boot'] else 'not the'} first benchmark run since boot.",
        "",
        f"Each figure is the median of {repeat} sample{'s' if repeat != 1 else ''}"
        f"{' (--quick: small sizes)' if quick else ''}, min–max in "
        "brackets; the peer (Dask's threaded scheduler with 2 workers unless the cell names another) ran in the same "
        "run, interleaved with rask. Layout: ranks x threads per rank (mpirun --bind-to none). The ratio is how many "
        "times better rask is: the peer's time over rask's, or rask's rate over the peer's. The cases are written as "
        "a newcomer writes them: no cost hints, a first run, Dask's default blocksize, full-precision CSV prices. "
        "Every driver's full output, with more rows, is in bench/results/*.json.", "",
        "| case | rask | peer | ratio | date |", "|---|---|---|---|---|"]
    for result in results:
        for row in result["rows"]:
            if not row["summary"]:
                continue
            rask = cell(row, "rask") + (f"; {row['note']}" if row["note"] else "")
            peer = cell(row, "peer")
            if peer and row["peer_name"] != "Dask threads":
                peer = f"{row['peer_name']}: {peer}"
            ratio = f"{row['ratio']:,.{1 if row['ratio'] < 100 else 0}f}×" if "ratio" in row else ""
            lines.append(f"| {row['case']}, {row['layout']} | {rask} | {peer} | {ratio} | "
                         f"{result['machine']['date']} |")
    return "\n".join(lines) + "\n"


def main():
    parser = harness.arguments(__doc__, quick_help="every driver with --quick",
                               only_help=f"comma-separated subset of the drivers ({','.join(DRIVERS)})")
    args = harness.parse(parser)
    drivers = [d for d in DRIVERS if args.only is None or d in args.only]
    unknown = (args.only or set()) - set(DRIVERS)
    if unknown:
        sys.exit(f"bench_all: no driver named {', '.join(sorted(unknown))} (drivers: {', '.join(DRIVERS)})")
    machine = harness.machine()  # decides "fresh" before any driver runs
    os.environ["RASK_BENCH_FRESH"] = "yes" if machine["fresh_boot"] else "no"
    print(f"bench_all: {', '.join(drivers)}; {harness.header_text(machine)}", flush=True)
    results, failed, start = [], [], time.perf_counter()
    for name in drivers:
        path = os.path.join(harness.RESULTS, f"{name}.json")
        if os.path.exists(path):
            os.remove(path)
        began = time.perf_counter()
        command = [harness.PYTHON, os.path.join(harness.HERE, f"bench_{name}.py"), "--build", args.build,
                   "--repeat", str(args.repeat)] + (["--quick"] if args.quick else [])
        code = subprocess.run(command).returncode
        print(f"   ({name}: {time.perf_counter() - began:.0f} s)", flush=True)
        if code != 0 or not os.path.exists(path):
            failed.append(name)
            continue
        with open(path) as f:
            results.append(json.load(f))
    os.makedirs(harness.RESULTS, exist_ok=True)
    out = os.path.join(harness.RESULTS, "summary.md")
    with open(out, "w") as f:
        f.write(summary(results, machine, args.repeat, args.quick))
    print(f"bench_all: {time.perf_counter() - start:.0f} s in all; summary in {os.path.relpath(out)}"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
