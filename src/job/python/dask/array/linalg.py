"""dask.array.linalg under `rask run`: rask's TSQR, ScaLAPACK SVD and randomized SVD."""
import _rask_array

from .core import Array

__all__ = ["svd", "qr", "tsqr", "svd_compressed"]


def _check(a, what):
    if not isinstance(a, Array):
        from rask import unsupported
        raise unsupported(f"dask.array.linalg.{what} of a {type(a).__name__} object (give a dask array: da.from_array(...))")


def svd(a, coerce_signs=True):
    """u, s, v with a = u * diag(s) * v, as dask.array.linalg.svd. Local to build."""
    _check(a, "svd")
    u, s, v = _rask_array.svd(a._expr)
    return Array(u, "mul"), Array(s, "getitem"), Array(v, "mul")


def qr(a):
    """q, r of a tall-skinny array by TSQR, as dask.array.linalg.qr. Local to build."""
    _check(a, "qr")
    q, r = _rask_array.qr(a._expr)
    return Array(q, "dot"), Array(r, "getitem")


def tsqr(data, compute_svd=False, _max_vchunk_size=None):
    """q, r (or u, s, v with compute_svd=True) by TSQR. Local to build."""
    _check(data, "tsqr")
    if compute_svd:
        return svd(data)
    q, r = _rask_array.tsqr(data._expr)
    return Array(q, "dot"), Array(r, "getitem")


def svd_compressed(a, k, iterator="power", n_power_iter=0, n_oversamples=10, seed=None, compute=False,
                   coerce_signs=True):
    """Randomized rank-k u, s, v (Halko et al.), as dask.array.linalg.svd_compressed.
    rask's test matrix comes from its own generator, so the factors are not Dask's for
    the same seed; both approximate the same leading singular triplets. Local to build."""
    _check(a, "svd_compressed")
    if iterator != "power":
        from rask import unsupported
        raise unsupported(f"svd_compressed(iterator={iterator!r})")
    import os
    s = int.from_bytes(os.urandom(8), "little") >> 1 if seed is None else int(getattr(seed, "_seed", seed))
    # Dask's test matrix has k + n_oversamples columns, the factors cut to k after.
    k = int(k)
    wide = min(k + max(int(n_oversamples), 0), *a.shape)
    u, sv, v = _rask_array.svd_compressed(a._expr, wide, int(n_power_iter), s)
    u, sv, v = Array(u, "mul"), Array(sv, "getitem"), Array(v, "mul")
    if wide > k:
        u, sv, v = u[:, :k], sv[:k], v[:k, :]
        u._name, sv._name, v._name = "mul", "getitem", "mul"
    return u, sv, v


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    from rask import unsupported
    raise unsupported(f"dask.array.linalg.{name}")
