"""The errors a job script meets: a failed task, and a Dask name rask does not have."""

README_TABLE = "see the table 'What is supported' in rask's README.md"


class TaskError(RuntimeError):
    """A task failed on some rank; the message names the task, the rank and the task's
    own traceback. Raised when the failing task's exception type is not a builtin one."""

    __module__ = "rask"  # as scripts name it (rask.TaskError), wherever it is defined


def unsupported(name):
    """The error for a Dask name rask does not provide."""
    return NotImplementedError(f"{name} is not supported by rask; {README_TABLE}")


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

