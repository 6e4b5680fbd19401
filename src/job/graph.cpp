// A compute's records -> a rask::Graph, and the body of a Python task (see graph.hpp).
#include "job/graph.hpp"

#include <mpi.h>
#include <omp.h>

#include <stdexcept>

#include "job/expression.hpp"
#include "job/job.hpp"
#include "job/pyvalue.hpp"
#include "plan/spread.hpp"

namespace py = pybind11;

namespace rask::job {
namespace {

// The fields of one record the graph needs, read once from its tuple (borrowed: the
// records outlive the graph).
struct RecordShape {
  PyObject* record;
  std::string_view key;
  std::size_t deps_begin;
};

std::string_view utf8(PyObject* text) {
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(text, &size);
  if (!data) throw py::error_already_set();
  return {data, static_cast<std::size_t>(size)};
}

// An expression record's tasks (src/job/expression.hpp), added by its kind's lowering;
// each new task is named by the kind for costs and traces. Needs the GIL.
TaskId lower_expression_record(BuiltGraph& built, PyObject* record, std::string_view key,
                               const std::vector<TaskId>& deps) {
  PyObject* spec = PyTuple_GET_ITEM(record, 2);
  const std::string_view kind = utf8(PyTuple_GET_ITEM(spec, 0));
  char* payload = nullptr;
  Py_ssize_t payload_size = 0;
  if (PyBytes_AsStringAndSize(PyTuple_GET_ITEM(spec, 1), &payload, &payload_size) != 0) throw py::error_already_set();
  const TaskId out = expression_lowering(kind)(built.graph, key,
                                               std::string_view(payload, static_cast<std::size_t>(payload_size)), deps);
  built.names.resize(built.graph.size(), std::string(kind));
  return out;
}

// The body of a record's task on any thread: the record's call with its inputs' values.
Value run_task(PyObject* record, TaskId id, const Inputs& inputs) {
  TaskGil gil;
  Job& job = *g_job;
  const double t0 = MPI_Wtime();
  t_in_task = true;
  struct Reset {
    ~Reset() { t_in_task = false; }
  } reset;
  PyObject* func = PyTuple_GET_ITEM(record, 1);
  PyObject* args = PyTuple_GET_ITEM(record, 2);
  PyObject* kwargs = PyTuple_GET_ITEM(record, 3);
  const bool nested = PyTuple_GET_ITEM(record, 5) == Py_True;
  PyObject* in_type = job.in_type.ptr();
  PyObject* result = nullptr;
  auto input = [&](std::size_t idx) -> PyObject* {
    PyObject* o = inputs.get<PyValue>(idx).object();
    if (!o) throw std::runtime_error(take_python_error());
    return o;
  };
  if (func == job.identity.ptr() && inputs.size() == 0) {
    // delayed(value): the value itself.
    result = PyTuple_GET_ITEM(args, 0);
    Py_INCREF(result);
  } else if (!nested) {
    // The common case: dependencies only as top-level arguments, substituted here.
    const Py_ssize_t nargs = PyTuple_GET_SIZE(args);
    PyObject* call_args = PyTuple_New(nargs);
    if (!call_args) throw std::runtime_error(take_python_error());
    for (Py_ssize_t arg_idx = 0; arg_idx < nargs; ++arg_idx) {
      PyObject* a = PyTuple_GET_ITEM(args, arg_idx);
      if (Py_TYPE(a) == reinterpret_cast<PyTypeObject*>(in_type)) {
        PyObject* value = nullptr;
        try {
          value = input(PyLong_AsSize_t(a));
        } catch (...) {
          Py_DECREF(call_args);
          throw;
        }
        a = value;
      }
      Py_INCREF(a);
      PyTuple_SET_ITEM(call_args, arg_idx, a);
    }
    result = PyObject_Call(func, call_args, nullptr);
    Py_DECREF(call_args);
  } else {
    PyObject* ins = PyTuple_New(static_cast<Py_ssize_t>(inputs.size()));
    for (std::size_t input_idx = 0; input_idx < inputs.size(); ++input_idx) {
      PyObject* value = nullptr;
      try {
        value = input(input_idx);
      } catch (...) {
        Py_DECREF(ins);
        throw;
      }
      Py_INCREF(value);
      PyTuple_SET_ITEM(ins, static_cast<Py_ssize_t>(input_idx), value);
    }
    result = PyObject_CallFunctionObjArgs(job.run_helper.ptr(), func, args, kwargs, ins, nullptr);
    Py_DECREF(ins);
  }
  if (!result) throw std::runtime_error(take_python_error());
  job.times.start[id] = t0;
  job.times.end[id] = MPI_Wtime();
  job.times.thread[id] = omp_get_thread_num();
  t_current_task = id;
  g_tasks_done.fetch_add(1, std::memory_order_relaxed);
  return Value(PyValue{std::make_shared<PyRef>(result)});
}

}  // namespace

std::string key_name(std::string_view key) {
  auto dash = key.rfind('-');
  return std::string(dash == std::string_view::npos || dash == 0 ? key : key.substr(0, dash));
}

std::unique_ptr<BuiltGraph> build_graph(py::object records, const std::vector<TaskId>& out_pos) {
  Job& job = *g_job;
  auto built = std::make_unique<BuiltGraph>();
  built->records = records;
  PyObject* list = records.ptr();
  if (!PyList_Check(list)) throw std::runtime_error("a compute's records must be a list");
  const auto n = static_cast<std::size_t>(PyList_GET_SIZE(list));
  // One pass over the tuples: keys, names and dependency positions, read once.
  std::vector<RecordShape> shapes;
  shapes.reserve(n);
  std::vector<TaskId> dep_positions;
  std::vector<std::string> names(n);
  for (std::size_t record_idx = 0; record_idx < n; ++record_idx) {
    PyObject* record = PyList_GET_ITEM(list, static_cast<Py_ssize_t>(record_idx));
    shapes.push_back({record, utf8(PyTuple_GET_ITEM(record, 0)), dep_positions.size()});
    PyObject* deps = PyTuple_GET_ITEM(record, 4);
    for (Py_ssize_t dep_idx = 0; dep_idx < PyTuple_GET_SIZE(deps); ++dep_idx)
      dep_positions.push_back(static_cast<TaskId>(PyLong_AsSize_t(PyTuple_GET_ITEM(deps, dep_idx))));
    PyObject* func = PyTuple_GET_ITEM(record, 1);
    if (func != job.expression.ptr()) names[record_idx] = key_name(shapes.back().key);
  }
  auto deps_of = [&](std::size_t record_idx) {
    const std::size_t end = record_idx + 1 < n ? shapes[record_idx + 1].deps_begin : dep_positions.size();
    return std::span<const TaskId>(dep_positions.data() + shapes[record_idx].deps_begin,
                                   end - shapes[record_idx].deps_begin);
  };
  // The planner's rule for calls the script only wants back; delayed(value) and
  // expression records are not calls.
  std::vector<CallShape> calls(n);
  for (std::size_t record_idx = 0; record_idx < n; ++record_idx) {
    PyObject* func = PyTuple_GET_ITEM(shapes[record_idx].record, 1);
    const bool call = func != job.expression.ptr() && func != job.identity.ptr();
    calls[record_idx] = {call ? std::string_view(names[record_idx]) : std::string_view(), deps_of(record_idx)};
  }
  const double unknown = job.runtime.cost_model().default_cost;
  const std::vector<int> pins = spread_output_calls(calls, out_pos, job.size, [&](std::string_view function) {
    return job.costs.seconds(std::string(function), unknown);
  });

  built->names.reserve(n);
  std::vector<TaskId> ids(n);
  std::vector<TaskId> deps;
  for (std::size_t record_idx = 0; record_idx < n; ++record_idx) {
    const RecordShape& shape = shapes[record_idx];
    PyObject* record = shape.record;
    deps.clear();
    for (TaskId pos : deps_of(record_idx)) deps.push_back(ids[pos]);
    if (PyTuple_GET_ITEM(record, 1) == job.expression.ptr()) {
      ids[record_idx] = lower_expression_record(*built, record, shape.key, deps);
      continue;
    }
    TaskOptions options;
    options.cost = job.costs.seconds(names[record_idx]);
    options.owner = pins[record_idx];
    const TaskId id = static_cast<TaskId>(built->graph.size());
    auto body = std::make_shared<const TaskBody>([record, id](const Inputs& in) { return run_task(record, id, in); });
    Token token = token_bytes(shape.key.data(), shape.key.size(), 0x9e0b);
    ids[record_idx] = built->graph.add_task(Key{std::string(shape.key), token, true}, deps, std::move(body),
                                            pyvalue_codec(), options);
    if (ids[record_idx] == id) built->names.push_back(std::move(names[record_idx]));
  }
  for (TaskId pos : out_pos) {
    if (pos >= ids.size()) throw std::runtime_error("a compute's output position is out of range");
    built->outputs.push_back(ids[pos]);
  }
  built->graph.finalize();
  return built;
}

}  // namespace rask::job
