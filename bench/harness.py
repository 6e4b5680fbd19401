"""What every bench driver shares: running rask and its peer in the same run, repeating,
medians with their min–max, the ratio, and the header that says where a figure came from.

A driver (bench/bench_*.py) builds its arguments with `arguments()`, opens a `Bench`,
and for each figure calls `Bench.figure(...)` with the samples of rask and of its peer
(Dask unless the row says otherwise). Samples come from `repeat()` or `alternate()`,
which run each side `--repeat` times (5 unless told; BENCH_REPEAT sets the default),
interleaved so that a change of load hits both sides alike. `Bench.finish()` writes
bench/results/<driver>.json; bench/bench_all.py gathers those into one summary table.

Ratios are always "times better for rask": the peer's time over rask's, or rask's rate
over the peer's. The header records the date, the commit, the load average, the uptime
and whether this is the first benchmark run since the machine booted."""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")
PYTHON = "/usr/bin/python3"  # Debian's, with python3-dask; another python3 may come first on PATH
# Which boots have already seen a benchmark run: kept outside the clone, so that a fresh
# clone on a machine that has been benchmarking for hours does not call itself fresh.
BOOTS_SEEN = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "rask", "bench-boots")


def arguments(doc, quick_help="small sizes, one repetition: checks that the driver works",
              only_help="comma-separated subset of this driver's cases"):
    """The options every driver takes; a driver adds its own to the parser returned."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=os.path.join(ROOT, "build"), help="the build tree (default: build/)")
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_REPEAT", 5)),
                        help="samples per figure and side (default 5, or $BENCH_REPEAT)")
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--only", help=only_help)
    return parser


def parse(parser):
    args = parser.parse_args()
    args.build = os.path.abspath(args.build)
    if args.quick:
        args.repeat = 1
    args.only = set(args.only.split(",")) if args.only else None
    return args


# ---- running things -------------------------------------------------------------------


def mpirun_prefix(ranks):
    command = ["mpirun", "-n", str(ranks), "--oversubscribe", "--bind-to", "none"]
    if os.geteuid() == 0:
        command.append("--allow-run-as-root")
    return command


def run(command, env=None, cwd=None):
    """Runs a command to its end; returns (stdout, stderr, wall seconds of the whole process)."""
    start = time.perf_counter()
    done = subprocess.run([str(c) for c in command], env=env, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} exited with {done.returncode}:\n"
                           f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done.stdout, done.stderr, seconds


def mpirun(program, args=(), ranks=2, threads=1, cwd=None):
    """A program (a list: the executable and its leading arguments) under mpirun at
    ranks x threads; returns (stdout, stderr, whole-process seconds)."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    return run(mpirun_prefix(ranks) + list(program) + list(args), env=env, cwd=cwd)


def rask_run(build, script, args=(), ranks=2, threads=1, cwd=None):
    """`rask run SCRIPT ARGS` under mpirun, as a newcomer's first run: a cost file of its
    own that does not exist yet, so no cost is known."""
    with tempfile.TemporaryDirectory() as tmp:
        return mpirun([os.path.join(build, "rask"), "run", "--costs", os.path.join(tmp, "job.rask-costs"), script],
                      args, ranks, threads, cwd)


def python(args, cwd=None):
    """Debian's python3 on ARGS; returns (stdout, stderr, whole-process seconds)."""
    return run([PYTHON] + list(args), cwd=cwd)


def fields(text, first=None):
    """The lines "KEY VALUE KEY VALUE ..." of a program's output (those whose first word
    is `first`, if given, which is then dropped), as dicts of floats where they parse."""
    rows = []
    for line in text.splitlines():
        words = line.split()
        if not words or (first and words[0] != first):
            continue
        if first:
            words = words[1:]
        if len(words) % 2:
            continue
        row = {}
        for key, value in zip(words[::2], words[1::2]):
            try:
                row[key] = float(value)
            except ValueError:
                row[key] = value
        rows.append(row)
    return rows


def last_json(text):
    return json.loads(text.strip().splitlines()[-1])


def repeat(sample, times):
    """`sample()` called `times` times; each call returns one sample or a list of them."""
    out = []
    for _ in range(times):
        got = sample()
        out += got if isinstance(got, list) else [got]
    return out


def alternate(samplers, times):
    """Each of `samplers` (name -> function, as for `repeat`) in turn, `times` rounds:
    a change of load during the run then hits every side alike. Returns name -> samples."""
    out = {name: [] for name in samplers}
    for _ in range(times):
        for name, sample in samplers.items():
            got = sample()
            out[name] += got if isinstance(got, list) else [got]
    return out


# ---- figures --------------------------------------------------------------------------


def spread(samples):
    """(median, min, max) of a list of samples."""
    return statistics.median(samples), min(samples), max(samples)


def number(x):
    if x != x:
        return "nan"
    magnitude = abs(x)
    if magnitude >= 100:
        return f"{x:,.0f}"
    if magnitude >= 10:
        return f"{x:.1f}"
    if magnitude >= 1:
        return f"{x:.2f}"
    if magnitude >= 0.1:
        return f"{x:.3f}"
    return f"{x:.3g}"


def show(samples, unit):
    """"1.23 s (1.20–1.31)": the median, then min–max when there is more than one sample."""
    median, low, high = spread(samples)
    text = f"{number(median)} {unit}"
    return text + (f" ({number(low)}–{number(high)})" if len(samples) > 1 else "")


def ratio(rask, peer, higher_is_better):
    """How many times better rask is than its peer, on the medians."""
    r, p = statistics.median(rask), statistics.median(peer)
    return r / p if higher_is_better else p / r


def boot_is_fresh():
    """True when no benchmark ran since this machine booted. bench_all.py decides once
    for all its drivers (RASK_BENCH_FRESH); a driver run alone decides for itself."""
    if os.environ.get("RASK_BENCH_FRESH") in ("yes", "no"):
        return os.environ["RASK_BENCH_FRESH"] == "yes"
    with open("/proc/sys/kernel/random/boot_id") as f:
        boot = f.read().strip()
    seen = set()
    if os.path.exists(BOOTS_SEEN):
        with open(BOOTS_SEEN) as f:
            seen = set(f.read().split())
    if boot not in seen:
        os.makedirs(os.path.dirname(BOOTS_SEEN), exist_ok=True)
        with open(BOOTS_SEEN, "a") as f:
            f.write(boot + "\n")
    return boot not in seen


def commit():
    def git(*args):
        return subprocess.run(["git", "-C", ROOT, *args], capture_output=True, text=True).stdout.strip()
    head = git("rev-parse", "--short=10", "HEAD") or "unknown"
    # Only tracked files count: results and build trees are not part of what is measured.
    return head + ("+changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def machine():
    """Where and when: the header every driver prints and stores with its figures."""
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    try:
        import dask
        dask_version = dask.__version__
    except ImportError:
        dask_version = "not installed"
    return {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "commit": commit(), "load_average": [round(x, 2) for x in os.getloadavg()], "uptime_s": round(uptime),
            "fresh_boot": boot_is_fresh(), "cores": os.cpu_count(), "cpu": cpu, "dask": dask_version,
            "python": platform.python_version()}


def header_text(m):
    hours, rest = divmod(m["uptime_s"], 3600)
    fresh = "the" if m["fresh_boot"] else "not the"
    return (f"{m['date']}, commit {m['commit']}, load average {' '.join(f'{x:.2f}' for x in m['load_average'])}, "
            f"up {hours} h {rest // 60} min ({fresh} first benchmark run since boot); "
            f"{m['cores']} cores ({m['cpu']}), Dask {m['dask']}")


class Bench:
    """One driver's run: its header, its figures as they come, and the JSON at the end."""

    def __init__(self, name, args, about):
        self.name, self.args, self.rows = name, args, []
        self.machine = machine()
        print(f"== {name}: {about}", flush=True)
        print(f"   {header_text(self.machine)}", flush=True)
        print(f"   medians of {args.repeat} ({'--quick' if args.quick else 'full sizes'}), min–max in brackets; "
              "ranks x threads per rank as each line says (mpirun --bind-to none, OMP_NUM_THREADS); "
              "ratio = times better for rask", flush=True)

    def wants(self, case, default=True):
        """Whether to run `case`: named in --only, or `default` when there is no --only."""
        return default if self.args.only is None else case in self.args.only

    def section(self, title):
        print(f"{title}  [load {os.getloadavg()[0]:.1f}]", flush=True)

    def figure(self, case, layout, rask, unit, peer=None, peer_name="Dask threads", higher_is_better=False,
               note="", summary=True):
        """One figure: rask's samples at `layout` (e.g. "2x1 C++"), the peer's from the same
        run, printed and kept. `summary=False` keeps it out of the combined table."""
        row = {"case": case, "layout": layout, "unit": unit, "rask": rask, "peer_name": peer_name, "peer": peer,
               "higher_is_better": higher_is_better, "note": note, "summary": summary,
               "load": round(os.getloadavg()[0], 2)}
        line = f"  rask {layout:<30} {show(rask, unit):<30}"
        if peer:
            row["ratio"] = ratio(rask, peer, higher_is_better)
            line += f" | {peer_name}: {show(peer, unit):<30} | {row['ratio']:,.{1 if row['ratio'] < 100 else 0}f}x"
        if note:
            line += f"  ({note})"
        print(line, flush=True)
        self.rows.append(row)
        return row

    def finish(self):
        os.makedirs(RESULTS, exist_ok=True)
        path = os.path.join(RESULTS, f"{self.name}.json")
        self.machine["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
        with open(path, "w") as f:
            json.dump({"driver": self.name, "machine": self.machine, "repeat": self.args.repeat,
                       "quick": self.args.quick, "rows": self.rows}, f, indent=1)
        print(f"   (figures in {os.path.relpath(path)})", flush=True)
