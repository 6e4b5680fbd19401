"""dask.config's settings, kept here so that delayed() can read delayed_pure."""
# dask.config, kept here so delayed() can read delayed_pure.
_config = {}


class _ConfigSet:
    def __init__(self, arg=None, **kwargs):
        updates = dict(arg or {})
        updates.update(kwargs)
        self._old = {}
        for k, v in updates.items():
            if k in ("scheduler", "get"):
                from .base import scheduler_note
                scheduler_note(v)
            k = k.replace("_", "-") if k != "delayed_pure" else k
            self._old[k] = _config.get(k, _MISSING)
            _config[k] = v

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for k, v in self._old.items():
            if v is _MISSING:
                _config.pop(k, None)
            else:
                _config[k] = v


_MISSING = object()
