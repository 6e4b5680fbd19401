import threading

from dask import delayed


def use(lock, x):
    return x


lock = threading.Lock()
print(delayed(use)(lock, 1).compute())
