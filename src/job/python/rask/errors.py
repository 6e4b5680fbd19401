"""The errors a job script meets: a failed task, and a Dask name rask does not have."""

README_TABLE = "see the table 'What is supported' in rask's README.md"


class TaskError(RuntimeError):
    """A task failed on some rank; the message names the task, the rank and the task's
    own traceback. Raised when the failing task's exception type is not a builtin one."""

    __module__ = "rask"  # as scripts name it (rask.TaskError), wherever it is defined


class Unsupported(NotImplementedError, AttributeError):
    """A Dask name rask does not provide. A NotImplementedError, and an AttributeError
    too, so that ``hasattr(client, "x")``, IPython's display and pandas' introspection,
    which look attributes up, see a missing attribute. Shown as NotImplementedError."""

    __module__ = "builtins"  # tracebacks print "NotImplementedError: ...", Python's own name
    __qualname__ = "NotImplementedError"

    def __reduce__(self):
        return (NotImplementedError, self.args)


Unsupported.__name__ = "NotImplementedError"  # IPython's error output names it so too


class UnsupportedModule(NotImplementedError, ImportError):
    """A Dask module rask does not provide: a NotImplementedError, and an ImportError for
    scripts that try an import and fall back. Shown as NotImplementedError."""

    __module__ = "builtins"
    __qualname__ = "NotImplementedError"

    def __reduce__(self):
        return (NotImplementedError, self.args)


UnsupportedModule.__name__ = "NotImplementedError"


def unsupported_module(name):
    """The error for importing a Dask module rask does not provide."""
    return UnsupportedModule(f"{name} is not supported by rask; {README_TABLE}")


def unsupported(name):
    """The error for a Dask name rask does not provide (see Unsupported)."""
    return Unsupported(f"{name} is not supported by rask; {README_TABLE}")


def _task_exception(message, task_failed):
    """The exception a failed compute raises in the script: the failed task's own
    builtin exception type when it has one, else TaskError."""
    import builtins
    if task_failed:
        after = message.split(": ", 1)[1] if ": " in message else ""
        type_name = after.split(":", 1)[0].split("\n", 1)[0].strip()
        exc_type = getattr(builtins, type_name, None)
        if (isinstance(exc_type, type) and issubclass(exc_type, Exception)
                and not issubclass(exc_type, (OSError, UnicodeError))):
            try:
                return exc_type(message)
            except Exception:
                pass
        return TaskError(message)
    return RuntimeError(message)


_said = set()


def say_once(topic, text):
    """Tells the job's log once per topic (rank 0's stderr, not a notebook cell's output:
    a cell shows what it shows under Dask)."""
    import sys
    if topic in _said:
        return
    _said.add(topic)
    stream = sys.__stderr__ or sys.stderr
    stream.write(f"rask: {text}\n")
    stream.flush()
