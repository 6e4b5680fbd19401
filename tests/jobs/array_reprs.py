"""What Dask knows without computing, and the values, for many small expressions: run
under Dask and under rask by tests/check_job_arrays.py, which compares the output."""
import numpy as np
import dask.array as da
x = da.ones((6, 4), chunks=(3, 2), dtype=int)
f = da.ones((6, 4), chunks=(3, 2))
b = x > 0
exprs = ["x.sum()", "b.sum()", "b.mean()", "b.prod(axis=0)", "b + b", "b * 2", "x / x", "x ** 2", "x ** 0.5",
         "b.min()", "b.argmax()", "x.var()", "abs(x)", "x + True", "f + x", "x.T.dot(x)", "b.dot(x.T)",
         "x.mean(axis=1)", "np.exp(x)", "x == 1.5", "da.random.random((4, 4), chunks=2)",
         "da.random.random_sample(4)", "da.arange(5, 20, 3, chunks=2)", "da.full((2, 3), 1.5)",
         "da.full((2, 3), True)", "da.zeros(7, chunks=3, dtype=bool)", "x[1:5, 1:]", "x[..., 1:3]", "x[::2]",
         "f.rechunk(2)", "f.rechunk({0: 4})", "f.rechunk((-1, 1))", "x.std(ddof=1)", "da.ones(()) + 1",
         "x.sum(axis=(0, 1))", "x.sum(axis=-1, keepdims=True)", "np.sum(x, axis=0)", "np.mean(f)", "1 / x", "2 - f",
         "f @ np.ones(4)", "np.ones((2, 6)) @ f", "x + np.arange(4)", "x - np.ones((6, 1))", "x.astype(float)",
         "b.astype(int)", "x.astype(bool)", "x.transpose()", "x.transpose((1, 0))", "np.transpose(f)"]
for e in exprs:
    try:
        a = eval(e)
        values = a.compute()
        # rask's random numbers are not NumPy's (by design): their shape and range only.
        shown = (values.shape, bool(((values >= 0) & (values < 1)).all())) if e.startswith("da.random") else \
            np.round(np.asarray(values, dtype=float), 10).tolist()
        print(e, "|", repr(a), a.chunks, "|", shown)
    except Exception as ex:
        print(e, "|", type(ex).__name__)
