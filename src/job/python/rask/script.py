"""Runs a job script as __main__ on rank 0 (called by the rask program)."""
import sys
import traceback


def run_script(path):
    """The script's exit status; Python's own report of an error, as `python3 job.py`."""
    main = sys.modules["__main__"]
    try:
        with open(path, "rb") as f:
            source = f.read()
        main.__dict__["__file__"] = path
        exec(compile(source, path, "exec"), main.__dict__)
        return 0
    except SystemExit as e:
        if e.code is None:
            return 0
        if isinstance(e.code, int):
            return e.code
        print(e.code, file=sys.stderr)
        return 1
    except BaseException as e:
        report(e)
        return 130 if isinstance(e, KeyboardInterrupt) else 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


def trimmed(e):
    """Python's report of `e` without the frames of rask's modules and of this runner:
    the script's lines are what the user can act on."""
    def trim(te):
        te.stack = traceback.StackSummary.from_list(
            [f for f in te.stack if not f.filename.startswith(("<rask>", "<frozen importlib", "<string>"))])
        for inner in (te.__cause__, te.__context__):
            if inner is not None:
                trim(inner)
    te = traceback.TracebackException(type(e), e, e.__traceback__)
    trim(te)
    return te


def report(e):
    sys.stderr.write("".join(trimmed(e).format()))
