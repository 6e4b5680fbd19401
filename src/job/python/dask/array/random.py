"""dask.array.random under `rask run`: rask's counter-based generator (Philox4x64 keyed
by seed and element index), so the numbers do not depend on the chunks or the ranks.
They are not NumPy's numbers for the same seed (Dask's are not either: its streams
change with the chunks); the statistics are those asked for."""
import itertools
import os

import _rask_array

from .core import Array
from .creation import _create

__all__ = ["RandomState", "random", "random_sample", "uniform", "normal", "randint", "seed"]


def _fresh_seed():
    return int.from_bytes(os.urandom(8), "little") >> 1


class RandomState:
    """A seeded stream of random arrays, as dask.array.random.RandomState: the same seed
    gives the same arrays, call after call, on any number of ranks. Local."""

    def __init__(self, seed=None):
        self._seed = _fresh_seed() if seed is None else int(seed)
        self._calls = itertools.count()

    def _next(self):
        # Each call its own stream: the seed and the call's position mixed.
        return (self._seed * 0x9E3779B97F4A7C15 + next(self._calls) * 0xBF58476D1CE4E5B9 + 1) % (1 << 63)

    def _make(self, kind, a, b, size, chunks, name):
        if size is None:
            size = ()
        seed = self._next()
        return Array(_create(lambda s, c: _rask_array.random(kind, s, c, seed, a, b), size, chunks), name)

    def random_sample(self, size=None, chunks="auto", **kwargs):
        return self._make("random", 0.0, 1.0, size, chunks, "random_sample")

    random = random_sample

    def uniform(self, low=0.0, high=1.0, size=None, chunks="auto", **kwargs):
        return self._make("uniform", float(low), float(high), size, chunks, "uniform")

    def normal(self, loc=0.0, scale=1.0, size=None, chunks="auto", **kwargs):
        return self._make("normal", float(loc), float(scale), size, chunks, "normal")

    def randint(self, low, high=None, size=None, chunks="auto", dtype=int, **kwargs):
        if high is None:
            low, high = 0, low
        return self._make("randint", float(int(low)), float(int(high)), size, chunks, "randint")

    def seed(self, seed=None):
        self.__init__(seed)


_global = RandomState()


def seed(value=None):
    _global.seed(value)


def random_sample(size=None, chunks="auto", **kwargs):
    """Uniform float64 in [0, 1). Local."""
    return _global.random_sample(size, chunks, **kwargs)


def random(size=None, chunks="auto", **kwargs):
    """Uniform float64 in [0, 1). Local."""
    return _global.random_sample(size, chunks, **kwargs)


def uniform(low=0.0, high=1.0, size=None, chunks="auto", **kwargs):
    """Uniform float64 in [low, high). Local."""
    return _global.uniform(low, high, size, chunks, **kwargs)


def normal(loc=0.0, scale=1.0, size=None, chunks="auto", **kwargs):
    """Normal float64. Local."""
    return _global.normal(loc, scale, size, chunks, **kwargs)


def randint(low, high=None, size=None, chunks="auto", dtype=int, **kwargs):
    """Uniform int64 in [low, high). Local."""
    return _global.randint(low, high, size, chunks, dtype, **kwargs)


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    from rask import unsupported
    raise unsupported(f"dask.array.random.{name}")
