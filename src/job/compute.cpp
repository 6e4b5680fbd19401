// A compute in a job (see compute.hpp).
#include "job/compute.hpp"

#include <pybind11/stl.h>

#include <mutex>
#include <optional>
#include <sstream>

#include "job/expression.hpp"
#include "job/graph.hpp"
#include "job/job.hpp"
#include "job/progress.hpp"
#include "job/pyvalue.hpp"
#include "job/signals.hpp"
#include "job/trace.hpp"
#include "rask/error.hpp"
#include "rask/plan.hpp"

namespace py = pybind11;

namespace rask::job {
namespace {

// Every rank learns whether any rank failed to build the graph; all throw the lowest
// failing rank's message, so no rank enters a compute the others skip.
void agree_on_build(const std::string& error) {
  if (auto failure = first_failure(g_job->comm, g_job->rank, g_job->size, error))
    throw Error("rank " + std::to_string(failure->first) + " could not load the graph: " + failure->second, true);
}

// Every rank, at the same point: runs the collective call `message` (name, NUL, payload)
// names; a failure on any rank is thrown on every rank. Without the GIL.
std::string run_collective(const std::string& message) {
  const auto nul = message.find('\0');
  const std::string_view name = std::string_view(message).substr(0, nul);
  std::string result, error;
  try {
    result = collective_call(name)(std::string_view(message).substr(nul + 1));
  } catch (const std::exception& e) {
    error = e.what();
    if (error.empty()) error = "unknown error";
  }
  if (g_job->size == 1) {
    if (!error.empty()) throw Error(error, true);
  } else if (auto failure = first_failure(g_job->comm, g_job->rank, g_job->size, error)) {
    throw Error(failure->first == 0 ? failure->second : "rank " + std::to_string(failure->first) + ": " + failure->second,
                true);
  }
  return result;
}

// --progress: what rank 0 draws against (the other ranks need nothing of the plan).
ProgressPlan progress_plan(BuiltGraph& built) {
  Job& job = *g_job;
  ProgressPlan result;
  result.compute_no = job.computes;
  if (job.rank != 0) return result;
  try {
    Plan plan = job.runtime.plan(built.graph, built.outputs);
    for (int r = 0; r < job.size; ++r) result.per_rank.push_back(plan.tasks_on(r));
    result.predicted_seconds = plan.predicted_seconds();
  } catch (const Error&) {
    // The compute meets the same error on every rank and reports it; rank 0 alone must
    // not leave here before entering it.
  }
  return result;
}

// Collective, without the GIL: runs a built graph on every rank; records task times.
std::vector<Value> run_compute(BuiltGraph& built) {
  Job& job = *g_job;
  const std::size_t n = built.graph.size();
  job.times.reset(n);
  // With --trace every rank also derives the plan (the same on each), to know which
  // values crossed ranks: the trace's flow arrows.
  std::optional<Plan> trace_plan;
  if (!job.options.trace.empty()) trace_plan.emplace(job.runtime.plan(built.graph, built.outputs));
  ++job.computes;
  std::vector<Value> results;
  std::exception_ptr error;
  g_tasks_done.store(0);
  std::optional<ProgressScope> progress;
  if (job.progress_comm)
    progress.emplace(job.progress_comm->get(), job.rank, job.size, g_tasks_done, progress_plan(built));
  g_in_compute.store(true);
  try {
    results = job.runtime.compute(built.graph, built.outputs, Where::root);
  } catch (...) {
    error = std::current_exception();
  }
  g_in_compute.store(false);
  if (progress) progress->finish(job.runtime.last_stats().tasks_run, error != nullptr);
  progress.reset();
  const ExecStats& exec = job.runtime.last_stats();
  job.stats.computes += 1;
  job.stats.tasks += exec.tasks_run;
  job.stats.bytes_sent += exec.bytes_sent;
  for (TaskId id = 0; id < n; ++id) {
    if (job.times.start[id] < 0) continue;
    const double seconds = job.times.end[id] - job.times.start[id];
    job.stats.task_seconds += seconds;
    job.measured.add(built.names[id], seconds);
  }
  if (!job.options.trace.empty()) append_compute_events(job, built, trace_plan ? &*trace_plan : nullptr);
  if (error) std::rethrow_exception(error);
  return results;
}

// Turns a collective rask error into the Python exception the script sees. A failed
// task raises its own builtin exception type when it has one (so `except ValueError`
// works as under Dask), else rask.TaskError; the message names the task and the rank.
[[noreturn]] void raise_in_python(const Error& e) {
  py::object rask_py = py::module_::import("rask");
  py::object exc = rask_py.attr("_task_exception")(py::str(e.what()), dynamic_cast<const TaskError*>(&e) != nullptr);
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.ptr())), exc.ptr());
  throw py::error_already_set();
}

// --visualize: compute 1 draws to the path itself, compute k > 1 to path-k.ext.
std::string visualize_path(std::size_t compute_no) {
  const std::string& path = g_job->options.visualize;
  if (compute_no <= 1) return path;
  auto dot = path.rfind('.');
  auto slash = path.rfind('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) dot = path.size();
  return path.substr(0, dot) + "-" + std::to_string(compute_no) + path.substr(dot);
}

void python_print(const std::string& text) { py::module_::import("sys").attr("stdout").attr("write")(text); }

// Names the first task whose record cannot be pickled, for the error message.
std::string unpicklable_task(py::handle dumps, py::list records) {
  for (py::handle record : records) {
    try {
      dumps(record);
    } catch (py::error_already_set& e) {
      std::string type = py::str(e.type().attr("__name__"));
      return py::str(record[py::int_(0)]).cast<std::string>() +
             "' cannot be sent to the other ranks: its function or "
             "arguments cannot be pickled (" +
             type + ": " + py::str(e.value()).cast<std::string>() + ")";
    }
  }
  return "";
}

// Script threads (a ThreadPoolExecutor calling compute) take turns: the ranks run one
// compute or collective call at a time. Waited for without the GIL, so the thread
// computing can finish. Needs the GIL.
std::unique_lock<std::mutex> take_turn() {
  static std::mutex compute_mutex;
  std::unique_lock<std::mutex> turn(compute_mutex, std::defer_lock);
  py::gil_scoped_release release;
  turn.lock();
  return turn;
}

// --dry-run: plans the compute and prints the plan; every output is None.
py::list dry_run(py::list records, const std::vector<TaskId>& out_pos) {
  Job& job = *g_job;
  auto built = build_graph(records, out_pos);
  Plan plan = job.runtime.plan(built->graph, built->outputs);
  ++job.computes;
  std::ostringstream text;
  text << "rask --dry-run: compute " << job.computes << ", " << built->graph.size() << " tasks\n";
  plan.print(text);
  python_print(text.str());
  if (!job.options.visualize.empty()) visualize(built->graph, plan, visualize_path(job.computes));
  py::list values;
  for (std::size_t output_idx = 0; output_idx < out_pos.size(); ++output_idx) values.append(py::none());
  return values;
}

// Rank 0: the records pickled for the other ranks; a TypeError naming the task whose
// function or arguments cannot be pickled.
std::string pickle_records(py::list records, const std::vector<TaskId>& out_pos) {
  GcPause gc_pause;
  py::object dumps = py::module_::import("cloudpickle").attr("dumps");
  try {
    py::object packed = py::module_::import("rask").attr("_pack")(records, out_pos);
    return py::bytes(dumps(packed, 5)).cast<std::string>();
  } catch (py::error_already_set& e) {
    std::string culprit = unpicklable_task(dumps, records);
    if (culprit.empty()) throw;
    PyErr_SetString(PyExc_TypeError,
                    ("task '" + culprit + "; make them picklable, or create the object inside the task").c_str());
    throw py::error_already_set();
  }
}

// Builds the graph, keeping the error to agree on rather than throwing it. Needs the GIL.
std::unique_ptr<BuiltGraph> try_build(py::object records, const std::vector<TaskId>& out_pos, std::string& error) {
  GcPause gc_pause;
  try {
    return build_graph(records, out_pos);
  } catch (py::error_already_set& e) {
    error = e.what();
  } catch (const std::exception& e) {
    error = e.what();
  }
  return nullptr;
}

}  // namespace

py::object py_collective(const std::string& name, const py::bytes& payload) {
  auto turn = take_turn();
  if (g_job->options.dry_run) return py::none();
  std::string message = name + '\0' + payload.cast<std::string>();
  std::string result;
  try {
    py::gil_scoped_release release;
    if (g_job->size > 1) {
      send_command(g_job->comm, {Kind::call, static_cast<std::int64_t>(message.size())});
      broadcast_bytes(g_job->comm, message);
    }
    result = run_collective(message);
  } catch (const Error& e) {
    if (!e.collective()) throw;
    raise_in_python(e);
  }
  return py::bytes(result);
}

py::list py_compute(py::list records, std::vector<TaskId> out_pos) {
  Job& job = *g_job;
  auto turn = take_turn();
  if (job.options.dry_run) return dry_run(records, out_pos);
  std::string payload;
  if (job.size > 1) {
    payload = pickle_records(records, out_pos);
    py::gil_scoped_release release;
    send_command(job.comm, {Kind::compute, static_cast<std::int64_t>(payload.size())});
    broadcast_bytes(job.comm, payload);
  }
  // Built while the other ranks unpickle their copy.
  std::string build_error;
  std::unique_ptr<BuiltGraph> built = try_build(records, out_pos, build_error);
  std::vector<Value> results;
  try {
    py::gil_scoped_release release;
    std::string().swap(payload);
    if (job.size > 1) {
      agree_on_build(build_error);
    } else if (!build_error.empty()) {
      throw Error("rank 0 could not load the graph: " + build_error, true);
    }
    if (!job.options.visualize.empty()) {
      Plan plan = job.runtime.plan(built->graph, built->outputs);
      visualize(built->graph, plan, visualize_path(job.computes + 1));
    }
    results = run_compute(*built);
  } catch (const Error& e) {
    drain_deferred();
    if (!e.collective()) throw;
    if (g_got_sigint.exchange(false)) {  // Ctrl-C on this rank: what Python would raise
      PyErr_SetNone(PyExc_KeyboardInterrupt);
      throw py::error_already_set();
    }
    raise_in_python(e);
  }
  drain_deferred();
  py::list values;
  for (Value& v : results) {
    PyObject* o = v.get<PyValue>().object();
    if (!o) throw py::error_already_set();
    values.append(py::reinterpret_borrow<py::object>(o));
  }
  results.clear();
  built.reset();
  return values;
}

void py_visualize(py::list records, std::vector<TaskId> out_pos, const std::string& path) {
  auto built = build_graph(records, out_pos);
  Plan plan = g_job->runtime.plan(built->graph, built->outputs);
  try {
    visualize(built->graph, plan, path);
  } catch (const Error& e) {
    throw std::runtime_error(e.what());
  }
}

int serve() {
  Job& job = *g_job;
  for (;;) {
    Command command = receive_command(job.comm);
    if (command.kind == Kind::exit) return static_cast<int>(command.value);
    std::string payload(static_cast<std::size_t>(command.value), '\0');
    broadcast_bytes(job.comm, payload);
    if (command.kind == Kind::call) {
      try {
        run_collective(payload);
      } catch (const Error& e) {
        if (!e.collective()) throw;  // rank 0 reports it, in the script
      }
      continue;
    }
    std::unique_ptr<BuiltGraph> built;
    std::string build_error;
    {
      py::gil_scoped_acquire gil;
      GcPause gc_pause;
      try {
        py::object loads = py::module_::import("pickle").attr("loads");
        py::tuple graph = py::module_::import("rask").attr("_unpack")(loads(py::bytes(payload)));
        built = build_graph(graph[0], graph[1].cast<std::vector<TaskId>>());
      } catch (py::error_already_set& e) {
        build_error = e.what();
      } catch (const std::exception& e) {
        build_error = e.what();
      }
    }
    std::string().swap(payload);
    try {
      agree_on_build(build_error);
      run_compute(*built);
    } catch (const Error& e) {
      if (!e.collective()) throw;  // a collective error is rank 0's to report, in the script
    }
    py::gil_scoped_acquire gil;
    built.reset();
    drain_deferred();
  }
}

}  // namespace rask::job
