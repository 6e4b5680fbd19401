"""The core's hard cases, run as a user runs them: many values crossing ranks from two
threads per rank (the pattern that hung), long chains, keys that must be equal on every
rank, and SPMD mistakes that must end every rank with one message, never a hang."""
import re

from harness import Checks, soak

checks = Checks(__doc__)
expect_one_error = checks.expect_one_error
program = f"{checks.build}/tests/core_cases"


# 100,000 values from each rank's two threads into one task, computed again and again:
# with both threads bound to one core (mpirun's default) this hung 3 runs in 10 before
# values were batched under a window of synchronous sends. `make test` runs each layout once;
# the soak (RASK_TEST_SOAK=1: ctest -L soak, `make test-soak`) runs the full count.
for ranks, threads, binding, runs, repeats in ((2, 2, (), 4, 4), (2, 2, ("--bind-to", "none"), 2, 3),
                                               (4, 1, (), 1, 2), (3, 2, (), 1, 2)):
    for run in range(soak(1, runs)):
        r = checks.run(program, ["many-values", 200000, repeats], ranks=ranks, threads=threads, timeout=180,
                       mpiexec_args=binding)
        checks.check(f"200,000 values x {repeats} at {ranks} ranks x {threads} threads {' '.join(binding)} run {run}",
                     r.returncode == 0 and "many-values ok" in r.stdout, r.stderr[-2000:])

for ranks in (1, 2):
    r = checks.run(program, ["chain", 200000], ranks=ranks)
    checks.check(f"a chain of 200,000 Delayed values at {ranks} ranks ends cleanly",
                 r.returncode == 0 and "chain 200000" in r.stdout, f"exit {r.returncode}\n{r.stderr[-2000:]}")

for ranks in (2, 4):
    r = checks.run(program, ["closures"], ranks=ranks)
    keys = {l for l in r.stdout.splitlines() if l.startswith("keys ")}
    checks.check(f"closures at {ranks} ranks: one result", r.returncode == 0 and "closures 19" in r.stdout,
                 r.stdout + r.stderr)
    checks.check(f"closures at {ranks} ranks: the same keys on every rank", len(keys) == 1, str(keys))
    checks.check("a function returning std::string keeps its plain name",
                 all(re.match(r"keys show-[0-9a-f]{16} inc-[0-9a-f]{16}$", k) for k in keys), str(keys))

for ranks in (2, 3, 4):
    last = ranks - 1
    r = checks.run(program, ["extra-task", 1000], ranks=ranks)
    expect_one_error(f"one task more on the last rank at {ranks} ranks", r,
                     r"^rask: error: the ranks built different graphs for compute #1: the first difference is "
                     rf"task #1000, which is 'total-[0-9a-f]{{16}}' with 1000 inputs on ranks? [0-9, ]+ and "
                     rf"'inc-[0-9a-f]{{16}}' on rank {last}\. Every rank must build the same graph")
    r = checks.run(program, ["argument", 1000], ranks=ranks)
    expect_one_error(f"a different argument on the last rank at {ranks} ranks", r,
                     r"the first difference is task #7, which is 'inc-[0-9a-f]{16}' on ranks? [0-9, ]+ and "
                     rf"'inc-[0-9a-f]{{16}}' on rank {last}\.")
    r = checks.run(program, ["leave"], ranks=ranks)
    expect_one_error(f"a rank that leaves before computing, at {ranks} ranks", r,
                     rf"^rask: error: the ranks are not at the same step: ranks? [0-9, ]+ called compute #1 and rank "
                     rf"{last} left the program \(its rask::Runtime was destroyed\) after compute #0\.")
    r = checks.run(program, ["twice"], ranks=ranks)
    expect_one_error(f"rank 0 computing once more, at {ranks} ranks", r,
                     r"^rask: error: the ranks are not at the same step: rank 0 called compute #2 and ranks? "
                     r"[0-9, ]+ left the program")
    r = checks.run(program, ["barrier"], ranks=ranks)
    expect_one_error(f"a barrier against a compute, at {ranks} ranks", r,
                     rf"rank {last} waited at a barrier \(Runtime::barrier\) after compute #0")
    r = checks.run(program, ["visualize"], ranks=ranks)
    expect_one_error(f"visualize to a missing directory at {ranks} ranks", r,
                     r"^rask: error: cannot write '/nonexistent/dir/x\.dot'")

for ranks in (1, 2):
    r = checks.run(program, ["segv"], ranks=ranks)
    named = [l for l in r.stderr.splitlines() if "crashed" in l]
    checks.check(f"a crashing task at {ranks} ranks: non-zero exit", r.returncode != 0, r.stderr[-2000:])
    checks.check(f"a crashing task at {ranks} ranks: the task and rank are named",
                 len(named) == 1 and re.match(r"^rask: rank [01]: task 'crash-[0-9a-f]{16}' crashed \(SIGSEGV: "
                                              r"invalid memory access\)$", named[0]) is not None, str(named))

checks.finish()
