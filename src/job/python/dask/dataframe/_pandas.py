"""rask's result tables as the pandas objects Dask's compute gives.

Called from the job's tasks (src/job/frame_binding.cpp), holding the GIL: `_to_pandas`
on rank 0 for a compute, `_map_partition` on a block's rank for map_partitions, and
`_concat_partitions` for their results. `spec` says what the Table holds (a frame, a
series, a scalar) and how pandas shows it; rask's C++ decides every type.
"""
import ast

import numpy as np
import pandas as pd


def _column(raw, date=False):
    name, dtype, values = raw
    if dtype == "float64":
        arr = np.asarray(values, dtype="float64")
    elif dtype == "int64":
        arr = np.asarray(values, dtype="int64")
    elif dtype == "bool":
        arr = np.asarray(values, dtype="int64").astype(bool)
    elif dtype == "datetime64[ns]":
        arr = np.asarray(values, dtype="int64").view("datetime64[ns]")
        if date:
            arr = pd.DatetimeIndex(arr).date
    else:
        arr = np.array(values, dtype=object)
    return name if name != "" else None, arr


def _index(raw, spec):
    levels = raw["levels"]
    dates = spec.get("date_keys", ())
    if levels:
        arrays, names = [], []
        for i, level in enumerate(levels):
            name, arr = _column(level, date=i in dates)
            arrays.append(arr)
            names.append(name)
        return pd.MultiIndex.from_arrays(arrays, names=names)
    name, arr = _column(raw["index"], date=0 in dates)
    if spec["kind"] in ("frame", "series") and not spec.get("agg"):
        return pd.Index(arr)  # row numbers: pandas' default index has no name
    return pd.Index(arr, name=name)


def _to_pandas(raw, spec_text):
    """The Table's arrays as the pandas object Dask's compute gives."""
    spec = ast.literal_eval(spec_text)
    kind = spec["kind"]
    if kind == "scalar":
        _, arr = _column(raw["columns"][0])
        return arr[0]  # a reduction's table always holds one value
    index = _index(raw, spec)
    if kind == "frame":
        data = {}
        for c in raw["columns"]:
            name, arr = _column(c, date=c[0] in spec.get("date_columns", ()))
            data[name] = arr
        out = pd.DataFrame(data, index=index, columns=[c[0] for c in raw["columns"]])
    else:
        name, arr = _column(raw["columns"][0], date=spec.get("date_values", False))
        out = pd.Series(arr, index=index, name=spec.get("name", name))
    if "head" in spec:
        out = out.head(spec["head"])
    return out


def _map_partition(raw, spec_text, function):
    """A map_partitions task's body (the block's rank, holding the GIL)."""
    import cloudpickle
    func, args, kwargs = cloudpickle.loads(function)
    return func(_to_pandas(raw, spec_text), *args, **kwargs)


def _concat_partitions(parts):
    """The map_partitions results in block order, as Dask's compute concatenates them."""
    if parts and all(isinstance(p, (pd.DataFrame, pd.Series)) for p in parts):
        return pd.concat(parts)
    return pd.Series(parts)
