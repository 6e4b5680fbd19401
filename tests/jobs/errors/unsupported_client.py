from dask.distributed import Client

Client().run(print)
