// The job runner: rank 0 interprets the script; every rank runs the graphs it computes.
//
//   broadcast.cpp    the protocol: commands and payloads on the job's own communicator
//   signals.cpp      SIGTERM and SIGINT in and out of a compute
//   interpreter.cpp  rask's Python modules, the script as __main__, the module _rask
//   compute.cpp      a compute: records broadcast, graph built, run on every rank
//   graph.cpp        records -> rask::Graph, and a Python task's body
//   trace.cpp        --trace's Chrome-trace events
//   summary.cpp      the end: the summary line, the cost file, the trace file
#include "job/job.hpp"

#include <mpi.h>
#include <pybind11/embed.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "execute/comm.hpp"
#include "job/compute.hpp"
#include "job/expression.hpp"
#include "job/interpreter.hpp"
#include "job/pyvalue.hpp"
#include "job/signals.hpp"
#include "job/summary.hpp"

namespace py = pybind11;

namespace rask {
namespace job {

Job* g_job = nullptr;
thread_local bool t_in_task = false;
thread_local TaskId t_current_task = 0;
std::atomic<std::size_t> g_tasks_done{0};

namespace {

using detail::check_mpi;

void record_encoded(std::size_t bytes) {
  if (g_job && t_current_task < g_job->times.bytes.size()) g_job->times.bytes[t_current_task] += bytes;
}

// NumPy's BLAS would start a thread per core in every rank and every task thread; cap
// it so ranks x threads x BLAS threads never exceed the cores (a user's setting wins).
// Collective (a split of the world by node).
void cap_library_threads(int threads) {
  MPI_Comm node;
  check_mpi(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node),
            "MPI_Comm_split_type");
  int ranks_here = 1;
  check_mpi(MPI_Comm_size(node, &ranks_here), "MPI_Comm_size");
  check_mpi(MPI_Comm_free(&node), "MPI_Comm_free");
  const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const std::string per = std::to_string(std::max(1, cores / std::max(1, ranks_here * threads)));
  // Debian's h5py loads its Open MPI build (the HDF5 rask links) only when it sees MPI.
  setenv("H5PY_ALWAYS_USE_MPI", "1", 0);
  for (const char* name : {"OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"})
    setenv(name, per.c_str(), 0);
}

// Collective: rank 0 reads the cost file and every rank plans with the same copy.
CostTable read_costs(const Job& job) {
  const std::string path = job.options.costs.empty() ? cost_file_for(job.options.script) : job.options.costs;
  std::string text;
  if (job.rank == 0) {
    std::ifstream in(path);
    std::stringstream content;
    if (in) content << in.rdbuf();
    text = content.str();
  }
  broadcast_text(job.comm, text);
  return CostTable::parse(text, path);
}

}  // namespace
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
  state.costs = read_costs(state);

  std::vector<std::string> argv_text{options.script};
  argv_text.insert(argv_text.end(), options.args.begin(), options.args.end());
  std::vector<const char*> argv;
  for (auto& a : argv_text) argv.push_back(a.c_str());
  int status = 1;
  {
    // Python's Ctrl-C handler belongs to the rank running the script.
    py::scoped_interpreter interpreter(state.rank == 0, static_cast<int>(argv.size()), argv.data(), false);
    load_modules(state, options.script);
    SignalScope signals(state.rank);
    check_mpi(MPI_Barrier(state.comm.get()), "MPI_Barrier");
    state.start = MPI_Wtime();
    if (state.rank == 0) {
      status = is_notebook(options.script) ? run_notebook(options) : run_script(options.script);
      if (state.size > 1) {
        py::gil_scoped_release release;
        send_command(state.comm, {Kind::exit, status});
      }
    } else {
      py::gil_scoped_release release;
      status = serve();
    }
    drain_deferred();
    unload_modules(state);
  }
  finish(state, status);
  return status;
}

}  // namespace rask
