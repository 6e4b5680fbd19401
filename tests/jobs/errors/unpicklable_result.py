import threading

from dask import compute, delayed


def make_lock(x):
    return threading.Lock()


print(compute([delayed(make_lock)(i) for i in range(8)]))
