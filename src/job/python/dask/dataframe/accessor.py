"""Series.dt under `rask run`: pandas' timestamp accessors, as rask's C++ knows them
(the names, the frequencies floor takes, and the types they give are its rules)."""
import _rask_frame as _f

from .core import Series, _unsupported

# Asked once: the names C++ parses (year, month, ..., weekday, date).
_PROPERTIES = frozenset(_f.dt_properties())


class DatetimeAccessor:
    """Series.dt: the timestamp fields, as pandas' names."""

    def __init__(self, series):
        self._series = series

    def _derived(self, expr, dask_field):
        s = self._series
        return Series(expr, s._layers | {f"dt-{dask_field}-{expr.token}"}, f"dt-{dask_field}")

    def __getattr__(self, name):
        if name in _PROPERTIES:
            return self._derived(_f.dt(self._series._expr, name), name)
        if name.startswith("_"):
            raise AttributeError(name)
        raise _unsupported("Series.dt", name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | _PROPERTIES)

    def normalize(self):
        return self._derived(_f.dt(self._series._expr, "normalize"), "normalize")

    def floor(self, freq):
        return self._derived(_f.dt_floor(self._series._expr, freq), "floor")
