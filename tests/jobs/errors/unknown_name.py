from dask import delayed

x = delayed(len)([1])
print(undefined_name)
