"""dask.dataframe.read_csv under `rask run`: pandas' keywords translated into rask's
read_csv options (ReadCsvOptions, whose field names are the keywords rask accepts)."""
import numpy as np

import _rask_frame as _f
import rask as _rask_py

from ..core import DataFrame

# Dask's read_csv blocksize on machines with at least 640 MB of memory per core.
DEFAULT_BLOCKSIZE = 64_000_000

_KEYWORDS = frozenset(_f.read_csv_keywords())


def _names(value, what):
    if isinstance(value, str):
        return [value]
    try:
        return [str(v) for v in value]
    except TypeError:
        raise _rask_py.unsupported(f"read_csv({what}={value!r})") from None


def _dtype_name(t):
    """NumPy's spelling of a dtype (`float` -> float64, `'O'` -> object); rask's C++
    decides which it reads."""
    try:
        return np.dtype(t).name
    except (TypeError, ValueError):
        return str(t)


def read_csv(urlpath, blocksize="default", **kwargs):
    """Lazy, as Dask's: reads the files' headers and first rows (rank 0) for the columns
    and dtypes; the data is read by the job at compute."""
    options = {}
    for k, v in kwargs.items():
        if k not in _KEYWORDS:
            raise _rask_py.unsupported(f"dask.dataframe.read_csv keyword {k}=")
        if k in ("parse_dates", "usecols", "names"):
            if v is None or v is False:
                continue
            options[k] = _names(v, k)
        elif k == "dtype":
            if v is None:
                continue
            if not isinstance(v, dict):
                raise _rask_py.unsupported("read_csv(dtype=<not a dict>)")
            options[k] = {str(c): _dtype_name(t) for c, t in v.items()}
        elif k == "header":
            if v == "infer" or v == 0:
                continue
            if v is None:
                options[k] = -1
            else:
                raise _rask_py.unsupported(f"read_csv(header={v!r})")
        else:
            options[k] = v
    if "names" in options and "header" not in kwargs:
        options["header"] = -1  # pandas: names= without header= means no header line
    if blocksize == "default":
        blocksize = DEFAULT_BLOCKSIZE
    options["blocksize"] = 0 if blocksize is None else int(blocksize)
    paths = [str(urlpath)] if isinstance(urlpath, (str, bytes)) or hasattr(urlpath, "__fspath__") \
        else [str(p) for p in urlpath]
    expr = _f.read_csv(paths, options)
    return DataFrame(expr, {f"read-csv-{expr.token}"}, "read-csv")
