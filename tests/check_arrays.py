"""The workshop's array lines end to end: each job writes HDF5 at 1, 2, 3 and 4 ranks; the
files agree bitwise across rank counts and with NumPy run on the same inputs (read back
from the HDF5 file). Bad HDF5 inputs give one message naming the file and dataset."""
import os
import re
import tempfile

import h5py
import numpy as np

from harness import Checks

checks = Checks(__doc__)
expect_one_error = checks.expect_one_error
build = checks.build
LAYOUTS = ((1, 2), (2, 1), (3, 1), (4, 1))  # (ranks, threads)


def close(a, b, rel=1e-12):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= rel * np.maximum(1.0, np.abs(b))))


def run_everywhere(tmp, job, args, name, bitwise=True):
    """Runs the job at every layout (OUT in args stands for its output file); returns the datasets of the first, after checking
    that every layout wrote the same bits."""
    seen = {}
    for ranks, threads in LAYOUTS:
        out = os.path.join(tmp, re.sub(r"\W", "_", name) + f"-{ranks}x{threads}.h5")
        r = checks.run(f"{build}/jobs/{job}", [out if a == "OUT" else a for a in args], ranks=ranks,
                       threads=threads, timeout=300)
        checks.check(f"{name} at {ranks} ranks x {threads} threads exits 0", r.returncode == 0, r.stdout + r.stderr)
        if r.returncode != 0:
            return None
        checks.check(f"{name}: no temporary file left", not os.path.exists(out + ".rask-tmp"))
        with h5py.File(out, "r") as f:
            seen[(ranks, threads)] = {k: f[k][()] for k in f.keys()}
            attrs = dict(f[next(iter(f.keys()))].attrs)
            checks.check(f"{name}: attributes say ranks and threads", attrs.get("ranks") == ranks and
                         attrs.get("threads") == threads and "rask_version" in attrs, str(attrs))
    first = seen[LAYOUTS[0]]
    for layout, data in seen.items():
        if bitwise:
            same = data.keys() == first.keys() and all(np.array_equal(data[k], first[k], equal_nan=True) for k in data)
            checks.check(f"{name}: {layout} wrote bitwise what {LAYOUTS[0]} wrote", same)
        else:
            # ScaLAPACK's own reductions follow its process grid: equal to rounding, and
            # singular vectors only up to sign.
            same = np.abs(data["s"] - first["s"]).max() <= 1e-12 * first["s"][0]
            checks.check(f"{name}: s at {layout} equals s at {LAYOUTS[0]} to 1e-12", same)
    return first


with tempfile.TemporaryDirectory() as tmp:
    # ones((15,), chunks=(5,)).sum(); ones((15, 15), chunks=(5, 5)).sum(axis=0)
    d = run_everywhere(tmp, "array_ones", ["OUT"], "ones")
    if d:
        checks.check("ones((15,)).sum() = 15", d["ones_sum"] == np.ones(15).sum() and d["ones_sum"].shape == ())
        checks.check("ones((15, 15)).sum(axis=0)", close(d["ones_sum_axis0"], np.ones((15, 15)).sum(axis=0)))

    # randint(1, 10, (15, 15), chunks=(5, 5)) and the expressions on it, against NumPy on x.
    for size, chunk in ((15, 5), (130, 40)):
        d = run_everywhere(tmp, "array_randint", ["OUT", "--size", size, "--chunk", chunk], f"randint {size}/{chunk}")
        if not d:
            continue
        x = d["x"]
        checks.check(f"randint {size}: int64 in [1, 10)", x.dtype == np.int64 and x.min() >= 1 and x.max() <= 9)
        checks.check(f"randint {size}: x + x.T", np.array_equal(d["x_plus_xT"], x + x.T))
        p = x.dot(x.T + 1)
        checks.check(f"randint {size}: x.dot(x.T + 1)", np.array_equal(d["dot"], p))
        checks.check(f"randint {size}: x.dot(x.T + 1) - x.mean()", close(d["dot_minus_mean"], p - x.mean()))
        checks.check(f"randint {size}: (x.dot(x.T + 1) - x.mean()).std()", close(d["std"], (p - x.mean()).std()),
                     f"{d['std']!r} vs {(p - x.mean()).std()!r}")

    # random((N, 500), chunks=(500, 500)) -> svd(x), at a size a test can afford.
    d = run_everywhere(tmp, "array_svd", ["OUT", "--rows", 6000, "--cols", 60, "--chunk-rows", 500, "--uv",
                                          "--write-input"], "svd")
    if d:
        x, u, s, v = d["x"], d["u"], d["s"], d["v"]
        checks.check("svd: s equals LAPACK's on the gathered x (NumPy)",
                     close(s, np.linalg.svd(x, compute_uv=False)))
        checks.check("svd: |x - u s v| / |x| <= 1e-12",
                     np.linalg.norm(x - (u * s) @ v) / np.linalg.norm(x) <= 1e-12)
        checks.check("svd: |u'u - I| <= 1e-12", np.linalg.norm(u.T @ u - np.eye(60)) <= 1e-12)
        checks.check("svd: x is uniform [0, 1)", 0 <= x.min() and x.max() < 1 and abs(x.mean() - 0.5) < 0.01)

    # svd(x.dot(x.T)) through ScaLAPACK, which dask refuses, at a size a test can afford.
    d = run_everywhere(tmp, "array_svd_product", ["OUT", "--rows", 600, "--cols", 80, "--chunk", 100, "--uv",
                                                  "--write-input"], "svd of product", bitwise=False)
    if d:
        x, u, s, v = d["x"], d["u"], d["s"], d["v"]
        p = x.dot(x.T)
        ref = np.linalg.svd(p, compute_uv=False)
        # A rank-80 product: values past the 80th are rounding noise; compare to the largest.
        checks.check("svd(x.dot(x.T)): s equals LAPACK's (NumPy) on the same x",
                     np.abs(s - ref).max() <= 1e-12 * ref[0], f"max diff {np.abs(s - ref).max()}")
        checks.check("svd(x.dot(x.T)): |p - u s v| / |p| <= 1e-12",
                     np.linalg.norm(p - (u * s) @ v) / np.linalg.norm(p) <= 1e-12)
        checks.check("svd(x.dot(x.T)): |u'u - I| <= 1e-12", np.linalg.norm(u.T @ u - np.eye(600)) <= 1e-12)

    # from_hdf5 with the contract's expressions, against NumPy on the same dataset.
    a = np.random.default_rng(3).random((700, 90))
    src = os.path.join(tmp, "in.h5")
    with h5py.File(src, "w") as f:
        f["/x"] = a
        f["/group/ints"] = np.arange(12, dtype=np.int32).reshape(4, 3)
        f["/cube"] = np.zeros((2, 2, 2))
        f["/names"] = np.array([b"a", b"b"])
    d = run_everywhere(tmp, "array_hdf5", [src, "/x", "OUT", "--chunk-rows", 120, "--chunk-cols", 90], "from_hdf5")
    if d:
        checks.check("from_hdf5: (a + 2 * a).sum(0)", close(d["z"], (a + 2 * a).sum(0)))
        checks.check("from_hdf5: a.sum()", close(d["sum"], a.sum()))
        checks.check("from_hdf5: a.mean(1)", close(d["mean1"], a.mean(1)))
        checks.check("from_hdf5: a.std(0)", close(d["std0"], a.std(0)))
        checks.check("from_hdf5: abs(a - 0.5).max()", close(d["absmax"], np.abs(a - 0.5).max()))
        checks.check("from_hdf5: a.T.dot(a)", close(d["gram"], a.T.dot(a)))
        checks.check("from_hdf5: svd(a) s", close(d["s"], np.linalg.svd(a, compute_uv=False)))

    out = os.path.join(tmp, "bad.h5")
    # An integer dataset in a group; its output is the file the failing runs below must leave alone.
    r = checks.run(f"{build}/jobs/array_hdf5", [src, "/group/ints", out, "--chunk-rows", 2, "--chunk-cols", 2], ranks=2)
    checks.check("integer dataset in a group reads", r.returncode == 0, r.stderr)
    if r.returncode == 0:
        with h5py.File(out, "r") as f:
            ints = np.arange(12).reshape(4, 3)
            checks.check("integer dataset: sum is int64 and right", f["/sum"].dtype == np.int64 and f["/sum"][()] == 66)
            checks.check("integer dataset: mean(1)", close(f["/mean1"][()], ints.mean(1)))
    for ranks in (1, 2, 4):
        missing = os.path.join(tmp, "nowhere.h5")
        r = checks.run(f"{build}/jobs/array_hdf5", [missing, "/x", out], ranks=ranks)
        expect_one_error(f"missing HDF5 file at {ranks} ranks", r,
                         rf"^rask: error: cannot read dataset '/x' of HDF5 file '{re.escape(missing)}': the file does "
                         r"not exist")
        r = checks.run(f"{build}/jobs/array_hdf5", [src, "/y", out], ranks=ranks)
        expect_one_error(f"missing dataset at {ranks} ranks", r,
                         rf"^rask: error: HDF5 file '{re.escape(src)}' has no dataset '/y' \(datasets: /cube, /names, /x\)$")
        r = checks.run(f"{build}/jobs/array_hdf5", [src, "/cube", out], ranks=ranks)
        expect_one_error(f"3-d dataset at {ranks} ranks", r,
                         rf"^rask: error: dataset '/cube' of HDF5 file '{re.escape(src)}' has 3 dimensions; rask arrays "
                         r"have 0, 1 or 2")
        r = checks.run(f"{build}/jobs/array_hdf5", [src, "/names", out], ranks=ranks)
        expect_one_error(f"string dataset at {ranks} ranks", r,
                         rf"^rask: error: dataset '/names' of HDF5 file '{re.escape(src)}' holds string values; rask "
                         r"reads float, integer and bool datasets$")
        r = checks.run(f"{build}/jobs/array_hdf5", [src, "/x", os.path.join(tmp, "no/such/dir/out.h5")], ranks=ranks)
        expect_one_error(f"unwritable output at {ranks} ranks", r,
                         r"^rask: error: cannot create HDF5 file '.*no/such/dir/out.h5.rask-tmp' \(for '.*out.h5'\): .*"
                         r"check that the directory exists and is writable$")
    r = checks.run(f"{build}/jobs/array_svd", [out, "--rows", "ten"], ranks=2)
    expect_one_error("bad option", r, r"^rask: error: --rows wants a whole number >= 1, got 'ten'$")
    # The failed runs above wrote nothing over the earlier output.
    with h5py.File(out, "r") as f:
        checks.check("failed runs leave the previous output untouched", f["/sum"][()] == 66)

checks.finish()
