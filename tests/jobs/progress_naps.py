"""--progress: N naps of S seconds, then their sum (N + 1 tasks), as one compute.

Run: mpirun -n 2 rask run --progress tests/jobs/progress_naps.py [N] [S]
"""
import sys
import time

from dask import compute, delayed

n = int(sys.argv[1]) if len(sys.argv) > 1 else 40
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 0.15


def nap(i):
    time.sleep(seconds)
    return i


print("sum =", compute(delayed(sum)([delayed(nap)(i) for i in range(n)]))[0])
