"""dask.distributed's futures, printed: runs under Dask and under rask run alike."""
import operator

from dask import delayed
from dask.distributed import Client, LocalCluster, as_completed, wait


def inc(x):
    return x + 1


def add(x, y):
    return x + y


def boom(x):
    raise ValueError(f"boom {x}")


if __name__ == "__main__":
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False) as cluster, Client(cluster) as client:
        a = client.submit(inc, 1)
        b = client.submit(inc, 2)
        c = client.submit(add, a, b)  # futures as arguments
        print("result:", c.result())
        squares = client.map(operator.mul, range(5), range(5))
        print("map + gather:", client.gather(squares))
        print("gather dict:", client.gather({"a": a, "pair": [b, c]}))
        totals = sorted(f.result() for f in as_completed([client.submit(inc, i) for i in range(4)]))
        print("as_completed:", totals)
        wait(squares)
        print("compute:", client.compute(delayed(add)(1, 2)).result())
        bad = client.submit(boom, 7)
        try:
            bad.result()
        except ValueError as e:
            print("ValueError raised by result()")
        x = client.scatter(10)
        print("scatter:", client.submit(add, x, 5).result())
        d = client.submit(add, c, 100)  # c finished in an earlier batch: its value is used
        print("finished future as an argument:", d.result())
