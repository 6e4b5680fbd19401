"""The peer for bench/bench_arrays.py: the same computations in dask.array (Debian's
python3-dask, threaded scheduler, one worker per core) and NumPy, each timed
--repetitions times in this process. Prints one JSON object. Run with /usr/bin/python3."""
import argparse
import json
import statistics
import time

import dask
import dask.array as da
import numpy as np


def timed(f, repetitions):
    times = []
    for _ in range(repetitions):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return {"seconds": statistics.median(times), "runs": times}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["std", "svd", "svdprod", "persist"])
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--rows", type=int, default=200000)
    parser.add_argument("--cols", type=int, default=500)
    parser.add_argument("--chunk", type=int, default=500)
    parser.add_argument("--repetitions", type=int, default=2)
    args = parser.parse_args()
    dask.config.set(scheduler="threads")
    out = {}
    if args.what == "std":
        def f():
            x = da.random.random((args.n, args.n), chunks=(args.chunk, args.chunk))
            (x.dot(x.T + 1) - x.mean()).std().compute()
        out = timed(f, args.repetitions)
    elif args.what == "svd":
        def f():
            x = da.random.random((args.rows, args.cols), chunks=(args.chunk, args.cols))
            u, s, v = da.linalg.svd(x)
            s.compute()
        out = timed(f, args.repetitions)
    elif args.what == "svdprod":
        # Dask's svd refuses x.dot(x.T) (several columns of chunks): the peer is NumPy's
        # LAPACK SVD of the same product on the same cores.
        x = np.random.default_rng(7).random((args.rows, args.cols))
        p = x.dot(x.T)
        # rask knows p is symmetric positive semi-definite and uses the symmetric
        # eigensolvers; NumPy's own for that is alongside, for a like-for-like figure.
        out = {"numpy_s": timed(lambda: np.linalg.svd(p, compute_uv=False), args.repetitions),
               "numpy_eigvalsh": timed(lambda: np.linalg.eigvalsh(p), args.repetitions)}
        try:
            xd = da.from_array(x, chunks=(args.chunk, args.chunk))
            da.linalg.svd(xd.dot(xd.T))
            out["dask"] = "accepted"
        except Exception as e:  # the workshop's point: dask raises here
            out["dask"] = f"raises {type(e).__name__}: {str(e)[:120]}"
    else:
        x = da.random.random((args.n, args.n), chunks=(args.chunk, args.chunk)).persist()
        out = timed(lambda: (x + x.T).sum(axis=0).compute(), args.repetitions)
        out["gbps"] = 8.0 * args.n * args.n / out["seconds"] / 1e9
        out["runs_gbps"] = [8.0 * args.n * args.n / t / 1e9 for t in out["runs"]]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
