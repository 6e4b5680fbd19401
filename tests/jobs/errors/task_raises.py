from dask import delayed


def inc(x):
    return 1 / (x - 3)


values = [delayed(inc)(i) for i in range(6)]
print(delayed(sum)(values).compute())
