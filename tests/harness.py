"""What the end-to-end checks share: running a program under mpiexec with a time limit
(a hang is a failure, never a wait), the closing 'N passed, M failed' line, the one-error
rule for bad input, and reading the inputs and outputs the checks compare."""
import argparse
import os
import re
import subprocess
import sys

import h5py
import numpy as np


def soak(default, full):
    """A repeat count: `full` where RASK_TEST_SOAK=1 (ctest's label `soak`, `make test-soak`),
    otherwise `default`, the few repeats `make test` affords."""
    return full if os.environ.get("RASK_TEST_SOAK") == "1" else default


def h5_datasets(path):
    """Every dataset of an HDF5 file, groups included, by its path without the leading '/'."""
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(name, np.array(obj)) if isinstance(obj, h5py.Dataset) else None)
    return out


def relative_error(got, want):
    """The largest difference of two numeric arrays of one shape, relative to want's largest
    magnitude (0 for empty arrays)."""
    if not want.size:
        return 0.0
    scale = max(float(np.abs(want.astype(float)).max()), 1e-300)
    return float(np.abs(got.astype(float) - want.astype(float)).max()) / scale


def write_workshop_inputs(path):
    """The workshop's array inputs (x, tall, wide) with the seed jobs/workshop.py's checks use."""
    rng = np.random.default_rng(1234)
    with h5py.File(path, "w") as f:
        f["x"] = rng.integers(1, 10, size=(15, 15))
        f["tall"] = rng.random((3000, 500))
        f["wide"] = rng.random((700, 500))


class Checks:
    def __init__(self, description):
        parser = argparse.ArgumentParser(description=description)
        parser.add_argument("--build", required=True)
        parser.add_argument("--mpiexec", default="mpiexec")
        self.args = parser.parse_args()
        self.build = os.path.abspath(self.args.build)
        self.rask = os.path.join(self.build, "rask")  # `rask run job.py`
        self.source = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the repository
        self.passed = 0
        self.failed = 0

    def command(self, program, args=(), ranks=1, mpiexec_args=()):
        # --oversubscribe: more ranks than the machine's cores (4 on a 2-core runner).
        command = [self.args.mpiexec, "-n", str(ranks), "--oversubscribe", *mpiexec_args]
        if os.geteuid() == 0:
            command.append("--allow-run-as-root")
        return command + [program, *map(str, args)]

    def run(self, program, args=(), ranks=1, threads=1, timeout=120, env=None, mpiexec_args=()):
        command = self.command(program, args, ranks, mpiexec_args)
        full_env = dict(os.environ, OMP_NUM_THREADS=str(threads), **(env or {}))
        try:
            return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=full_env)
        except subprocess.TimeoutExpired as e:
            raise AssertionError(f"{' '.join(command)} still running after {timeout} s: a hang") from e

    def start(self, program, args=(), ranks=1, threads=1):
        """The job started in the background (for checks that signal it), its output piped."""
        return subprocess.Popen(self.command(program, args, ranks), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=dict(os.environ, OMP_NUM_THREADS=str(threads)))

    def generate_minute(self, out, days, seed, layout=None):
        """Minute bars for symbol aig from 2010-01-04 (rask-gen-minute), the input of the frame jobs."""
        args = ["--out", out, "--symbols", "aig", "--start", "2010-01-04", "--days", str(days), "--seed", str(seed)]
        subprocess.run([f"{self.build}/inputs/rask-gen-minute", *args, *(["--layout", layout] if layout else [])],
                       check=True, capture_output=True)

    def check(self, name, condition, detail=""):
        if condition:
            self.passed += 1
            print(f"ok   {name}")
        else:
            self.failed += 1
            print(f"FAIL {name}\n{detail}")

    def expect_one_error(self, name, result, pattern):
        """A failed run: non-zero exit and exactly one error line (from whichever rank), which
        matches pattern."""
        lines = [l for l in result.stderr.splitlines() if "rask: error:" in l or l.startswith("ERROR on rank")]
        # The tail: a crash or a hang at 4 ranks can print pages.
        detail = f"exit {result.returncode}\nstdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"
        self.check(f"{name}: non-zero exit", result.returncode != 0, detail)
        self.check(f"{name}: exactly one error message", len(lines) == 1, detail)
        self.check(f"{name}: message says what failed", bool(lines) and re.search(pattern, lines[0]) is not None,
                   f"wanted /{pattern}/ in {lines}")

    def finish(self):
        print(f"{self.passed} passed, {self.failed} failed")
        sys.exit(1 if self.failed else 0)


def signal_ranks(process, sig):
    """Sends sig to every rank of an mpiexec started by Checks.start, as SLURM's step daemon
    does (mpiexec, signalled itself, may stop forwarding output before rank 0 has written
    its message); returns the ranks' process ids."""
    pids = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()
    for pid in pids:
        os.kill(int(pid), sig)
    return pids
