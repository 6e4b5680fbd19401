"""`rask run NOTEBOOK.ipynb`: rank 0 runs the notebook's code cells in order through
IPython's own shell, so magics, the display of each cell's last value and print output
work as in Jupyter, while every compute runs on all ranks; the executed notebook is
written with nbformat.

The conventions are papermill's and nbconvert's: ``-p NAME VALUE`` injects a cell tagged
``injected-parameters`` after the cell tagged ``parameters`` (at the top when there is
none); execution stops at the first error unless ``--allow-errors``; each executed cell
keeps its outputs, its execution count, and its wall time in ``metadata.papermill`` and
``metadata.execution`` (nbclient's timing keys); the notebook's ``metadata.papermill``
holds the parameters, the paths, start, end and duration.
"""
import datetime
import os
import sys
import time

README = "see the table 'What is supported' in rask's README.md"


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _iso(moment):
    return moment.isoformat().replace("+00:00", "Z")


def parse_value(text):
    """A -p VALUE as papermill reads it: True/False/None, an int, a float, else the text."""
    if text in ("True", "False"):
        return text == "True"
    if text == "None":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def inject_parameters(nb, parameters, nbformat):
    """Papermill's injection: a new code cell tagged injected-parameters after the cell
    tagged parameters (or first), replacing an earlier injected cell."""
    if not parameters:
        return
    lines = ["# Parameters"] + [f"{name} = {value!r}" for name, value in parameters.items()]
    cell = nbformat.v4.new_code_cell(source="\n".join(lines) + "\n")
    cell.metadata["tags"] = ["injected-parameters"]
    cells = [c for c in nb.cells if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    tagged = [i for i, c in enumerate(cells) if "parameters" in c.get("metadata", {}).get("tags", [])]
    if tagged:
        cells.insert(tagged[0] + 1, cell)
    else:
        print("rask: warning: the notebook has no cell tagged 'parameters'; the parameters cell goes first",
              file=sys.stderr)
        cells.insert(0, cell)
    nb.cells = cells


class _Cell:
    """The outputs of the running cell, in Jupyter's message order."""

    def __init__(self):
        self.outputs = []

    def stream(self, name, text):
        if not text:
            return
        last = self.outputs[-1] if self.outputs else None
        if last is not None and last["output_type"] == "stream" and last["name"] == name:
            last["text"] += text
        else:
            self.outputs.append({"output_type": "stream", "name": name, "text": text})

    def add(self, output):
        self.outputs.append(output)


class _Stream:
    """sys.stdout / sys.stderr while a cell runs: text becomes the cell's stream output."""

    def __init__(self, runner, name):
        self._runner = runner
        self.name = name
        self.encoding = "utf-8"
        self.errors = "strict"

    def write(self, text):
        if self._runner.cell is not None:
            self._runner.cell.stream(self.name, str(text))
        return len(text)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        pass

    def isatty(self):
        return False

    def fileno(self):
        raise OSError("a notebook cell's output has no file descriptor")

    def readable(self):
        return False

    def writable(self):
        return True


def _shell_class(runner):
    """An InteractiveShell whose results, displays and tracebacks go to the running cell,
    as ipykernel's shell sends them to the notebook."""
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets import Type

    class Hook(DisplayHook):
        def start_displayhook(self):
            self._data = None

        def write_output_prompt(self):
            pass

        def write_format_data(self, format_dict, md_dict=None):
            self._data = (format_dict, md_dict or {})

        def finish_displayhook(self):
            if self._data is not None and runner.cell is not None:
                data, metadata = self._data
                runner.cell.add({"output_type": "execute_result", "data": dict(data), "metadata": dict(metadata),
                                 "execution_count": self.shell.execution_count})
            self._data = None

    class Publisher(DisplayPublisher):
        def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs):
            if runner.cell is not None:
                runner.cell.add({"output_type": "display_data", "data": dict(data), "metadata": dict(metadata or {})})

        def clear_output(self, wait=False):
            if runner.cell is not None:
                runner.cell.outputs.clear()

    class Shell(InteractiveShell):
        displayhook_class = Type(Hook)
        display_pub_class = Type(Publisher)

        def _showtraceback(self, etype, evalue, stb):
            if runner.cell is not None:
                runner.cell.add({"output_type": "error", "ename": str(etype.__name__), "evalue": str(evalue),
                                 "traceback": list(stb)})
            runner.error = (etype, evalue)

        def enable_gui(self, gui=None):
            pass  # no event loop in a batch job; the inline backend needs none

    return Shell


class Runner:
    """Runs a notebook's code cells on rank 0 of the job."""

    def __init__(self, path, output, parameters, allow_errors):
        self.path = path
        self.output = output
        self.parameters = parameters
        self.allow_errors = allow_errors
        self.cell = None
        self.error = None

    def run(self):
        import nbformat
        started = _now()
        with open(self.path, encoding="utf-8") as f:
            nb = nbformat.read(f, as_version=4)
        inject_parameters(nb, self.parameters, nbformat)
        # Figures as Jupyter's kernel makes them (ipykernel sets the same default).
        os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
        directory = os.path.dirname(os.path.abspath(self.path))
        real_out, real_err = sys.stdout, sys.stderr
        from traitlets.config import Config
        config = Config()
        config.HistoryManager.hist_file = ":memory:"  # a batch job keeps no IPython history
        shell = _shell_class(self).instance(config=config, colors="Linux")
        from IPython.core import page, payloadpage
        # %prun, `?`: the pager's text becomes a payload, which Jupyter shows apart from
        # the cell's outputs and an executed notebook (nbclient) does not keep.
        shell.set_hook("show_in_pager", page.as_hook(payloadpage.page), 99)
        cwd = os.getcwd()
        os.chdir(directory)  # as Jupyter starts a notebook's kernel beside it
        failed = []
        stopped = None
        try:
            sys.stdout, sys.stderr = _Stream(self, "stdout"), _Stream(self, "stderr")
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                if stopped is not None:
                    cell.outputs = []
                    cell.execution_count = None
                    cell.metadata["papermill"] = {"start_time": None, "end_time": None, "duration": None,
                                                  "exception": None, "status": "pending"}
                    continue
                ok = self._run_cell(shell, cell)
                if not ok:
                    failed.append(index)
                    if not self.allow_errors:
                        stopped = index
        finally:
            sys.stdout.flush()
            sys.stdout, sys.stderr = real_out, real_err
            os.chdir(cwd)
        ended = _now()
        nb.metadata["papermill"] = {
            "parameters": dict(self.parameters), "input_path": self.path, "output_path": self.output,
            "start_time": _iso(started), "end_time": _iso(ended),
            "duration": (ended - started).total_seconds(), "exception": bool(failed),
            "environment_variables": {}, "version": "rask"}
        os.makedirs(os.path.dirname(os.path.abspath(self.output)), exist_ok=True)
        tmp = f"{self.output}.tmp-{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            nbformat.write(nb, f)
        os.replace(tmp, self.output)
        cells = sum(1 for c in nb.cells if c.cell_type == "code" and c.get("execution_count") is not None)
        if stopped is not None:
            number = sum(1 for c in nb.cells[:stopped + 1] if c.cell_type == "code")
            etype, evalue = self.error
            print(f"rask: notebook stopped at code cell {number} (cell {stopped + 1} of {len(nb.cells)}): "
                  f"{etype.__name__}: {evalue}; the executed notebook is {self.output} "
                  "(--allow-errors runs every cell)", file=sys.stderr)
            return 1
        note = f", {len(failed)} of them raised (--allow-errors)" if failed else ""
        print(f"rask: notebook: {cells} code cells executed{note}; the executed notebook is {self.output}",
              file=sys.stderr)
        return 0

    def _run_cell(self, shell, cell):
        self.cell = _Cell()
        self.error = None
        start = _now()
        began = time.perf_counter()
        try:
            result = shell.run_cell(cell.source, store_history=True)
        finally:
            sys.stdout.flush()
        duration = time.perf_counter() - began
        end = _now()
        ok = result.success and self.error is None
        if not ok and self.error is None:  # an error IPython did not show through us
            error = result.error_in_exec or result.error_before_exec
            self.cell.add({"output_type": "error", "ename": type(error).__name__, "evalue": str(error),
                           "traceback": []})
            self.error = (type(error), error)
        cell.outputs = [_output(o) for o in self.cell.outputs]
        cell.execution_count = result.execution_count
        cell.metadata["papermill"] = {"start_time": _iso(start), "end_time": _iso(end), "duration": duration,
                                      "exception": not ok, "status": "completed" if ok else "failed"}
        cell.metadata["execution"] = {"iopub.execute_input": _iso(start), "iopub.status.busy": _iso(start),
                                      "shell.execute_reply": _iso(end), "iopub.status.idle": _iso(end)}
        self.cell = None
        return ok


def _json_data(data):
    """A display's data as a notebook stores it: images base64-encoded (as ipykernel
    sends them), everything else as it is."""
    import base64
    out = {}
    for mime, value in data.items():
        if isinstance(value, (bytes, bytearray)):
            value = base64.b64encode(value).decode("ascii") if mime.startswith("image/") else value.decode("utf-8")
        out[mime] = value
    return out


def _output(output):
    import nbformat
    if "data" in output:
        output = dict(output, data=_json_data(output["data"]))
    return nbformat.from_dict(output)


def run_notebook(path, output, parameters, allow_errors):
    """The job's exit status: 0 when every cell ran (or --allow-errors), 1 when a cell
    stopped the notebook, and the notebook written to `output` in both cases."""
    try:
        values = {name: parse_value(value) for name, value in parameters}
        return Runner(path, output, values, allow_errors).run()
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 1
    except BaseException as e:
        from .script import report
        report(e)
        return 130 if isinstance(e, KeyboardInterrupt) else 1
