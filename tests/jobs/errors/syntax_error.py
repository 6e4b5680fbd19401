from dask import delayed

x = = 1
