"""Collective tasks' failure path and the memory refusal, end to end: every rank exits
non-zero with one message naming the failing rank, under a time limit (a hang fails)."""
import os
import re
import tempfile

from harness import Checks

checks = Checks(__doc__)
expect_one_error = checks.expect_one_error
build = checks.build


program = f"{build}/tests/fail_before_collective"
for ranks in (1, 2, 4):
    for threads in (1, 2):
        failing = 0 if ranks == 1 else 1
        r = checks.run(program, ["before"], ranks=ranks, threads=threads, timeout=60)
        expect_one_error(f"input of a collective fails, {ranks} ranks x {threads} threads", r,
                         rf"^rask: error: task 'part1' failed on rank {failing}: part 1 cannot be made$")
        if ranks > 1:
            r = checks.run(program, ["inside"], ranks=ranks, threads=threads, timeout=60)
            expect_one_error(f"rank 1 fails inside a collective, {ranks} ranks x {threads} threads", r,
                             r"^rask: error: task 'total' failed on rank 1: rank 1 gave up inside the collective$")
            # The others are blocked inside a library's MPI call: rank 1 aborts the job.
            r = checks.run(program, ["library"], ranks=ranks, threads=threads, timeout=60)
            expect_one_error(f"rank 1 fails inside a collective library call, {ranks} ranks x {threads} threads", r,
                             r"^rask: error: task 'total' failed on rank 1: rank 1 gave up inside the collective "
                             r"\(the other ranks are still inside the collective task's library calls, which cannot "
                             r"be interrupted: aborting the job\)$")

# A compute predicted to need more memory than a rank has is refused before it runs.
with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "out.h5")
    for ranks in (1, 2, 4):
        r = checks.run(f"{build}/jobs/array_randint", [out, "--size", 4000, "--chunk", 500], ranks=ranks,
                       env={"RASK_MEMORY_LIMIT": "20M"})
        expect_one_error(f"memory refusal at {ranks} ranks", r,
                         r"^rask: error: refused before running: the plan predicts a peak of [0-9.]+ MB \(([0-9]+) "
                         r"bytes\) of task values on rank [0-3], but a rank there has 20.0 MB \(20000000 bytes; "
                         r"RASK_MEMORY_LIMIT\)\. Run on more ranks \(or nodes\), or use smaller chunks so that fewer "
                         r"bytes are held at once; RASK_MEMORY_LIMIT=<bytes per rank, e.g. 8G> sets the limit$")
        m = re.search(r"\(([0-9]+) bytes\) of task values", r.stderr)
        # x alone is 4000 x 4000 doubles (128 MB) spread over the ranks.
        checks.check(f"memory refusal at {ranks} ranks: prediction is plausible",
                     m is not None and 20e6 < int(m.group(1)) < 128e6 * 3, r.stderr)
        checks.check(f"memory refusal at {ranks} ranks: nothing written", not os.path.exists(out))
    r = checks.run(f"{build}/jobs/array_randint", [out, "--size", 40, "--chunk", 10], ranks=2,
                   env={"RASK_MEMORY_LIMIT": "20M"})
    checks.check("a compute under the limit runs", r.returncode == 0 and os.path.exists(out), r.stderr)
    r = checks.run(f"{build}/jobs/array_randint", [out], ranks=2, env={"RASK_MEMORY_LIMIT": "lots"})
    expect_one_error("bad RASK_MEMORY_LIMIT", r,
                     r"^rask: error: RASK_MEMORY_LIMIT must be a number of bytes per rank, optionally followed by k, "
                     r"M, G or T \(powers of 1000\), e\.g\. 8G; rank 0 has an unreadable value \('lots'\)$")

checks.finish()
