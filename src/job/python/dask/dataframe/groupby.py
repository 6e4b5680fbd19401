"""dask.dataframe's groupby under `rask run`: each aggregation is one rask expression
(partial tables per block, merged by a fixed tree), a Series indexed by the sorted keys."""
import pandas as pd

import _rask_frame as _f
import rask as _rask_py

from .core import _GROUPBY_LAYERS, _Base, _plural, _repr_column, _repr_index, Series, _unsupported

_AGGS = ("sum", "mean", "min", "max", "count", "std", "var", "first", "last")


class DataFrameGroupBy:
    """df.groupby(by): pick a column (attribute or item), or aggregate every other one."""

    def __init__(self, frame, keys, by_names):
        self._frame = frame
        self._keys = keys
        self._by_names = by_names
        layers = frame._layers
        for k in keys:
            if not by_names:  # a column named by string adds no layer of its own
                layers = layers | k._layers
        self._layers = layers

    def _spec(self):
        return {"agg": True, "date_keys": tuple(i for i, k in enumerate(self._keys) if k._date)}

    def _aggregate(self, column, agg):
        expr = _f.groupby_agg(self._frame._expr, [k._expr for k in self._keys], column, agg)
        count, name = _GROUPBY_LAYERS[agg]
        shared = f"groupby-{self._frame._expr.token}-{'-'.join(k._expr.token for k in self._keys)}-{column}"
        layers = self._layers | {shared} | {f"{agg}-{i}-{expr.token}" for i in range(count - 1)}
        return Series(expr, layers, name, self._spec())

    def _value_columns(self):
        keys = {k.name for k in self._keys} if self._by_names else set()
        return [n for n, _ in self._frame._schema if n not in keys]

    def __getitem__(self, column):
        if isinstance(column, str):
            have = {n for n, _ in self._frame._schema}
            if column not in have:
                raise KeyError(f"Column not found: {column}")
            return SeriesGroupBy(self, column)
        if isinstance(column, (list, tuple)):
            have = {n for n, _ in self._frame._schema}
            for c in column:
                if c not in have:
                    raise KeyError(f"Columns not found: {c}")
            return _Selection(self, list(column))
        raise _rask_py.unsupported(f"DataFrameGroupBy[{type(column).__name__}]")

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        if name in dict(self.__dict__.get("_frame")._schema):
            return self[name]
        if hasattr(pd.core.groupby.DataFrameGroupBy, name):
            raise _unsupported("DataFrameGroupBy", name)
        raise AttributeError(f"'DataFrameGroupBy' object has no attribute '{name}'")

    def size(self):
        expr = _f.groupby_agg(self._frame._expr, [k._expr for k in self._keys], "", "size")
        count, name = _GROUPBY_LAYERS["size"]
        layers = self._layers | {f"size-{i}-{expr.token}" for i in range(count)}
        spec = dict(self._spec(), name=None)
        return Series(expr, layers, name, spec)

    def agg(self, arg, **kwargs):
        if kwargs:
            raise _unsupported("DataFrameGroupBy.agg", next(iter(kwargs)))
        if isinstance(arg, dict):
            have = {n for n, _ in self._frame._schema}
            parts = []
            for column, agg in arg.items():
                if not isinstance(agg, str) or agg not in _AGGS:
                    raise _rask_py.unsupported(f"DataFrameGroupBy.agg({{{column!r}: {agg!r}}})")
                if column not in have:
                    raise KeyError(f"Column not found: {column}")
                parts.append((column, self._aggregate(column, agg)))
            return GroupedFrame(parts, "aggregate-agg", 3, self._layers)
        if isinstance(arg, str) and arg in _AGGS:
            return getattr(self, arg)()
        raise _rask_py.unsupported(f"DataFrameGroupBy.agg({arg!r})")

    aggregate = agg


def _frame_agg(agg):
    def method(self, **kwargs):
        parts = [(c, self._aggregate(c, agg)) for c in self._value_columns()]
        count, name = _GROUPBY_LAYERS[agg]
        return GroupedFrame(parts, name.replace("series-", "dataframe-"), count, self._layers)
    method.__name__ = agg
    return method


class _Selection(DataFrameGroupBy):
    """df.groupby(by)[[columns]]."""

    def __init__(self, parent, columns):
        super().__init__(parent._frame, parent._keys, parent._by_names)
        self._columns = columns

    def _value_columns(self):
        return self._columns


for _agg in _AGGS:
    setattr(DataFrameGroupBy, _agg, _frame_agg(_agg))


class SeriesGroupBy:
    """df.groupby(by).column: pandas' reductions per group."""

    def __init__(self, parent, column):
        self._parent = parent
        self._column = column

    def _make(self, agg):
        return self._parent._aggregate(self._column, agg)

    def agg(self, arg, **kwargs):
        if kwargs:
            raise _unsupported("SeriesGroupBy.agg", next(iter(kwargs)))
        if isinstance(arg, str) and arg in _AGGS:
            return self._make(arg)
        if isinstance(arg, (list, tuple)) and all(isinstance(a, str) and a in _AGGS for a in arg):
            return GroupedFrame([(a, self._make(a)) for a in arg], "aggregate-agg", 3, self._parent._layers)
        raise _rask_py.unsupported(f"SeriesGroupBy.agg({arg!r})")

    aggregate = agg

    def size(self):
        return self._parent.size()

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        if hasattr(pd.core.groupby.SeriesGroupBy, name):
            raise _unsupported("SeriesGroupBy", name)
        raise AttributeError(f"'SeriesGroupBy' object has no attribute '{name}'")


def _series_agg(agg):
    def method(self, **kwargs):
        if agg in ("std", "var") and kwargs.get("ddof", 1) != 1:
            raise _unsupported(f"SeriesGroupBy.{agg}", f"ddof={kwargs['ddof']}")
        return self._make(agg)
    method.__name__ = agg
    return method


for _agg in _AGGS:
    setattr(SeriesGroupBy, _agg, _series_agg(_agg))


def _concat(named, *values):
    out = pd.concat(values, axis=1)
    out.columns = list(named)
    return out


class GroupedFrame(_Base):
    """A groupby result with several columns (agg({...}), or an aggregation of every
    column): one rask expression per column, joined on the keys by rank 0."""

    def __init__(self, parts, dask_name, count, base_layers):
        self._parts = parts
        self._dask_name = dask_name
        self._layers = base_layers | {f"{dask_name}-{i}-{id(self)}" for i in range(count)}

    @property
    def columns(self):
        return pd.Index([c for c, _ in self._parts], dtype=object)

    @property
    def dtypes(self):
        return pd.Series([s.dtype for _, s in self._parts], index=self.columns, dtype=object)

    @property
    def npartitions(self):
        return 1

    def __getitem__(self, column):
        for c, s in self._parts:
            if c == column:
                return s
        raise KeyError(column)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        for c, s in self._parts:
            if c == name:
                return s
        if hasattr(pd.DataFrame, name):
            raise _unsupported("DataFrame", name)
        raise AttributeError(f"'DataFrame' object has no attribute '{name}'")

    def __repr__(self):
        index = _repr_index(1)
        frame = pd.concat([_repr_column(c, s.dtype, index) for c, s in self._parts], axis=1)
        data = frame.to_string(max_rows=5, show_dimensions=False)
        return (f"Dask DataFrame Structure:\n{data}\n"
                f"Dask Name: {self._dask_name}, {_plural(len(self._layers), 'graph layer')}")

    def _delayed(self):
        names = tuple(c for c, _ in self._parts)
        return _rask_py.delayed(_concat, pure=True)(names, *[s._delayed() for _, s in self._parts])

    def head(self, n=5, **kwargs):
        values = self.compute()
        return None if values is None else values.head(n)

    def __len__(self):
        values = self.compute()
        return 0 if values is None else len(values)  # None: --dry-run

