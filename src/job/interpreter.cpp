// The embedded interpreter of a job (see interpreter.hpp).
#include "job/interpreter.hpp"

#include <pybind11/embed.h>
#include <pybind11/stl.h>

#include <filesystem>

#include "job/compute.hpp"
#include "job/job.hpp"
#include "job/python_sources.hpp"

namespace py = pybind11;

namespace rask::job {
namespace {

// A meta path finder serving rask's Python modules from the program's own copy.
const char* kBootstrap = R"py(
import importlib.abc, importlib.util, sys

class RaskModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, files):
        self.modules = {}
        for path, source in files:
            parts = path[:-3].split("/")
            package = parts[-1] == "__init__"
            if package:
                parts.pop()
            self.modules[".".join(parts)] = ("<rask>/" + path, source, package)

    def find_spec(self, name, path=None, target=None):
        entry = self.modules.get(name)
        if entry is None:
            return None
        return importlib.util.spec_from_loader(name, self, origin=entry[0], is_package=entry[2])

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        path, source, package = self.modules[module.__name__]
        module.__file__ = path
        exec(compile(source, path, "exec"), module.__dict__)

    def get_source(self, name):
        return self.modules[name][1]

    def is_package(self, name):
        return self.modules[name][2]

sys.meta_path.insert(0, RaskModules(files))
)py";

}  // namespace

void load_modules(Job& job, const std::string& script) {
  py::list files;
  for (const auto& source : python_sources()) files.append(py::make_tuple(source.path, source.source));
  py::dict scope;
  scope["files"] = files;
  py::exec(kBootstrap, scope);
  std::string script_dir = std::filesystem::absolute(script).parent_path().string();
  py::module_::import("sys").attr("path").attr("insert")(0, script_dir);
  py::module_ rask_py = py::module_::import("rask");
  // Loaded now, not inside the first compute: every graph travels through them.
  py::module_::import("cloudpickle");
  py::module_::import("pickle");
  job.in_type = rask_py.attr("_In");
  job.run_helper = rask_py.attr("_run");
  job.identity = rask_py.attr("_identity");
  job.expression = rask_py.attr("_expression");
}

int run_script(const std::string& path) {
  return py::module_::import("rask.script").attr("run_script")(path).cast<int>();
}

int run_notebook(const JobOptions& options) {
  py::list parameters;
  for (const auto& [name, value] : options.parameters) parameters.append(py::make_tuple(name, value));
  const std::string output = options.output.empty() ? executed_notebook_for(options.script) : options.output;
  return py::module_::import("rask.notebook")
      .attr("run_notebook")(options.script, output, parameters, options.allow_errors)
      .cast<int>();
}

void unload_modules(Job& job) {
  job.in_type = py::object();
  job.run_helper = py::object();
  job.identity = py::object();
  job.expression = py::object();
}

PYBIND11_EMBEDDED_MODULE(_rask, m) {
  m.doc() = "rask's C++ side: computes graphs on every rank of the MPI job";
  m.def("compute", &py_compute, "Collective: runs the graph's records on every rank; the outputs' values");
  m.def("visualize", &py_visualize, "Local: draws the graph's records to a file");
  m.def("collective", &py_collective, "Collective: runs a registered C++ collective call on every rank");
  m.def("ranks", [] { return g_job ? g_job->size : 1; });
  m.def("rank", [] { return g_job ? g_job->rank : 0; });
  m.def("threads", [] { return g_job ? g_job->runtime.threads() : 1; });
  m.def("in_task", [] { return t_in_task; });
  m.def("dry_run", [] { return g_job && g_job->options.dry_run; }, "Local: whether computes are planned, not run");
}

}  // namespace rask::job
