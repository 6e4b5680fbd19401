"""rask's Python side: Dask's delayed semantics, building graphs that the rask program
runs on every rank of the MPI job.

A Delayed holds its call as a template: its arguments with every Delayed replaced by
``_In(i)``, the i-th of its dependencies. A compute collects the templates of every
task the outputs need, deduplicated by key, in dependency order, and hands them to
``_rask.compute``, which broadcasts them (pickled once) and runs them on every rank.
"""
import _rask  # noqa: F401

from .base import (_compute_delayed, _find, _rebuild, collective, compute, get, persist, scheduler_note,  # noqa: F401
                   visualize, visualize_path, visualize_result)
from .config import _MISSING, _config, _ConfigSet  # noqa: F401
from .delayed import (Delayed, DelayedLeaf, _call, _Future, _NewDelayed, _Template, delayed,  # noqa: F401
                      expression)
from .errors import README_TABLE, TaskError, Unsupported, _task_exception, unsupported  # noqa: F401
from .graph import (_IN, _In, _apply, _collect, _compute_local, _expression, _fill, _fresh, _identity,  # noqa: F401
                    _pack, _run, _unpack, funcname)

__all__ = ["Delayed", "delayed", "compute", "persist", "visualize", "TaskError", "unsupported", "expression",
           "collective"]
