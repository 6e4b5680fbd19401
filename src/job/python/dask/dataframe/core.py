"""dask.dataframe's DataFrame, Series and Scalar under `rask run`, backed by rask's frames.

Each object holds a rask frame expression (built by the `_rask_frame` module; no data)
and what Dask knows without computing: columns and dtypes (from the files' headers and
first rows, read once on rank 0), npartitions, and the graph layers Dask would have, for
the reprs. A compute hands the expression to the job as an expression record: every
rank lowers it into the same graph and rank 0 gets the pandas object.

Every rule (result dtypes, schemas, what a frame refuses) is rask's C++, asked through
`_rask_frame`; this module translates Dask's names, arguments and reprs.
"""
import zlib

import numpy as np
import pandas as pd

import _rask_frame as _f
import rask as _rask_py

_DTYPES = {"float64": np.dtype("float64"), "int64": np.dtype("int64"), "bool": np.dtype("bool"),
           "datetime64[ns]": np.dtype("datetime64[ns]"), "object": np.dtype("O")}


class ColumnNotFound(KeyError):
    """A column the files do not have: a KeyError (as Dask raises) whose message prints
    as written, with rask's list of the columns and the fixes."""

    def __str__(self):
        return str(self.args[0]) if self.args else ""


def _schema(expr):
    """The [(column, dtype)] of a frame or row series; rask's check of the expression."""
    try:
        return _f.schema(expr)
    except KeyError as e:
        raise ColumnNotFound(*e.args) from None


def _dtype(expr):
    """The dtype of a series (a column or a groupby result) as rask's compute gives it."""
    try:
        return _f.dtype(expr)
    except KeyError as e:
        raise ColumnNotFound(*e.args) from None


def _unsupported(owner, name):
    return _rask_py.unsupported(f"{owner}.{name}")


# ---- computing: expression records (their tables become pandas objects in _pandas.py) ----

def _record(expr, spec, max_blocks=2 ** 64 - 1):
    """The Delayed whose value is `expr` computed and converted as `spec` says."""
    payload = _f.payload(expr, repr(spec), max_blocks)
    key = f"{spec['kind']}-{expr.token}-{zlib.crc32(f'{spec!r}{max_blocks}'.encode()):08x}"
    return _rask_py.expression("frame", payload, key=key)


def compute(*args, **kwargs):
    """Collective: dask.compute, re-exported as Dask's dask.dataframe does."""
    return _rask_py.compute(*args, **kwargs)


# ---- reprs, as Dask 2022.12 prints them ----

def _plural(n, word):
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _repr_index(npartitions):
    return pd.Index([""] * (npartitions + 1), name=f"npartitions={npartitions}")


def _repr_column(name, dtype, index):
    return pd.Series([str(dtype)] + ["..."] * (len(index) - 1), index=index, name=name)


def _series_repr(name, dtype, npartitions, dask_name, layers):
    data = _repr_column(name, dtype, _repr_index(npartitions)).to_string(max_rows=5)
    footer = f"Name: {name}, dtype: {dtype}" if name is not None else f"dtype: {dtype}"
    return (f"Dask Series Structure:\n{data}\n{footer}\n"
            f"Dask Name: {dask_name}, {_plural(len(layers), 'graph layer')}")


class _Base:
    """What frames, series and grouped results share: layers (for the reprs), compute."""
    _layers = frozenset()
    _dask_name = ""

    def _delayed(self):
        raise NotImplementedError

    def __rask_delayed__(self):
        return self._delayed()

    def to_delayed(self, optimize_graph=True):
        return [self._delayed()]

    def compute(self, **kwargs):
        """Collective: the job computes the value on every rank; the script gets it."""
        return _rask_py.compute(self._delayed(), **kwargs)[0]

    def persist(self, **kwargs):
        """Local: the same expression (nothing is computed)."""
        # The result stays an expression: rask re-reads the files (they are the
        # persisted data) rather than keeping partitions in memory between computes.
        return self

    def visualize(self, filename="mydask", format=None, **kwargs):
        return _rask_py.visualize(self._delayed(), filename=filename, format=format)

    def __dask_graph__(self):
        return self._delayed().dask

    def __dask_keys__(self):
        return [self._delayed().key]

    def __bool__(self):
        raise TypeError(f"Trying to convert {self._dask_name} to a boolean value. Because Dask objects are lazily "
                        "evaluated, they cannot be converted to a boolean value or used in boolean conditions like "
                        "if statements. Try calling .compute() to force computation prior to converting to a "
                        "boolean value or using in a conditional statement.")


# ---- DataFrame ----

class DataFrame(_Base):
    """A lazy dataframe: rask's frame expression under Dask's names."""

    def __init__(self, expr, layers, dask_name):
        self._expr = expr
        self._layers = frozenset(layers)
        self._dask_name = dask_name
        self._schema = _schema(expr)

    @property
    def columns(self):
        return pd.Index([name for name, _ in self._schema], dtype=object)

    @property
    def dtypes(self):
        return pd.Series([_DTYPES[d] for _, d in self._schema], index=self.columns, dtype=object)

    @property
    def _meta(self):
        return pd.DataFrame({n: pd.Series([], dtype=_DTYPES[d]) for n, d in self._schema})

    @property
    def npartitions(self):
        return _f.npartitions(self._expr)

    @property
    def ndim(self):
        return 2

    def __repr__(self):
        index = _repr_index(self.npartitions)
        frame = pd.concat([_repr_column(n, _DTYPES[d], index) for n, d in self._schema], axis=1)
        data = frame.to_string(max_rows=5, show_dimensions=False)
        return (f"Dask DataFrame Structure:\n{data}\n"
                f"Dask Name: {self._dask_name}, {_plural(len(self._layers), 'graph layer')}")

    def _column(self, name):
        expr = _f.column(self._expr, name)
        return Series(expr, self._layers | {f"getitem-{expr.token}"}, "getitem")

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        if name in [n for n, _ in self.__dict__.get("_schema", ())]:
            return self._column(name)
        if hasattr(pd.DataFrame, name):
            raise _unsupported("DataFrame", name)
        raise AttributeError(f"'DataFrame' object has no attribute '{name}'")

    def __dir__(self):
        return sorted(set(super().__dir__()) | {n for n, _ in self._schema if n.isidentifier()})

    def __getitem__(self, key):
        if isinstance(key, str):
            return self._column(key)
        if isinstance(key, (list, tuple, pd.Index)):
            expr = _f.select(self._expr, [str(k) for k in key])
            return DataFrame(expr, self._layers | {f"getitem-{expr.token}"}, "getitem")
        if isinstance(key, Series):
            expr = _f.filter(self._expr, key._expr)
            return DataFrame(expr, self._layers | key._layers | {f"getitem-{expr.token}"}, "getitem")
        raise _rask_py.unsupported(f"DataFrame[{type(key).__name__}]")

    def __setitem__(self, key, value):
        raise _unsupported("DataFrame", "__setitem__ (assigning a column)")

    def groupby(self, by=None, **kwargs):
        from .groupby import DataFrameGroupBy
        for k in kwargs:
            if k not in ("sort", "dropna") or (k == "sort" and kwargs[k] is False):
                raise _unsupported("DataFrame.groupby", f"{k}={kwargs[k]!r}")
        if isinstance(by, (str, Series)):
            by = [by]
        if not isinstance(by, (list, tuple)) or not by:
            raise _rask_py.unsupported(f"DataFrame.groupby(by={type(by).__name__})")
        keys = [self._column(k) if isinstance(k, str) else k for k in by]
        for k in keys:
            if not isinstance(k, Series):
                raise _rask_py.unsupported(f"DataFrame.groupby(by={type(k).__name__})")
        return DataFrameGroupBy(self, keys, by_names=all(isinstance(k, str) for k in by))

    def __len__(self):
        """Collective: the number of rows, counted by the job."""
        expr = _f.reduce(self._expr, "size")
        n = _rask_py.compute(_record(expr, {"kind": "scalar"}))[0]
        return 0 if n is None else int(n)  # None: --dry-run, where nothing runs

    def head(self, n=5, npartitions=1, compute=True):
        """Collective: the first n rows, reading only the first blocks it needs."""
        if not compute:
            raise _unsupported("DataFrame.head", "compute=False")
        if npartitions == -1:
            npartitions = 2 ** 64 - 1
        spec = {"kind": "frame", "head": int(n)}
        return _rask_py.compute(_record(self._expr, spec, npartitions))[0]

    def _delayed(self):
        return _record(self._expr, {"kind": "frame"})

    def to_hdf(self, path_or_buf, key, mode="a", **kwargs):
        """Collective: writes group `key` of `path_or_buf` in rask's frames layout (an
        `index` dataset and one dataset per column)."""
        if kwargs:
            raise _unsupported("DataFrame.to_hdf", next(iter(kwargs)))
        _write("to_hdf", self._expr, str(path_or_buf), key)

    def to_csv(self, filename, single_file=False, index=True, **kwargs):
        """Collective: one CSV file (single_file=True): a header, then the index (row
        numbers 0..n-1 over all files) and the columns."""
        if kwargs:
            raise _unsupported("DataFrame.to_csv", next(iter(kwargs)))
        if not single_file or not index:
            raise _rask_py.unsupported("DataFrame.to_csv without single_file=True (or with index=False)")
        _write("to_csv", self._expr, str(filename), "")
        return [str(filename)]

    def map_partitions(self, func, *args, meta=None, **kwargs):
        """Calls func(partition, *args, **kwargs) on each block's rows as a pandas
        DataFrame, in a task on the rank that read the block; compute concatenates the
        results in block order on rank 0."""
        return _Mapped(self, func, args, kwargs, meta)


class _Mapped(_Base):
    """df.map_partitions(func): computable (compute, dask.compute, head, passed to
    delayed calls); further dataframe operations on it are not supported."""

    def __init__(self, frame, func, args, kwargs, meta):
        import cloudpickle
        for a in list(args) + list(kwargs.values()):
            if hasattr(type(a), "__rask_delayed__") or isinstance(a, _rask_py.Delayed):
                raise _rask_py.unsupported("map_partitions with a dask collection or delayed argument")
        self._frame = frame
        if meta is None:
            try:
                meta = func(frame._meta, *args, **kwargs)
            except Exception as e:
                raise ValueError(f"map_partitions could not infer the result's columns by calling "
                                 f"{_rask_py.funcname(func)} on an empty partition ({type(e).__name__}: {e}); "
                                 "pass meta= (an empty pandas object like the result)") from e
        self._meta = meta
        self._function = cloudpickle.dumps((func, args, kwargs), protocol=5)
        name = _rask_py.funcname(func)
        self._dask_name = name
        self._layers = frame._layers | {f"{name}-{id(self)}"}
        spec = {"kind": "frame"}
        self._record = _rask_py.expression("frame_map", _f.map_payload(frame._expr, repr(spec), self._function),
                                           key=_rask_py._fresh(name))

    def _delayed(self):
        return self._record

    @property
    def npartitions(self):
        return self._frame.npartitions

    @property
    def columns(self):
        return getattr(self._meta, "columns", None)

    @property
    def dtypes(self):
        return getattr(self._meta, "dtypes", None)

    def head(self, n=5, **kwargs):
        values = self.compute()
        return None if values is None else values.head(n)

    def __repr__(self):
        index = _repr_index(self.npartitions)
        if isinstance(self._meta, pd.DataFrame):
            frame = pd.concat([_repr_column(n, d, index) for n, d in self._meta.dtypes.items()], axis=1)
            data = frame.to_string(max_rows=5, show_dimensions=False)
            return (f"Dask DataFrame Structure:\n{data}\n"
                    f"Dask Name: {self._dask_name}, {_plural(len(self._layers), 'graph layer')}")
        meta = self._meta if isinstance(self._meta, pd.Series) else pd.Series(self._meta)
        return _series_repr(meta.name, meta.dtype, self.npartitions, self._dask_name, self._layers)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        raise _rask_py.unsupported(f"map_partitions(...).{name}")


def _write(what, expr, path, key):
    _rask_py.collective("frame." + what, _f.write_payload(expr, path, key))


# ---- Series ----

_BINARY = {"__add__": ("+", "add"), "__sub__": ("-", "sub"), "__mul__": ("*", "mul"),
           "__truediv__": ("/", "truediv"), "__gt__": (">", "gt"), "__ge__": (">=", "ge"),
           "__lt__": ("<", "lt"), "__le__": ("<=", "le"), "__eq__": ("==", "eq"), "__ne__": ("!=", "ne"),
           "__and__": ("&", "and_"), "__or__": ("|", "or_")}
_REFLECTED = {"__radd__": ("+", "add"), "__rsub__": ("-", "sub"), "__rmul__": ("*", "mul"),
              "__rtruediv__": ("/", "truediv"), "__rand__": ("&", "and_"), "__ror__": ("|", "or_")}
_FLIPPED = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "==": "==", "!=": "!="}

# Layers Dask's graph adds for an aggregation: (layers, name of the last one).
_GROUPBY_LAYERS = {"sum": (3, "series-groupby-sum-agg"), "mean": (6, "truediv"),
                   "min": (3, "series-groupby-min-agg"), "max": (3, "series-groupby-max-agg"),
                   "count": (3, "series-groupby-count-agg"), "std": (5, "sqrt"), "var": (4, "getitem"),
                   "first": (3, "series-groupby-first-agg"), "last": (3, "series-groupby-last-agg"),
                   "size": (2, "dataframe-groupby-size-agg")}
_REDUCE_LAYERS = {"sum": 2, "mean": 5, "min": 2, "max": 2, "count": 2, "std": 5, "var": 4}


class Series(_Base):
    """A lazy series: a column of a frame, something derived from columns, or a groupby
    result (indexed by its keys, one partition)."""

    def __init__(self, expr, layers, dask_name, agg_spec=None):
        self._expr = expr
        self._layers = frozenset(layers)
        self._dask_name = dask_name
        self._agg_spec = agg_spec or {}
        # rask's own check gives the type (and rejects a bad operand here, at the
        # script's line); dt.date values are datetime.date objects once computed.
        self._dtype = _dtype(expr)
        self._date = expr.is_date

    @property
    def name(self):
        return self._expr.name if self._expr.name != "" else None

    @property
    def dtype(self):
        return _DTYPES["object"] if self._date else _DTYPES[self._dtype]

    @property
    def _meta(self):
        return pd.Series([], dtype=self.dtype, name=self.name)

    @property
    def npartitions(self):
        return 1 if self._expr.level == "agg" else _f.npartitions(self._expr)

    @property
    def ndim(self):
        return 1

    @property
    def dt(self):
        from .accessor import DatetimeAccessor
        return DatetimeAccessor(self)

    def __repr__(self):
        return _series_repr(self.name, self.dtype, self.npartitions, self._dask_name, self._layers)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        if hasattr(pd.Series, name):
            raise _unsupported("Series", name)
        raise AttributeError(f"'Series' object has no attribute '{name}'")

    def _binary(self, op, name, other, reflected=False):
        if isinstance(other, Series):
            a, b = (other, self) if reflected else (self, other)
            expr = _f.binary(op, a._expr, b._expr)
            layers = self._layers | other._layers
            spec = a._agg_spec or b._agg_spec
        elif isinstance(other, (int, float, np.integer, np.floating)) and not isinstance(other, bool):
            expr = _f.binary(op, float(other), self._expr) if reflected else _f.binary(op, self._expr, float(other))
            layers = self._layers
            spec = self._agg_spec
        elif isinstance(other, Scalar):
            raise _rask_py.unsupported("arithmetic of a Series with a dd.Scalar (compute the scalar first, "
                                       "e.g. s - s.mean().compute())")
        else:
            return NotImplemented
        return Series(expr, layers | {f"{name}-{expr.token}"}, name, spec)

    def __neg__(self):
        expr = _f.unary("-", self._expr)
        return Series(expr, self._layers | {f"neg-{expr.token}"}, "neg", self._agg_spec)

    def __invert__(self):
        expr = _f.unary("~", self._expr)
        return Series(expr, self._layers | {f"invert-{expr.token}"}, "invert", self._agg_spec)

    def _reduce(self, agg):
        expr = _f.reduce(self._expr, agg)
        return Scalar(expr, self._layers | {f"{agg}-{i}-{expr.token}" for i in range(_REDUCE_LAYERS[agg])})

    def sum(self, **kwargs):
        return self._reduce("sum")

    def mean(self, **kwargs):
        return self._reduce("mean")

    def min(self, **kwargs):
        return self._reduce("min")

    def max(self, **kwargs):
        return self._reduce("max")

    def count(self, **kwargs):
        return self._reduce("count")

    def std(self, ddof=1, **kwargs):
        if ddof != 1:
            raise _unsupported("Series.std", f"ddof={ddof}")
        return self._reduce("std")

    def var(self, ddof=1, **kwargs):
        if ddof != 1:
            raise _unsupported("Series.var", f"ddof={ddof}")
        return self._reduce("var")

    def value_counts(self, **kwargs):
        if kwargs:
            raise _unsupported("Series.value_counts", next(iter(kwargs)))
        expr = _f.value_counts(self._expr)
        return Series(expr, self._layers | {f"value-counts-{i}-{expr.token}" for i in range(2)}, "value-counts-agg",
                      {"agg": True, "value_counts": True, "date_keys": (0,) if self._date else ()})

    def _spec(self):
        spec = {"kind": "series", "name": self.name}
        spec.update(self._agg_spec)
        if self._date and self._expr.level != "agg":
            spec["date_values"] = True
        return spec

    def _delayed(self):
        return _record(self._expr, self._spec())

    def head(self, n=5, npartitions=1, compute=True):
        """Collective: the first n values (of a groupby result: the n smallest keys)."""
        if not compute:
            raise _unsupported("Series.head", "compute=False")
        spec = dict(self._spec(), head=int(n))
        blocks = 2 ** 64 - 1 if npartitions == -1 or self._expr.level == "agg" else npartitions
        return _rask_py.compute(_record(self._expr, spec, blocks))[0]

    def __len__(self):
        """Collective: computes the series."""
        values = self.compute()
        return 0 if values is None else len(values)  # None: --dry-run

    def to_hdf(self, path_or_buf, key, mode="a", **kwargs):
        """Collective: writes group `key` (datasets `index` and `values`) of `path_or_buf`."""
        if kwargs:
            raise _unsupported("Series.to_hdf", next(iter(kwargs)))
        _write("to_hdf", self._expr, str(path_or_buf), key)

    def to_csv(self, filename, single_file=False, **kwargs):
        """Collective: one CSV file (single_file=True) of `index,name` lines."""
        if kwargs:
            raise _unsupported("Series.to_csv", next(iter(kwargs)))
        if not single_file:
            raise _rask_py.unsupported("Series.to_csv without single_file=True")
        _write("to_csv", self._expr, str(filename), "")
        return [str(filename)]


def _binary_method(dunder, op, name, reflected):
    def method(self, other):
        return self._binary(op, name, other, reflected)
    method.__name__ = dunder
    return method


for _dunder, (_op, _name) in _BINARY.items():
    setattr(Series, _dunder, _binary_method(_dunder, _op, _name, False))
for _dunder, (_op, _name) in _REFLECTED.items():
    setattr(Series, _dunder, _binary_method(_dunder, _op, _name, True))
Series.__hash__ = object.__hash__


# ---- Scalar ----

class Scalar(_Base):
    """A lazy number: a whole-column reduction."""

    def __init__(self, expr, layers):
        self._expr = expr
        self._layers = frozenset(layers)
        self._dtype = _dtype(expr)
        self._dask_name = "series"

    @property
    def dtype(self):
        return _DTYPES[self._dtype]

    def __repr__(self):
        return f"dd.Scalar<series-..., dtype={self._dtype}>"

    def _delayed(self):
        return _record(self._expr, {"kind": "scalar"})

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        raise _unsupported("Scalar", name)


def _scalar_operator(dunder):
    def method(self, *other):
        raise _rask_py.unsupported(f"dd.Scalar.{dunder} (compute the scalar first: .compute())")
    method.__name__ = dunder
    return method


for _dunder in list(_BINARY) + list(_REFLECTED) + ["__neg__", "__abs__"]:
    setattr(Scalar, _dunder, _scalar_operator(_dunder))
