"""What the end-to-end checks share: running a program under mpiexec with a time limit
(a hang is a failure, never a wait), and the closing 'N passed, M failed' line."""
import argparse
import os
import subprocess
import sys


class Checks:
    def __init__(self, description):
        parser = argparse.ArgumentParser(description=description)
        parser.add_argument("--build", required=True)
        parser.add_argument("--mpiexec", default="mpiexec")
        self.args = parser.parse_args()
        self.build = os.path.abspath(self.args.build)
        self.passed = 0
        self.failed = 0

    def run(self, program, args=(), ranks=1, threads=1, timeout=120, env=None, mpiexec_args=()):
        command = [self.args.mpiexec, "-n", str(ranks), "--oversubscribe", *mpiexec_args]
        if os.geteuid() == 0:
            command.append("--allow-run-as-root")
        command += [program, *map(str, args)]
        full_env = dict(os.environ, OMP_NUM_THREADS=str(threads), **(env or {}))
        try:
            return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=full_env)
        except subprocess.TimeoutExpired as e:
            raise AssertionError(f"{' '.join(command)} still running after {timeout} s: a hang") from e

    def check(self, name, condition, detail=""):
        if condition:
            self.passed += 1
            print(f"ok   {name}")
        else:
            self.failed += 1
            print(f"FAIL {name}\n{detail}")

    def finish(self):
        print(f"{self.passed} passed, {self.failed} failed")
        sys.exit(1 if self.failed else 0)
