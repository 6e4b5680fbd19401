"""jobs/workshop.py, the whole workshop notebook as one job: run under Dask (this Python,
Debian's python3-dask) and under `rask run` at 1, 2 and 4 ranks on the same inputs
(arrays NumPy wrote to HDF5, minute bars from rask-gen-minute); every dataset Dask
writes must equal rask's to 1e-12 of the dataset's largest magnitude, and rask's runs
bitwise equal to each other; svd(x.dot(x.T)), which
Dask refuses, is checked against NumPy's SVD of the same product (ScaLAPACK's, so equal
to rounding, not bitwise, across process grids). The notebook's own random inputs (no --inputs) run once under rask and
give singular values of the size theory says."""
import os
import subprocess
import tempfile

import h5py
import numpy as np

from harness import Checks, h5_datasets, relative_error, write_workshop_inputs

checks = Checks(__doc__)
build = checks.build
source = checks.source
rask = checks.rask
script = os.path.join(source, "jobs", "workshop.py")
tmp = tempfile.TemporaryDirectory()
minute = os.path.join(tmp.name, "minute")
checks.generate_minute(minute, days=20, seed=3)
inputs = os.path.join(tmp.name, "inputs.h5")
write_workshop_inputs(inputs)
common = ["--data", minute, "--scale", "0.001", "--inputs", inputs]


def differences(got, want):
    problems = []
    for name, w in want.items():
        if name not in got:
            problems.append(f"{name}: missing")
            continue
        g = got[name]
        if g.shape != w.shape or g.dtype.kind != w.dtype.kind:
            problems.append(f"{name}: {g.shape} {g.dtype} vs {w.shape} {w.dtype}")
            continue
        if w.dtype.kind in "SUO":
            if not np.array_equal(g, w):
                problems.append(f"{name}: differs")
            continue
        err = relative_error(g, w)
        if not err <= 1e-12:
            problems.append(f"{name}: relative difference {err:.3g}")
    return problems


dask_out = os.path.join(tmp.name, "dask.h5")
peer = subprocess.run(["/usr/bin/python3", script, *common, "--out", dask_out], capture_output=True, text=True,
                      timeout=600, cwd=tmp.name)
checks.check("workshop.py runs under Dask", peer.returncode == 0, peer.stdout[-2000:] + peer.stderr[-3000:])
want = h5_datasets(dask_out) if peer.returncode == 0 else {}
checks.check("Dask refuses svd(x.dot(x.T)) as the notebook shows", "svd/product_s" not in want and
             "svd(x.dot(x.T)): NotImplementedError" in peer.stdout, peer.stdout[-1500:])

with h5py.File(inputs, "r") as f:
    wide = np.array(f["wide"])
product_s = np.linalg.svd(wide @ wide.T, compute_uv=False)
runs = {}
for ranks, threads in ((1, 1), (2, 1), (4, 1), (2, 2)):
    out = os.path.join(tmp.name, f"rask-{ranks}x{threads}.h5")
    r = checks.run(rask, ["run", "--costs", os.path.join(tmp.name, "workshop.rask-costs"), script, *common,
                          "--out", out], ranks=ranks, threads=threads, timeout=300)
    ok = r.returncode == 0 and os.path.exists(out)
    checks.check(f"workshop.py under rask at {ranks} ranks x {threads} threads", ok, r.stdout[-2000:] + r.stderr[-3000:])
    if not ok:
        continue
    got = h5_datasets(out)
    runs[(ranks, threads)] = got
    problems = differences(got, want)
    checks.check(f"{ranks}x{threads}: every dataset equals Dask's", not problems, "\n".join(problems))
    s = got.get("svd/product_s")
    err = float(np.abs(s - product_s).max() / product_s[0]) if s is not None and s.shape == product_s.shape else None
    checks.check(f"{ranks}x{threads}: s of svd(x.dot(x.T)) equals NumPy's (rel. {err})", err is not None and err <= 1e-12)
    checks.check(f"{ranks}x{threads}: the same stdout as Dask but for the svd(x.dot(x.T)) line",
                 [line for line in r.stdout.splitlines() if not line.startswith(("svd(x.dot", "wrote "))] ==
                 [line for line in peer.stdout.splitlines() if not line.startswith(("svd(x.dot", "wrote "))],
                 r.stdout[-1500:] + "\n--- Dask:\n" + peer.stdout[-1500:])
first = runs.get((1, 1))
for key, got in runs.items():
    if first is not None and key != (1, 1):
        # ScaLAPACK's PDGESVD sums in an order set by the process grid: its singular
        # values agree with LAPACK's to rounding, not bitwise across rank counts.
        differ = sorted(k for k in got if k != "svd/product_s" and (k not in first or not np.array_equal(got[k], first[k])))
        checks.check(f"{key[0]}x{key[1]}: bitwise equal to 1 rank x 1 thread", not differ, f"differ: {differ}")

# The notebook's own random inputs: da.random.random((rows, 500)) -> svd. Uniform [0, 1)
# entries: the top singular value is about sqrt(rows * 500) / 2, the others about
# sqrt(rows / 12) +- sqrt(500 / 12) (Marchenko-Pastur edges).
out = os.path.join(tmp.name, "random.h5")
r = checks.run(rask, ["run", "--costs", os.path.join(tmp.name, "random.rask-costs"), script, "--data", minute,
                      "--scale", "0.001", "--rows", "20000", "--product", "600", "--out", out], ranks=2, timeout=300)
checks.check("workshop.py with the notebook's random inputs under rask at 2 ranks", r.returncode == 0,
             r.stdout[-2000:] + r.stderr[-3000:])
if r.returncode == 0:
    s = h5_datasets(out)["svd/s"]
    top, rest = s[0] / (np.sqrt(20000 * 500) / 2), s[1:] / np.sqrt(20000 / 12)
    checks.check(f"random svd: top {top:.4f} and bulk [{rest.min():.3f}, {rest.max():.3f}] as theory says",
                 abs(top - 1) < 0.01 and rest.max() < 1 + 1.1 * np.sqrt(500 / 20000) and
                 rest.min() > 1 - 1.1 * np.sqrt(500 / 20000))
checks.finish()
