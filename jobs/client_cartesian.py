"""Workshop exercise 2.1 with dask.distributed: client.submit per pair, then gather.
Under rask the Client describes the MPI job; the submits run as one planned graph.

Run: mpirun -n 2 rask run jobs/client_cartesian.py [sleep scale]
"""
import random
import sys
import time
from itertools import product

from dask.distributed import Client, LocalCluster

scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0


def f(a, b):
    time.sleep(0.020 * scale)
    return a - b


def g(a, b):
    time.sleep(0.030 * scale)
    return a * b


if __name__ == "__main__":
    random.seed(42)
    A = [random.randint(1, 9) for _ in range(50)]
    B = [random.randint(4, 12) for _ in range(25)]

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster, Client(cluster) as client:
        futures = {}
        for a, b in product(A, B):
            futures[(a, b)] = (client.submit(f, a, b), client.submit(g, a, b))
        results = client.gather(futures)

    for pair in sorted(results):
        print(pair, results[pair])
