"""dask.config under `rask run`: settings are accepted and kept; the scheduler is always
the MPI job."""
from rask import _config, _ConfigSet

config = _config


def set(arg=None, **kwargs):  # noqa: A001
    return _ConfigSet(arg, **kwargs)


def get(key, default=None):
    return _config.get(key, _config.get(key.replace("-", "_"), default))


def refresh():
    pass
