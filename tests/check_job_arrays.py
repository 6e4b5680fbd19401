"""dask.array in job scripts: jobs/arrays.py and jobs/svd.py run under Dask (this Python,
Debian's python3-dask) and under `rask run` at 1, 2 and 4 ranks with 1 and 2 threads,
on inputs NumPy wrote to HDF5; printed outputs must be equal and the datasets written
equal to 1e-12 of each dataset's largest magnitude (rask's own runs bitwise equal to
each other). rask's random generator is checked by its statistics (moments, a
Kolmogorov-Smirnov test per chunk and overall, chi-square for integers), and bad input
at 2 ranks ends with a non-zero exit on every rank, a message naming the script line,
and no output file."""
import math
import os
import re
import subprocess
import sys
import tempfile

import h5py
import numpy as np

from harness import Checks, h5_datasets, relative_error

checks = Checks(__doc__)
build = checks.build
source = checks.source
rask = checks.rask
tmp = tempfile.TemporaryDirectory()

rng = np.random.default_rng(20221201)
inputs = {"arrays": os.path.join(tmp.name, "arrays_in.h5"), "svd": os.path.join(tmp.name, "svd_in.h5")}
with h5py.File(inputs["arrays"], "w") as f:
    f["x"] = rng.integers(1, 10, size=(15, 15))
    f["r"] = rng.random((15, 15))
with h5py.File(inputs["svd"], "w") as f:
    f["x"] = rng.random((400, 30))


def close(got, want):
    """Equal keys, shapes and dtypes; values within 1e-12 of each dataset's largest."""
    if got.keys() != want.keys():
        return f"datasets {sorted(got)} vs {sorted(want)}"
    for k in want:
        g, w = got[k], want[k]
        if g.shape != w.shape or g.dtype != w.dtype:
            return f"{k}: {g.shape} {g.dtype} vs {w.shape} {w.dtype}"
        err = relative_error(g, w)
        if not err <= 1e-12:
            return f"{k}: relative difference {err:.3g}"
    return ""


def run_rask(script, args, ranks, threads, work):
    return checks.run(rask, ["run", "--costs", os.path.join(work, "job.rask-costs"), script, *args], ranks=ranks,
                      threads=threads, timeout=300)


for name, script in (("arrays", "jobs/arrays.py"), ("svd", "jobs/svd.py"), ("delayed", "tests/jobs/array_delayed.py"),
                       ("linalg", "tests/jobs/array_linalg.py")):
    script = os.path.join(source, script)
    extra = [inputs[name]] if name in inputs else []
    work = tempfile.mkdtemp(dir=tmp.name)
    dask_out = os.path.join(work, "out.h5")
    d = subprocess.run([sys.executable, script, *extra, dask_out], capture_output=True, text=True,
                       timeout=300, cwd=work)
    checks.check(f"{name}.py runs under Dask", d.returncode == 0, d.stderr)
    want = h5_datasets(dask_out)
    first = None
    for ranks, threads in ((1, 1), (1, 2), (2, 1), (2, 2), (4, 1)):
        at = f"{name}.py at {ranks} rank(s) x {threads} thread(s)"
        work = tempfile.mkdtemp(dir=tmp.name)
        out = os.path.join(work, "out.h5")
        r = run_rask(script, [*extra, out], ranks, threads, work)
        checks.check(f"{at}: exit 0", r.returncode == 0, r.stderr)
        checks.check(f"{at}: prints what Dask prints", r.stdout == d.stdout and r.stdout != "",
                     f"rask:\n{r.stdout}\nDask:\n{d.stdout}")
        got = h5_datasets(out) if os.path.exists(out) else {}
        problem = close(got, want)
        checks.check(f"{at}: datasets equal Dask's to 1e-12", problem == "", problem)
        if first is None:
            first = got
        else:
            same = got.keys() == first.keys() and all(np.array_equal(got[k], first[k]) for k in got)
            checks.check(f"{at}: bitwise the same as at 1 rank x 1 thread", same)

# Many small expressions: reprs, chunks and values as Dask's.
script = os.path.join(source, "tests", "jobs", "array_reprs.py")
d = subprocess.run([sys.executable, script], capture_output=True, text=True, timeout=120, cwd=tmp.name)
for ranks, threads in ((1, 2), (4, 1)):
    work = tempfile.mkdtemp(dir=tmp.name)
    r = run_rask(script, [], ranks, threads, work)
    checks.check(f"tests/jobs/array_reprs.py at {ranks} rank(s) x {threads} thread(s): reprs, chunks and values as "
                 "Dask's", r.returncode == 0 and r.stdout == d.stdout and d.stdout.count("\n") > 40,
                 f"rask:\n{r.stdout}{r.stderr}\nDask:\n{d.stdout}{d.stderr}")

# The workshop's cells against NumPy on the input directly (independent of both).
with h5py.File(inputs["arrays"], "r") as f:
    x = np.array(f["x"])
product = x.dot(x.T + 1)
numpy_results = {"x_plus_xT": x + x.T, "dot": product, "std": np.std(product - x.mean())}
work = tempfile.mkdtemp(dir=tmp.name)
r = run_rask(os.path.join(source, "jobs", "arrays.py"), [inputs["arrays"], f"{work}/o.h5"], 2, 1, work)
got = h5_datasets(f"{work}/o.h5")
problem = close({k: got[k] for k in numpy_results}, {k: np.asarray(v) for k, v in numpy_results.items()})
checks.check("workshop cells at 2 ranks equal NumPy's on the same input", problem == "", problem)


# rask's generator: statistics, per chunk and overall.
def ks_statistic(sample, cdf):
    """Kolmogorov-Smirnov D of a sample against a continuous CDF (vectorized)."""
    s = np.sort(sample.ravel())
    n = s.size
    f = cdf(s)
    return max(float((np.arange(1, n + 1) / n - f).max()), float((f - np.arange(n) / n).max()))


def ks_limit(n, alpha):
    # The asymptotic critical value c(alpha) / sqrt(n), c = sqrt(-ln(alpha / 2) / 2).
    return math.sqrt(-0.5 * math.log(alpha / 2)) / math.sqrt(n)


normal_cdf = np.vectorize(lambda v: 0.5 * (1 + math.erf((v - 2) / (3 * math.sqrt(2)))))
cdfs = {
    "random": lambda v: np.clip(v, 0, 1),
    "uniform": lambda v: np.clip((v + 1) / 5, 0, 1),
    "normal": normal_cdf,
    "vector": lambda v: np.clip(v, 0, 1),
}
moments = {"random": (0.5, 1 / 12), "uniform": (1.5, 25 / 12), "normal": (2.0, 9.0), "vector": (0.5, 1 / 12)}
results = {}
for ranks, threads in ((1, 1), (2, 2), (4, 1)):
    work = tempfile.mkdtemp(dir=tmp.name)
    r = run_rask(os.path.join(source, "tests", "jobs", "array_random.py"), [f"{work}/random.h5"], ranks, threads, work)
    checks.check(f"random arrays at {ranks} rank(s) x {threads} thread(s): exit 0", r.returncode == 0, r.stderr)
    results[(ranks, threads)] = h5_datasets(f"{work}/random.h5")
base = results[(1, 1)]
checks.check("random arrays: the same numbers at 1, 2 and 4 ranks and 1 and 2 threads",
             all(v.keys() == base.keys() and all(np.array_equal(v[k], base[k]) for k in base)
                 for v in results.values()))
checks.check("random arrays: the same seed in other chunks gives the same numbers",
             np.array_equal(base["random"], base["same_seed_one_chunk"]))
checks.check("random arrays: a RandomState's next call gives other numbers",
             not np.array_equal(base["next_call_a"], base["next_call_b"]) and
             abs(np.corrcoef(base["next_call_a"].ravel(), base["next_call_b"].ravel())[0, 1]) < 0.01)
for name, cdf in cdfs.items():
    a = base[name]
    mean, var = moments[name]
    n = a.size
    # The sample mean within 5 standard errors; the variance within 5 of its own (normal
    # fourth moment 3 var^2, uniform 9/5 var^2: 3 var^2 bounds both).
    ok_mean = abs(a.mean() - mean) < 5 * math.sqrt(var / n)
    ok_var = abs(a.var() - var) < 5 * math.sqrt(2 * var * var / n)
    checks.check(f"{name}: mean and variance", ok_mean and ok_var, f"mean {a.mean()} var {a.var()} vs {mean} {var}")
    d_all = ks_statistic(a, cdf)
    checks.check(f"{name}: Kolmogorov-Smirnov overall (D = {d_all:.5f})", d_all < ks_limit(n, 1e-3))
    if a.ndim == 2:
        chunk_list = [a[i:i + 100, j:j + 125] for i in range(0, 400, 100) for j in range(0, 500, 125)]
    else:
        chunk_list = [a[i:i + 7000] for i in range(0, a.size, 7000)]
    worst = max(ks_statistic(c, cdf) * math.sqrt(c.size) for c in chunk_list)
    # Per chunk at 1e-4 each (Bonferroni over at most 16 chunks: 1.6e-3 overall).
    checks.check(f"{name}: Kolmogorov-Smirnov per chunk ({len(chunk_list)} chunks, worst sqrt(n) D = {worst:.3f})",
                 worst < math.sqrt(-0.5 * math.log(1e-4 / 2)))
ints = base["randint"]
counts = np.bincount(ints.ravel().astype(np.int64), minlength=7)
expected = ints.size / 7
chi2 = float(((counts - expected) ** 2 / expected).sum())
# 6 degrees of freedom: P(chi2 > 27.86) = 1e-4.
checks.check(f"/randint: values in [0, 7), int64, chi-square {chi2:.2f} < 27.86",
             ints.dtype == np.int64 and ints.min() == 0 and ints.max() == 6 and chi2 < 27.86, str(counts))

# Only expressions cross ranks: a million chunks make a record of a few hundred bytes,
# and computing a reduction of 40,000 chunks sends little more than the partials.
many = os.path.join(tmp.name, "many.py")
with open(many, "w") as f:
    f.write("import dask.array as da\n"
            "x = da.ones((1000000, 1000), chunks=(1000, 1))\n"
            "y = ((x + x.T.T) * 2).sum(axis=0)\n"
            "print(x.npartitions, len(y.__rask_delayed__()._args[1]))\n"
            "z = da.ones((2000, 2000), chunks=(10, 10)).sum()\n"
            "print(z.compute())\n")
r = checks.run(rask, ["run", "--no-learn", many], ranks=2, timeout=120)
lines = r.stdout.split()
checks.check("a million-chunk expression's record is under 1 kB; 40,000 chunks summed at 2 ranks",
             r.returncode == 0 and lines[0] == "1000000" and int(lines[1]) < 1000 and lines[2] == "4000000.0",
             r.stdout + r.stderr)

# Persisted arrays are freed on every rank when the script drops them.
work = tempfile.mkdtemp(dir=tmp.name)
r = run_rask(os.path.join(source, "tests", "jobs", "array_persist.py"), [], 2, 1, work)
want = "".join(f"{i} {100 * (1 + i)}\n" for i in range(12)) + \
    f"built on a dropped one: {16000000 * 12 * 2}\nafter: 16000000\n"
peaks = re.search(r"peak memory per rank ([\d/]+) MB", r.stderr)
peak = max(int(v) for v in peaks.group(1).split("/")) if peaks else 10**9
checks.check("persist in a loop at 2 ranks: right sums, peak memory per rank under 400 MB (768 MB of chunks made)",
             r.returncode == 0 and r.stdout == want and peak < 400, f"{r.stdout}{r.stderr}")

# A square SVD (ScaLAPACK, a collective task in the graph) against NumPy's, and
# the same script under --dry-run (planned on rank 0 alone: it must not wait for the
# other ranks, and writes nothing).
square_script = os.path.join(tmp.name, "square.py")
with open(square_script, "w") as f:
    f.write("import sys\n"
            "import h5py\n"
            "import dask\n"
            "import dask.array as da\n"
            f"x = da.from_array(h5py.File({inputs['svd']!r}, 'r')['x'], chunks=(100, 30))\n"
            "p = x.dot(x.T)\n"
            "s = da.linalg.svd(p)[1]\n"
            "dask.visualize(s, filename=sys.argv[1] + '.dot')  # drawn on rank 0: must not wait\n"
            "print(s.compute().shape, s.dtype)\n"
            "da.to_hdf5(sys.argv[1], '/s', s)\n")
with h5py.File(inputs["svd"], "r") as f:
    xs = np.array(f["x"])
want_s = np.linalg.svd(xs.dot(xs.T), compute_uv=False)
for ranks, threads in ((1, 2), (2, 1), (4, 1)):
    work = tempfile.mkdtemp(dir=tmp.name)
    r = run_rask(square_script, [f"{work}/s.h5"], ranks, threads, work)
    got = h5_datasets(f"{work}/s.h5") if r.returncode == 0 else {}
    problem = close(got, {"s": want_s}) if got else r.stderr
    checks.check(f"svd(x.dot(x.T)) by ScaLAPACK at {ranks} rank(s) x {threads} thread(s) equals NumPy's",
                 problem == "", problem)
    checks.check(f"dask.visualize of that svd at {ranks} rank(s) x {threads} thread(s) draws it",
                 os.path.exists(f"{work}/s.h5.dot") and "->" in open(f"{work}/s.h5.dot").read())
work = tempfile.mkdtemp(dir=tmp.name)
r = checks.run(rask, ["run", "--dry-run", square_script, f"{work}/s.h5"], ranks=2, timeout=60)
checks.check("--dry-run of a ScaLAPACK SVD at 2 ranks: plans, prints zeros' shape, exit 0, writes nothing",
             r.returncode == 0 and "rask --dry-run: compute" in r.stdout and "(400,) float64" in r.stdout and
             not os.path.exists(f"{work}/s.h5"), r.stdout + r.stderr)

# Every message for refused input, in one script (keys of tasks normalized to KEY, the
# common tail of NotImplementedError messages to <unsupported>).
UNSUPPORTED = " is not supported by rask; see the table 'What is supported' in rask's README.md"
expected_errors = [
    '3-d | NotImplementedError: dask arrays of 3 dimensions (rask arrays have 0, 1 or 2) <unsupported>',
    'dtype | NotImplementedError: dask arrays of dtype <U1 (rask arrays hold float64, int64 and bool)'
     ' <unsupported>',
    'negative step | NotImplementedError: slices with negative or zero steps <unsupported>',
    'integer index | NotImplementedError: integer indexing of dask arrays (x[1]; slice instead: x[1:2])'
     ' <unsupported>',
    'boolean index | NotImplementedError: indexing dask arrays by Array (slice by ranges: x[a:b, c:d:s])'
     ' <unsupported>',
    'astype rounding | NotImplementedError: Array.astype(int64) from float64 (rounding casts)'
     ' <unsupported>',
    'floordiv | NotImplementedError: // on dask arrays <unsupported>',
    "chunks spec | ValueError: chunks=1.5 is not a chunk specification; give an int, a tuple or 'auto'",
    "chunks sum | ValueError: chunks (3,) for dimension 0 sum to 3, not the shape's 4",
    'chunks dims | ValueError: chunks=(2, 2, 2) gives 3 dimension(s) for shape (4, 4); give one chunk'
     ' size per dimension',
    'chunk size | ValueError: chunk size 0 for dimension 0 of shape (4,) must be positive',
    'from_delayed dtype | ValueError: You must specify the meta or dtype of the array',
    'ufunc | NotImplementedError: numpy.sin on dask arrays <unsupported>',
    'numpy function | NotImplementedError: numpy.cumsum on dask arrays <unsupported>',
    "svd_compressed iterator | NotImplementedError: svd_compressed(iterator='QR') <unsupported>",
    'linalg of numpy | NotImplementedError: dask.array.linalg.svd of a ndarray object (give a dask'
     ' array: da.from_array(...)) <unsupported>',
    'bool subtract | TypeError: numpy boolean subtract, the `-` operator, is not supported, use the'
     ' bitwise_xor, the `^` operator, or the logical_xor function instead.',
    'bool negative | TypeError: The numpy boolean negative, the `-` operator, is not supported, use the'
     ' `~` operator or the logical_not function instead.',
    "arange float | NotImplementedError: dask.array.arange with floats (rask's arange is int64)"
     ' <unsupported>',
    'transpose axes | NotImplementedError: Array.transpose(0, 1) <unsupported>',
    "to_hdf5 arguments | TypeError: to_hdf5 takes (filename, '/name', array) or (filename, {'/name':"
     ' array, ...})',
    'unknown name | NotImplementedError: dask.array.map_blocks <unsupported>',
    'unknown random | NotImplementedError: dask.array.random.poisson <unsupported>',
    'unknown linalg | NotImplementedError: dask.array.linalg.cholesky <unsupported>',
    'svd of 1-d | ValueError: svd: needs a 2-d array, got shape (4,)',
    'reduce axis | ValueError: sum: axis 2 is out of bounds for an array of dimension 2 (shape (4, 4))',
    'dot shapes | ValueError: dot: shapes are not aligned: shape (4, 4) chunks ((2, 2), (2, 2)) and'
     " shape (3, 3) chunks ((3,), (3,)); the left operand's last axis must match the right operand's"
     ' first axis in length and chunks (rechunk one of them)',
    "wrong from_delayed shape | TaskError: task 'from-value-KEY' failed on rank 0: from_delayed: the"
     " value of 'ones-KEY' has shape (3,), not the shape (4,) given to da.from_delayed; give its shape",
]
r = run_rask(os.path.join(source, "tests", "jobs", "array_errors.py"), [], 2, 1, tempfile.mkdtemp(dir=tmp.name))
got_errors = [re.sub(r"'([a-z_]+(?:-[a-z_]+)*)-[0-9a-f]{6,}'", r"'\1-KEY'", line).replace(UNSUPPORTED, " <unsupported>")
              for line in r.stdout.splitlines()]
for want_line, got_line in zip(expected_errors, got_errors + [""] * len(expected_errors)):
    checks.check(f"message for {want_line.split(' | ')[0]}", got_line == want_line,
                 f"got  {got_line}\nwant {want_line}")
checks.check("every refused input has its message", len(got_errors) == len(expected_errors), r.stdout + r.stderr)

# Bad input at 2 ranks: each rank's own exit status, the script line, no output file.
bad = {
    "shapes that do not fit": ("import dask.array as da\n"
                               "a = da.ones((10, 10), chunks=(5, 5))\n"
                               "b = da.ones((10, 7), chunks=(5, 5))\n"
                               "c = a + b.T\n"
                               "da.to_hdf5('out.h5', '/c', c)\n",
                               ["line 4", "c = a + b.T", "ValueError: add: shapes cannot be broadcast together: "
                                "shape (10, 10) chunks ((5, 5), (5, 5)) and shape (7, 10)"]),
    "dot of shapes that do not fit": ("import dask.array as da\n"
                                      "a = da.ones((10, 6), chunks=(5, 3))\n"
                                      "d = a.dot(a)\n"
                                      "da.to_hdf5('out.h5', '/d', d)\n",
                                      ["line 3", "d = a.dot(a)", "ValueError: dot"]),
    "an unsupported name": ("import dask.array as da\n"
                            "a = da.ones((10, 10), chunks=(5, 5))\n"
                            "e = da.einsum('ii', a)\n"
                            "da.to_hdf5('out.h5', '/e', e)\n",
                            ["line 3", "NotImplementedError: dask.array.einsum is not supported by rask; see the "
                             "table 'What is supported' in rask's README.md"]),
    "integer indexing": ("import dask.array as da\n"
                         "a = da.ones((10, 10), chunks=(5, 5))\n"
                         "row = a[3]\n"
                         "da.to_hdf5('out.h5', '/row', row)\n",
                         ["line 3", "NotImplementedError: integer indexing of dask arrays (x[3]; slice instead: "
                                    "x[3:4]) is not supported by rask"]),
    "from_delayed of the wrong shape": ("import numpy as np\n"
                                        "import dask\n"
                                        "import dask.array as da\n"
                                        "a = da.from_delayed(dask.delayed(np.ones)((3, 4)), shape=(4, 3), "
                                        "dtype=float)\n"
                                        "da.to_hdf5('out.h5', '/a', a)\n",
                                        ["line 5", "from_delayed: the value of 'ones-", "has shape (3, 4), not the "
                                         "shape (4, 3) given to da.from_delayed"]),
    "a missing HDF5 file": ("import h5py\n"
                            "import dask.array as da\n"
                            "a = da.ones((10, 10), chunks=(5, 5))\n"
                            "da.to_hdf5('out.h5', '/a', a)\n"
                            "b = da.from_array(h5py.File('missing.h5', 'r')['x'], chunks=(5, 5))\n",
                            ["line 5", "missing.h5"]),
}
for name, (text, patterns) in bad.items():
    work = tempfile.mkdtemp(dir=tmp.name)
    path = os.path.join(work, "bad.py")
    with open(path, "w") as f:
        f.write(text)
    # Each rank reports its own exit status, so a rank that hangs or exits 0 is seen.
    command = (f"cd {work} && {rask} run --no-learn {path}; "
               "echo \"rank $OMPI_COMM_WORLD_RANK exit $?\"")
    r = checks.run("/bin/sh", ["-c", command], ranks=2, timeout=60)
    statuses = sorted(line for line in r.stdout.splitlines() if line.startswith("rank "))
    ok_exit = len(statuses) == 2 and all(not s.endswith(" exit 0") for s in statuses)
    checks.check(f"{name}: non-zero exit on both ranks", ok_exit, r.stdout + r.stderr)
    missing = [p for p in patterns if p not in r.stderr]
    checks.check(f"{name}: message names the place and the fix", not missing, f"missing {missing}\n{r.stderr}")
    if name != "a missing HDF5 file":
        checks.check(f"{name}: no output file", not os.path.exists(os.path.join(work, "out.h5")),
                     str(os.listdir(work)))

checks.finish()
