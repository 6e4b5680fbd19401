import dask.dataframe as dd

frame = dd.from_pandas(None, npartitions=2)
