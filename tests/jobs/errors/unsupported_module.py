import dask.dataframe as dd
