import sys
import time

from dask import compute, delayed


def nap(i):
    time.sleep(0.5)
    return i


print("started", flush=True)
if sys.argv[1:] == ["idle"]:
    time.sleep(60)
print(compute([delayed(nap)(i) for i in range(60)]))
