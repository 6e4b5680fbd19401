"""Collective tasks, timed side by side with their peers in one run on this machine.

  /usr/bin/python3 bench/run_collective.py --build build [--repetitions 3]

s of svd(x.dot(x.T)), x random 4000 x 500 in chunks of 500: the 4000 x 4000 product is
made by chunk tasks and factored by ScaLAPACK PDGESVD as one collective task inside the
same graph, at 2 ranks x 1 thread and 1 rank x 2 threads. Dask refuses this SVD (its
answer is printed), so the peer is NumPy's LAPACK SVD of the same product on the same
cores (the product's time not counted for NumPy). Medians; the machine is shared, so
read the ratios."""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_arrays import dask, median, rask  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build")
    parser.add_argument("--repetitions", type=int, default=3)
    args = parser.parse_args()
    build = os.path.abspath(args.build)
    print("s of svd(x.dot(x.T)), x 4000 x 500 in chunks of 500 (PDGESVD as a collective task)", flush=True)
    peer = dask("svdprod", "--rows", 4000, "--cols", 500, "--chunk", 500, "--repetitions", args.repetitions)
    numpy_s = peer["numpy_s"]["seconds"]
    for ranks, threads in ((2, 1), (1, 2)):
        t = median(rask(build, ranks, threads, "svdprod", 4000, 500, 500, args.repetitions, 0), "seconds")
        print(f"  rask {ranks} rank(s) x {threads} thread(s): {t:.2f} s (product included) | NumPy svd of the "
              f"product alone: {numpy_s:.2f} s | NumPy / rask {numpy_s / t:.2f}", flush=True)
    print(f"  Dask: {peer['dask']}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
