import dask

bag = dask.bag.from_sequence([1, 2])
