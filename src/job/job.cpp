// The job runner: rank 0 interprets the script; every rank runs the graphs it computes.
//
// Protocol, on a communicator of its own: rank 0 broadcasts a Command (compute with a
// payload size, or exit with a status); for a compute, the pickled graph follows. Idle
// ranks poll a nonblocking broadcast and sleep between polls, so that while rank 0 runs
// the script's own Python they leave the cores to it.
#include "rask/job.hpp"

#include <mpi.h>
#include <omp.h>
#include <pybind11/embed.h>
#include <pybind11/stl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "job/expression.hpp"
#include "job/progress.hpp"
#include "job/python_sources.hpp"
#include "job/pyvalue.hpp"
#include "rask/error.hpp"
#include "rask/plan.hpp"

namespace py = pybind11;

namespace rask {
namespace job {
namespace {

void check(int code, const char* what) {
  if (code != MPI_SUCCESS) {
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(code, text, &length);
    throw MpiError(std::string(what) + " failed: " + std::string(text, static_cast<std::size_t>(length)));
  }
}

/// The job's own communicator, so its broadcasts never meet the executor's messages.
class JobComm {
 public:
  JobComm() {
    check(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
  }
  ~JobComm() { MPI_Comm_free(&comm_); }
  JobComm(const JobComm&) = delete;
  JobComm& operator=(const JobComm&) = delete;
  MPI_Comm get() const { return comm_; }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
};

enum class Kind : std::int64_t { compute = 1, exit = 2, call = 3 };
struct Command {
  Kind kind;
  std::int64_t value;  // compute, call: payload bytes; exit: status
};

constexpr std::size_t kPiece = std::size_t{1} << 30;  // MPI counts are ints

/// What a job did on this rank, summed over its computes.
struct JobStats {
  std::size_t computes = 0;
  std::size_t tasks = 0;       // tasks this rank ran
  std::size_t bytes_sent = 0;  // serialized bytes this rank sent to other ranks
  double task_seconds = 0;     // time inside task bodies, all threads
};

/// What the job keeps between computes.
struct Job {
  Job(Runtime& rt, const JobOptions& opts) : runtime(rt), options(opts), rank(rt.rank()), size(rt.size()) {}
  Runtime& runtime;
  const JobOptions& options;
  JobComm comm;
  int rank = 0, size = 1;
  JobStats stats;
  CostTable costs;     // learned per-function seconds, read at start (the same on every rank)
  CostTable measured;  // this run's measurements on this rank
  std::size_t computes = 0;
  double start = 0;  // MPI_Wtime after the start-up barrier: the trace's zero
  // The running compute's task times (each slot written by the one thread running it).
  std::vector<double> task_start, task_end;
  std::vector<int> task_thread;
  std::vector<std::size_t> task_bytes;  // pickled size of each value sent (--trace)
  std::string trace_events;  // this rank's Chrome-trace events, JSON objects joined by ",\n"
  py::object in_type;        // rask._In
  py::object run_helper;     // rask._run
  py::object identity;       // rask._identity
  py::object expression;     // rask._expression: the func of an expression record
  std::optional<JobComm> progress_comm;  // --progress: the ranks' counts travel here
};
Job* g_job = nullptr;
thread_local bool t_in_task = false;
thread_local TaskId t_current_task = 0;  // the task this thread ran last (its value may be sent next)

void record_encoded(std::size_t bytes) {
  if (g_job && t_current_task < g_job->task_bytes.size()) g_job->task_bytes[t_current_task] += bytes;
}
std::atomic<std::size_t> g_tasks_done{0};  // this rank, this compute: for --progress

// Signals. Inside a compute, SIGINT (Ctrl-C reaches every rank of the terminal's process
// group) stops the compute as SIGTERM does, through the Runtime's handler; outside one,
// SIGTERM ends the rank as it would without rask and SIGINT goes to Python's handler on
// rank 0 (KeyboardInterrupt in the script).
std::atomic<bool> g_in_compute{false};
std::atomic<bool> g_got_sigint{false};
struct sigaction g_previous_term {
}, g_previous_int{};
int g_signal_rank = 0;

void call_previous(const struct sigaction& previous, int sig) {
  if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
    previous.sa_handler(sig);
    return;
  }
  if (previous.sa_handler == SIG_IGN) return;
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

extern "C" void on_job_signal(int sig) {
  if (g_in_compute.load()) {
    if (sig == SIGINT) g_got_sigint.store(true);
    call_previous(g_previous_term, SIGTERM);  // the Runtime's: a failure every rank agrees on
    return;
  }
  if (sig == SIGTERM && g_signal_rank == 0) {
    const char text[] = "rask: received SIGTERM (the job's time limit, or scancel); stopping every rank\n";
    ssize_t ignored = write(STDERR_FILENO, text, sizeof text - 1);
    (void)ignored;
  }
  call_previous(sig == SIGINT ? g_previous_int : g_previous_term, sig);
}

/// Installs on_job_signal for SIGTERM and SIGINT; restores the previous handlers.
class SignalScope {
 public:
  explicit SignalScope(int rank) {
    g_signal_rank = rank;
    struct sigaction action {};
    action.sa_handler = on_job_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, &g_previous_term);
    sigaction(SIGINT, &action, &g_previous_int);
  }
  ~SignalScope() {
    sigaction(SIGTERM, &g_previous_term, nullptr);
    sigaction(SIGINT, &g_previous_int, nullptr);
  }
  SignalScope(const SignalScope&) = delete;
  SignalScope& operator=(const SignalScope&) = delete;
};

// Rank 0: tells every rank what comes next.
// Nonblocking, as the other ranks receive it: a blocking and a nonblocking broadcast do
// not match each other.
void send_command(Command command) {
  MPI_Request request;
  check(MPI_Ibcast(&command, sizeof command, MPI_BYTE, 0, g_job->comm.get(), &request), "MPI_Ibcast");
  check(MPI_Wait(&request, MPI_STATUS_IGNORE), "MPI_Wait");
}

// Other ranks: waits for rank 0's next command without holding a core.
Command receive_command() {
  Command command{};
  MPI_Request request;
  check(MPI_Ibcast(&command, sizeof command, MPI_BYTE, 0, g_job->comm.get(), &request), "MPI_Ibcast");
  auto begin = std::chrono::steady_clock::now();
  for (;;) {
    int done = 0;
    check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (done) return command;
    // Spin briefly (a compute often follows a compute), then sleep: ranks may
    // outnumber cores, and rank 0 needs its core for the script.
    auto waited = std::chrono::steady_clock::now() - begin;
    if (waited < std::chrono::milliseconds(2))
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(std::chrono::microseconds(waited < std::chrono::seconds(1) ? 200 : 2000));
  }
}

// Collective: `bytes` (already sized on every rank) from `root` to every rank.
void broadcast_bytes(std::string& bytes, int root = 0) {
  for (std::size_t offset = 0; offset < bytes.size(); offset += kPiece) {
    int count = static_cast<int>(std::min(kPiece, bytes.size() - offset));
    check(MPI_Bcast(bytes.data() + offset, count, MPI_BYTE, root, g_job->comm.get()), "MPI_Bcast");
  }
}

std::string key_name(std::string_view key) {
  auto dash = key.rfind('-');
  return std::string(dash == std::string_view::npos || dash == 0 ? key : key.substr(0, dash));
}

/// A graph built from a compute's records: (key, func, args, kwargs, deps, nested).
struct BuiltGraph {
  Graph graph;
  std::vector<TaskId> outputs;
  std::vector<std::string> names;  // function name per task, for costs and traces
  py::object records;              // keeps every object the task bodies borrow alive
};

Value run_task(PyObject* record, TaskId id, const Inputs& inputs);

/// Pauses Python's cyclic garbage collector while a graph is pickled, unpickled or
/// built: 10^5 new tuples would trigger collections that scan them all, for nothing
/// (records hold no cycles). Needs the GIL.
class GcPause {
 public:
  GcPause() : was_enabled_(PyGC_Disable()) {}
  ~GcPause() {
    if (was_enabled_) PyGC_Enable();
  }
  GcPause(const GcPause&) = delete;
  GcPause& operator=(const GcPause&) = delete;

 private:
  int was_enabled_;
};

// An expression record's tasks (src/job/expression.hpp), added by its kind's lowering;
// each new task is named by the kind for costs and traces. Needs the GIL.
TaskId lower_expression_record(BuiltGraph& built, PyObject* record, const char* key, Py_ssize_t key_size,
                               const std::vector<TaskId>& deps) {
  PyObject* spec = PyTuple_GET_ITEM(record, 2);
  Py_ssize_t kind_size = 0;
  const char* kind = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(spec, 0), &kind_size);
  char* payload = nullptr;
  Py_ssize_t payload_size = 0;
  if (!kind || PyBytes_AsStringAndSize(PyTuple_GET_ITEM(spec, 1), &payload, &payload_size) != 0)
    throw py::error_already_set();
  const std::string_view kind_text(kind, static_cast<std::size_t>(kind_size));
  const TaskId out = expression_lowering(kind_text)(built.graph, std::string_view(key, static_cast<std::size_t>(key_size)),
                                                   std::string_view(payload, static_cast<std::size_t>(payload_size)), deps);
  built.names.resize(built.graph.size(), std::string(kind_text));
  return out;
}

// Calls the script only wants back (no inputs, no task consuming them: the workshop's
// cartesian products, a loop of futures) spread over the ranks by function, heaviest
// function first, each call to the least loaded rank. The plan splits independent tasks
// into contiguous runs for locality, which for calls whose costs it cannot know yet (a
// job's first run) may put every call of a fast function on one rank and every call of
// a slow one on another; these calls have no locality to keep. Needs the GIL; every rank
// derives the same pins from the same records. -1: the plan chooses.
std::vector<int> spread_output_calls(PyObject* list, const std::vector<TaskId>& out_pos) {
  Job& job = *g_job;
  const Py_ssize_t n = PyList_GET_SIZE(list);
  std::vector<int> pins(static_cast<std::size_t>(n), -1);
  if (job.size < 2) return pins;
  std::vector<char> wanted(static_cast<std::size_t>(n), 0);
  for (TaskId pos : out_pos)
    if (pos < wanted.size()) wanted[pos] = 1;
  for (Py_ssize_t record_idx = 0; record_idx < n; ++record_idx) {
    PyObject* deps = PyTuple_GET_ITEM(PyList_GET_ITEM(list, record_idx), 4);
    for (Py_ssize_t dep_idx = 0; dep_idx < PyTuple_GET_SIZE(deps); ++dep_idx) {
      const std::size_t dep = PyLong_AsSize_t(PyTuple_GET_ITEM(deps, dep_idx));
      if (dep < wanted.size()) wanted[dep] = 0;  // consumed by a task: the plan keeps it near
    }
  }
  // Calls by function, in the order the functions first appear.
  std::vector<std::pair<std::string, std::vector<std::size_t>>> groups;
  std::map<std::string, std::size_t> group_of;
  std::size_t calls = 0;
  for (Py_ssize_t record_idx = 0; record_idx < n; ++record_idx) {
    PyObject* record = PyList_GET_ITEM(list, record_idx);
    PyObject* func = PyTuple_GET_ITEM(record, 1);
    if (!wanted[static_cast<std::size_t>(record_idx)] || PyTuple_GET_SIZE(PyTuple_GET_ITEM(record, 4)) != 0 ||
        func == job.expression.ptr() || func == job.identity.ptr())
      continue;
    Py_ssize_t key_size = 0;
    const char* key = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(record, 0), &key_size);
    if (!key) throw py::error_already_set();
    std::string name = key_name(std::string_view(key, static_cast<std::size_t>(key_size)));
    auto [it, added] = group_of.emplace(name, groups.size());
    if (added) groups.emplace_back(name, std::vector<std::size_t>{});
    groups[it->second].second.push_back(static_cast<std::size_t>(record_idx));
    ++calls;
  }
  if (calls < 2 * static_cast<std::size_t>(job.size)) return pins;  // too few to matter
  const double unknown = job.runtime.cost_model().default_cost;
  std::vector<double> weight;
  for (const auto& group : groups) weight.push_back(job.costs.seconds(group.first, unknown));
  // Calls known to take under a millisecond gain little from spreading; the plan may
  // rather keep them, and their results, on rank 0.
  constexpr double kWorthSpreading = 1e-3;
  std::vector<std::size_t> by_weight;
  for (std::size_t group_idx = 0; group_idx < groups.size(); ++group_idx)
    if (weight[group_idx] >= kWorthSpreading) by_weight.push_back(group_idx);
  std::stable_sort(by_weight.begin(), by_weight.end(),
                   [&](std::size_t a, std::size_t b) { return weight[a] > weight[b]; });
  std::vector<double> load(static_cast<std::size_t>(job.size), 0.0);
  for (std::size_t group_idx : by_weight)
    for (std::size_t record_idx : groups[group_idx].second) {
      const auto rank = static_cast<std::size_t>(std::min_element(load.begin(), load.end()) - load.begin());
      pins[record_idx] = static_cast<int>(rank);
      load[rank] += weight[group_idx];
    }
  return pins;
}

// Needs the GIL. Collective use: every rank builds the same graph from the same records.
std::unique_ptr<BuiltGraph> build_graph(py::object records, const std::vector<TaskId>& out_pos) {
  auto built = std::make_unique<BuiltGraph>();
  built->records = records;
  PyObject* list = records.ptr();
  if (!PyList_Check(list)) throw std::runtime_error("a compute's records must be a list");
  const Py_ssize_t n = PyList_GET_SIZE(list);
  built->names.reserve(static_cast<std::size_t>(n));
  std::vector<TaskId> ids(static_cast<std::size_t>(n));
  std::vector<TaskId> deps;
  const std::vector<int> pins = spread_output_calls(list, out_pos);
  for (Py_ssize_t record_idx = 0; record_idx < n; ++record_idx) {
    PyObject* record = PyList_GET_ITEM(list, record_idx);
    Py_ssize_t key_size = 0;
    const char* key = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(record, 0), &key_size);
    if (!key) throw py::error_already_set();
    PyObject* dep_positions = PyTuple_GET_ITEM(record, 4);
    deps.clear();
    for (Py_ssize_t dep_idx = 0; dep_idx < PyTuple_GET_SIZE(dep_positions); ++dep_idx)
      deps.push_back(ids[PyLong_AsSize_t(PyTuple_GET_ITEM(dep_positions, dep_idx))]);
    if (PyTuple_GET_ITEM(record, 1) == g_job->expression.ptr()) {
      ids[static_cast<std::size_t>(record_idx)] = lower_expression_record(*built, record, key, key_size, deps);
      continue;
    }
    std::string key_text(key, static_cast<std::size_t>(key_size));
    TaskOptions options;
    std::string name = key_name(key_text);
    options.cost = g_job->costs.seconds(name);
    options.owner = pins[static_cast<std::size_t>(record_idx)];
    const TaskId id = static_cast<TaskId>(built->graph.size());
    auto body = std::make_shared<const TaskBody>([record, id](const Inputs& in) { return run_task(record, id, in); });
    Token token = token_bytes(key, static_cast<std::size_t>(key_size), 0x9e0b);
    ids[static_cast<std::size_t>(record_idx)] =
        built->graph.add_task(Key{std::move(key_text), token, true}, deps, std::move(body), pyvalue_codec(), options);
    if (ids[static_cast<std::size_t>(record_idx)] == id) built->names.push_back(std::move(name));
  }
  for (TaskId pos : out_pos) {
    if (pos >= ids.size()) throw std::runtime_error("a compute's output position is out of range");
    built->outputs.push_back(ids[pos]);
  }
  built->graph.finalize();
  return built;
}

Value run_task(PyObject* record, TaskId id, const Inputs& inputs) {
  TaskGil gil;
  const double t0 = MPI_Wtime();
  t_in_task = true;
  struct Reset {
    ~Reset() { t_in_task = false; }
  } reset;
  PyObject* func = PyTuple_GET_ITEM(record, 1);
  PyObject* args = PyTuple_GET_ITEM(record, 2);
  PyObject* kwargs = PyTuple_GET_ITEM(record, 3);
  const bool nested = PyTuple_GET_ITEM(record, 5) == Py_True;
  PyObject* in_type = g_job->in_type.ptr();
  PyObject* result = nullptr;
  auto input = [&](std::size_t idx) -> PyObject* {
    PyObject* o = inputs.get<PyValue>(idx).object();
    if (!o) throw std::runtime_error(take_python_error());
    return o;
  };
  if (func == g_job->identity.ptr() && inputs.size() == 0) {
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
    result = PyObject_CallFunctionObjArgs(g_job->run_helper.ptr(), func, args, kwargs, ins, nullptr);
    Py_DECREF(ins);
  }
  if (!result) throw std::runtime_error(take_python_error());
  g_job->task_start[id] = t0;
  g_job->task_end[id] = MPI_Wtime();
  g_job->task_thread[id] = omp_get_thread_num();
  t_current_task = id;
  g_tasks_done.fetch_add(1, std::memory_order_relaxed);
  return Value(PyValue{std::make_shared<PyRef>(result)});
}

// Every rank learns whether any rank failed to build the graph; all throw the lowest
// failing rank's message, so no rank enters a compute the others skip.
// Returns the lowest failing rank and its message, or nothing when every rank succeeded.
std::optional<std::pair<int, std::string>> first_failure(const std::string& error) {
  int mine = error.empty() ? g_job->size : g_job->rank, first = 0;
  check(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, g_job->comm.get()), "MPI_Allreduce");
  if (first == g_job->size) return std::nullopt;
  std::string text = error;
  std::uint64_t length = text.size();
  check(MPI_Bcast(&length, 1, MPI_UINT64_T, first, g_job->comm.get()), "MPI_Bcast");
  text.resize(length);
  broadcast_bytes(text, first);
  return std::make_pair(first, std::move(text));
}

void agree_on_build(const std::string& error) {
  if (auto failure = first_failure(error))
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
  } else if (auto failure = first_failure(error)) {
    throw Error(failure->first == 0 ? failure->second : "rank " + std::to_string(failure->first) + ": " + failure->second,
                true);
  }
  return result;
}

// Chrome-trace flow events for the values that crossed ranks: an arrow from the end of
// the task that made a value to the start of its first consumer on each other rank
// (or to the end of the compute, for a result sent to rank 0), with the bytes sent.
void append_flows(const BuiltGraph& built, const Plan& plan, std::ostringstream& events) {
  Job& job = *g_job;
  const double now = MPI_Wtime();
  auto flow = [&](const char* phase, TaskId producer, int dest, int tid, double at, std::size_t bytes) {
    if (!job.trace_events.empty() || events.tellp() > 0) events << ",\n";
    events << "{\"name\":\"value\",\"cat\":\"transfer\",\"ph\":\"" << phase << "\""
           << (phase[0] == 'f' ? ",\"bp\":\"e\"" : "") << ",\"id\":\"" << job.computes << "-" << producer << "-" << dest
           << "\",\"pid\":" << job.rank << ",\"tid\":" << tid << ",\"ts\":" << (at - job.start) * 1e6;
    if (phase[0] == 's') events << ",\"args\":{\"bytes\":" << bytes << "}";
    events << "}";
  };
  std::vector<char> arrived(built.graph.size(), 0);
  for (TaskId id : plan.order()) {
    if (plan.owner(id) == job.rank && job.task_start[id] >= 0) {
      for (int dest : plan.send_to(id))
        flow("s", id, dest, job.task_thread[id], job.task_end[id], job.task_bytes[id]);
      for (TaskId dep : built.graph.task(id).deps)
        if (plan.owner(dep) != job.rank && !arrived[dep]) {
          arrived[dep] = 1;
          flow("f", dep, job.rank, job.task_thread[id], job.task_start[id], 0);
        }
    }
  }
  if (job.rank == 0)
    for (TaskId out : plan.outputs())
      if (plan.owner(out) != 0 && !arrived[out]) {
        arrived[out] = 1;
        flow("f", out, 0, 0, now, 0);
      }
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
  job.task_start.assign(n, -1.0);
  job.task_end.assign(n, 0.0);
  job.task_thread.assign(n, 0);
  job.task_bytes.assign(n, 0);
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
  std::ostringstream events;
  events.precision(1);
  events << std::fixed;
  for (TaskId id = 0; id < n; ++id) {
    if (job.task_start[id] < 0) continue;
    const double seconds = job.task_end[id] - job.task_start[id];
    job.stats.task_seconds += seconds;
    job.measured.add(built.names[id], seconds);
    if (job.options.trace.empty()) continue;
    if (!job.trace_events.empty() || events.tellp() > 0) events << ",\n";
    std::string key = built.graph.task(id).key.name;
    std::string escaped;
    for (char c : key) {
      if (c == '"' || c == '\\') escaped += '\\';
      if (static_cast<unsigned char>(c) >= 0x20) escaped += c;
    }
    events << "{\"name\":\"" << escaped << "\",\"cat\":\"" << built.names[id] << "\",\"ph\":\"X\",\"pid\":" << job.rank
           << ",\"tid\":" << job.task_thread[id] << ",\"ts\":" << (job.task_start[id] - job.start) * 1e6
           << ",\"dur\":" << seconds * 1e6 << ",\"args\":{\"compute\":" << job.computes << "}}";
  }
  if (trace_plan) append_flows(built, *trace_plan, events);
  job.trace_events += events.str();
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

// _rask.collective on rank 0: runs a registered C++ collective on every rank; rank 0's
// result bytes (None under --dry-run, where nothing runs). Holding the GIL.
py::object py_collective(const std::string& name, const py::bytes& payload) {
  auto turn = take_turn();
  if (g_job->options.dry_run) return py::none();
  std::string message = name + '\0' + payload.cast<std::string>();
  std::string result;
  try {
    py::gil_scoped_release release;
    if (g_job->size > 1) {
      send_command({Kind::call, static_cast<std::int64_t>(message.size())});
      broadcast_bytes(message);
    }
    result = run_collective(message);
  } catch (const Error& e) {
    if (!e.collective()) throw;
    raise_in_python(e);
  }
  return py::bytes(result);
}

// _rask.compute on rank 0: broadcasts the graph, runs it on every rank, returns the
// outputs' values. Called by the script's thread, holding the GIL.
py::list py_compute(py::list records, std::vector<TaskId> out_pos) {
  Job& job = *g_job;
  auto turn = take_turn();
  py::list values;
  if (job.options.dry_run) {
    auto built = build_graph(records, out_pos);
    Plan plan = job.runtime.plan(built->graph, built->outputs);
    ++job.computes;
    std::ostringstream text;
    text << "rask --dry-run: compute " << job.computes << ", " << built->graph.size() << " tasks\n";
    plan.print(text);
    python_print(text.str());
    if (!job.options.visualize.empty()) visualize(built->graph, plan, visualize_path(job.computes));
    for (std::size_t output_idx = 0; output_idx < out_pos.size(); ++output_idx) values.append(py::none());
    return values;
  }
  std::string payload;
  if (job.size > 1) {
    GcPause gc_pause;
    py::object dumps = py::module_::import("cloudpickle").attr("dumps");
    try {
      py::object packed = py::module_::import("rask").attr("_pack")(records, out_pos);
      payload = py::bytes(dumps(packed, 5)).cast<std::string>();
    } catch (py::error_already_set& e) {
      std::string culprit = unpicklable_task(dumps, records);
      if (culprit.empty()) throw;
      PyErr_SetString(PyExc_TypeError,
                      ("task '" + culprit + "; make them picklable, or create the object inside the task").c_str());
      throw py::error_already_set();
    }
    py::gil_scoped_release release;
    send_command({Kind::compute, static_cast<std::int64_t>(payload.size())});
    broadcast_bytes(payload);
  }
  // Built while the other ranks unpickle their copy.
  std::unique_ptr<BuiltGraph> built;
  std::string build_error;
  {
    GcPause gc_pause;
    try {
      built = build_graph(records, out_pos);
    } catch (py::error_already_set& e) {
      build_error = e.what();
    } catch (const std::exception& e) {
      build_error = e.what();
    }
  }
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
  for (Value& v : results) {
    PyObject* o = v.get<PyValue>().object();
    if (!o) throw py::error_already_set();
    values.append(py::reinterpret_borrow<py::object>(o));
  }
  results.clear();
  built.reset();
  return values;
}

// _rask.visualize: draws a graph as the C++ visualize does. Local (rank 0).
void py_visualize(py::list records, std::vector<TaskId> out_pos, const std::string& path) {
  auto built = build_graph(records, out_pos);
  Plan plan = g_job->runtime.plan(built->graph, built->outputs);
  try {
    visualize(built->graph, plan, path);
  } catch (const Error& e) {
    throw std::runtime_error(e.what());
  }
}

// The other ranks: run each graph rank 0 broadcasts until it says the script ended.
int serve() {
  for (;;) {
    Command command = receive_command();
    if (command.kind == Kind::exit) return static_cast<int>(command.value);
    std::string payload(static_cast<std::size_t>(command.value), '\0');
    broadcast_bytes(payload);
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

// Finds rask's Python modules inside the program, ahead of anything installed, so that
// `import dask` means rask's dask whatever else the machine has.
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

// Runs the script as __main__ and returns its exit status; Python prints any error
// itself, as `python3 job.py` would.
const char* kRunScript = R"py(
def run_script(path):
    import sys, traceback
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

def report(e):
    # Python's own report, without the frames of rask's modules and of this runner:
    # the script's lines are what the user can act on.
    import sys, traceback
    def trim(te):
        te.stack = traceback.StackSummary.from_list(
            [f for f in te.stack if not f.filename.startswith(("<rask>", "<frozen importlib", "<string>"))])
        for inner in (te.__cause__, te.__context__):
            if inner is not None:
                trim(inner)
    te = traceback.TracebackException(type(e), e, e.__traceback__)
    trim(te)
    sys.stderr.write("".join(te.format()))
)py";

// NumPy's BLAS would start a thread per core in every rank and every task thread; cap
// it so ranks x threads x BLAS threads never exceed the cores (a user's setting wins).
void cap_library_threads(int threads) {
  MPI_Comm node;
  check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node), "MPI_Comm_split_type");
  int ranks_here = 1;
  MPI_Comm_size(node, &ranks_here);
  MPI_Comm_free(&node);
  const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const std::string per = std::to_string(std::max(1, cores / std::max(1, ranks_here * threads)));
  // Debian's h5py loads its Open MPI build (the HDF5 rask links) only when it sees MPI.
  setenv("H5PY_ALWAYS_USE_MPI", "1", 0);
  for (const char* name : {"OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"})
    setenv(name, per.c_str(), 0);
}

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  int unit = 0;
  while (bytes >= 1000 && unit < 4) {
    bytes /= 1000;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit ? "%.1f %s" : "%.0f %s", bytes, units[unit]);
  return text;
}

// Collective: rank 0 learns every rank's totals and prints the one summary line, writes
// the cost file and the trace.
void finish(int status) {
  Job& job = *g_job;
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  double mine[4] = {static_cast<double>(job.stats.tasks), static_cast<double>(job.stats.bytes_sent),
                    static_cast<double>(usage.ru_maxrss) * 1024.0, job.stats.task_seconds};
  std::vector<double> all(4 * static_cast<std::size_t>(job.size));
  check(MPI_Gather(mine, 4, MPI_DOUBLE, all.data(), 4, MPI_DOUBLE, 0, job.comm.get()), "MPI_Gather");
  // Measured costs and trace events travel as text to rank 0.
  std::string costs_text = job.measured.text();
  std::string trace_text = job.options.trace.empty() ? std::string() : job.trace_events;
  std::vector<std::string> texts[2];
  for (int part = 0; part < 2; ++part) {
    std::string& text = part == 0 ? costs_text : trace_text;
    int length = static_cast<int>(text.size());
    std::vector<int> lengths(static_cast<std::size_t>(job.size)), offsets(static_cast<std::size_t>(job.size));
    check(MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, job.comm.get()), "MPI_Gather");
    std::string gathered;
    if (job.rank == 0) {
      int total = 0;
      for (int r = 0; r < job.size; ++r) {
        offsets[static_cast<std::size_t>(r)] = total;
        total += lengths[static_cast<std::size_t>(r)];
      }
      gathered.resize(static_cast<std::size_t>(total));
    }
    check(MPI_Gatherv(text.data(), length, MPI_CHAR, gathered.data(), lengths.data(), offsets.data(), MPI_CHAR, 0,
                      job.comm.get()),
          "MPI_Gatherv");
    if (job.rank == 0)
      for (int r = 0; r < job.size; ++r)
        texts[part].push_back(gathered.substr(static_cast<std::size_t>(offsets[static_cast<std::size_t>(r)]),
                                              static_cast<std::size_t>(lengths[static_cast<std::size_t>(r)])));
  }
  if (job.rank != 0) return;
  if (status == 0 && job.options.learn_costs && !job.options.dry_run && job.stats.computes > 0) {
    // Sum calls and seconds over ranks rather than letting one rank's entry win.
    CostTable merged;
    for (const std::string& text : texts[0]) {
      std::istringstream in(text);
      std::string line;
      while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream fields(line);
        std::string name;
        double mean = 0;
        std::size_t calls = 0;
        if (fields >> name >> mean >> calls && calls > 0) merged.add(name, mean * static_cast<double>(calls), calls);
      }
    }
    CostTable file = job.costs;
    file.update(merged);
    try {
      file.write(job.options.costs.empty() ? cost_file_for(job.options.script) : job.options.costs);
    } catch (const Error& e) {
      std::fprintf(stderr, "rask: warning: %s\n", e.what());
    }
  }
  if (!job.options.trace.empty()) {
    std::ofstream out(job.options.trace + ".tmp");
    out << "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n";
    bool first = true;
    for (int r = 0; r < job.size; ++r) {
      out << (first ? "" : ",\n") << "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":" << r
          << ",\"args\":{\"name\":\"rank " << r << "\"}}";
      first = false;
      if (!texts[1][static_cast<std::size_t>(r)].empty()) out << ",\n" << texts[1][static_cast<std::size_t>(r)];
    }
    out << "\n]}\n";
    out.close();
    std::error_code ec;
    std::filesystem::rename(job.options.trace + ".tmp", job.options.trace, ec);
    if (!out || ec) std::fprintf(stderr, "rask: warning: could not write the trace '%s'\n", job.options.trace.c_str());
  }
  if (!job.options.summary) return;
  double tasks = 0, bytes = 0;
  std::string peaks;
  for (int r = 0; r < job.size; ++r) {
    tasks += all[4 * static_cast<std::size_t>(r)];
    bytes += all[4 * static_cast<std::size_t>(r) + 1];
    char peak[32];
    std::snprintf(peak, sizeof peak, "%s%.0f", r ? "/" : "", all[4 * static_cast<std::size_t>(r) + 2] / 1e6);
    peaks += peak;
  }
  std::fprintf(stderr,
               "rask: %s: %d rank%s x %d thread%s, %.3f s wall, %zu compute%s, %.0f tasks, %s moved between ranks, "
               "peak memory per rank %s MB\n",
               status == 0 ? "done" : "failed", job.size, job.size == 1 ? "" : "s", job.runtime.threads(),
               job.runtime.threads() == 1 ? "" : "s", MPI_Wtime() - job.start, job.stats.computes,
               job.stats.computes == 1 ? "" : "s", tasks, human_bytes(bytes).c_str(), peaks.c_str());
  std::fflush(stderr);
}

}  // namespace

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

}  // namespace job

int run_job(Runtime& runtime, const JobOptions& options) {
  using namespace job;
  Job state(runtime, options);
  g_job = &state;
  struct Clear {
    ~Clear() { g_job = nullptr; }
  } clear;
  cap_library_threads(runtime.threads());
  register_kinds();
  if (options.progress) state.progress_comm.emplace();
  observe_encoded(record_encoded);
  // A Python task of unknown duration is planned as Dask's scheduler assumes one takes
  // (distributed.scheduler.unknown-task-duration, 500 ms), not as a C++ call of a
  // microsecond: else a first run would keep a job's slow calls on one rank.
  runtime.cost_model().default_cost = 0.5;
  // Rank 0 reads the cost file and every rank plans with the same copy.
  std::string costs_text;
  if (state.rank == 0) {
    std::ifstream in(options.costs.empty() ? cost_file_for(options.script) : options.costs);
    std::stringstream text;
    if (in) text << in.rdbuf();
    costs_text = text.str();
  }
  std::uint64_t length = costs_text.size();
  check(MPI_Bcast(&length, 1, MPI_UINT64_T, 0, state.comm.get()), "MPI_Bcast");
  costs_text.resize(length);
  broadcast_bytes(costs_text);
  state.costs = CostTable::parse(costs_text, options.costs.empty() ? cost_file_for(options.script) : options.costs);

  std::vector<std::string> argv_text{options.script};
  argv_text.insert(argv_text.end(), options.args.begin(), options.args.end());
  std::vector<const char*> argv;
  for (auto& a : argv_text) argv.push_back(a.c_str());
  int status = 1;
  {
    // Python's Ctrl-C handler belongs to the rank running the script.
    py::scoped_interpreter interpreter(state.rank == 0, static_cast<int>(argv.size()), argv.data(), false);
    {
      py::list files;
      for (const auto& source : python_sources()) files.append(py::make_tuple(source.path, source.source));
      py::dict scope;
      scope["files"] = files;
      py::exec(kBootstrap, scope);
      std::string script_dir = std::filesystem::absolute(options.script).parent_path().string();
      py::module_::import("sys").attr("path").attr("insert")(0, script_dir);
      py::module_ rask_py = py::module_::import("rask");
      // Loaded now, not inside the first compute: every graph travels through them.
      py::module_::import("cloudpickle");
      py::module_::import("pickle");
      state.in_type = rask_py.attr("_In");
      state.run_helper = rask_py.attr("_run");
      state.identity = rask_py.attr("_identity");
      state.expression = rask_py.attr("_expression");
    }
    SignalScope signals(state.rank);
    check(MPI_Barrier(state.comm.get()), "MPI_Barrier");
    state.start = MPI_Wtime();
    if (state.rank == 0) {
      py::dict scope;
      py::exec(kRunScript, scope);
      status = scope["run_script"](options.script).cast<int>();
      if (state.size > 1) {
        py::gil_scoped_release release;
        send_command({Kind::exit, status});
      }
    } else {
      py::gil_scoped_release release;
      status = serve();
    }
    drain_deferred();
    state.in_type = py::object();
    state.run_helper = py::object();
    state.identity = py::object();
    state.expression = py::object();
  }
  finish(status);
  return status;
}

}  // namespace rask
