// The `rask` program: `mpirun -n K rask run job.py [args...]` runs a Dask job script on
// the whole MPI job (see include/rask/job.hpp).
#include <mpi.h>
#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

#include "execute/comm.hpp"
#include "rask/job.hpp"
#include "rask/runtime.hpp"

#ifndef RASK_VERSION
#define RASK_VERSION "unknown"
#endif

namespace {

const char* kUsage = R"(usage: rask run [options] JOB.py [script arguments...]
       rask run [options] NOTEBOOK.ipynb [notebook options]
       rask --help | --version

Runs a Python job script written against Dask's API on every rank of an MPI job:
    mpirun -n 4 rask run job.py          (or srun; one rank alone works without mpirun)
Rank 0 runs the script; `import dask`, `from dask import delayed, compute` and
`from dask.distributed import Client` resolve to rask's modules, and every compute
runs its graph on all ranks, each with its OpenMP threads.

options (before JOB.py):
  --threads N       threads per rank (default: OMP_NUM_THREADS, else SLURM_CPUS_PER_TASK, else 1)
  --dry-run         plan each compute and print tasks per rank, bytes crossing ranks,
                    critical path and predicted time; run no task (results are None)
  --visualize FILE  draw each compute's graph (.dot, or .svg/.png/.pdf with Graphviz);
                    computes after the first get FILE-2.svg, FILE-3.svg, ...
  --trace FILE      write a Chrome-trace/Perfetto JSON of every task (pid = rank, tid = thread)
  --costs FILE      the cost file to read and update (default: beside the job, JOB.rask-costs)
  --no-learn        do not write measured costs back to the cost file
  --progress        a progress line per compute on rank 0: tasks done on every rank, rate,
                    time left (redrawn on a terminal, a line every 2 s otherwise)
  --quiet           no summary line at the end
  --help, --version

A notebook runs cell by cell on rank 0 through IPython's shell (magics, displays, print
as in Jupyter), every compute on all ranks; the executed notebook is written with each
cell's outputs, execution count and wall time. Notebook options (before or after it):
  --output OUT.ipynb  the executed notebook (default: NOTEBOOK.rask.ipynb beside it)
  -p NAME VALUE       a parameter, injected after the cell tagged 'parameters' (papermill);
                      VALUE is read as True/False/None, an int, a float, else text
  --allow-errors      run every cell even after one raised (nbconvert)

Exit status: 0 when the script ends normally, its sys.exit code, 1 when it raises; for a
notebook 0 when every cell ran (or --allow-errors), 1 when a cell raised and stopped it.
)";

// A usage error: printed by rank 0 alone before MPI starts talking; every rank exits 2.
[[noreturn]] void usage_error(const std::string& message) {
  const char* rank = std::getenv("OMPI_COMM_WORLD_RANK");
  if (!rank) rank = std::getenv("PMI_RANK");
  if (!rank || std::string(rank) == "0") std::fprintf(stderr, "rask: %s\nTry 'rask --help'.\n", message.c_str());
  std::exit(2);
}

/// MPI started by the program itself, so that any thread may call it: --progress sends
/// each rank's count from a thread of its own while the executor's threads talk too. The
/// Runtime then uses this MPI and leaves finalizing it to this object, which outlives it.
class ThreadedMpi {
 public:
  ThreadedMpi(int& argc, char**& argv) {
    int provided = MPI_THREAD_SINGLE;
    rask::detail::check_mpi(MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided), "MPI_Init_thread");
  }
  ~ThreadedMpi() {
    int finalized = 0;
    MPI_Finalized(&finalized);  // a destructor never throws: unchecked
    if (!finalized) MPI_Finalize();
  }
  ThreadedMpi(const ThreadedMpi&) = delete;
  ThreadedMpi& operator=(const ThreadedMpi&) = delete;
};

}  // namespace

int main(int argc, char** argv) {
  rask::JobOptions options;
  int threads = 0;
  int arg_idx = 1;
  std::string notebook_option;  // the first notebook-only option given, for its error
  if (argc < 2) usage_error("no command given (did you mean 'rask run job.py'?)");
  const std::string command = argv[1];
  if (command == "--help" || command == "-h") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (command == "--version") {
    std::printf("rask %s\n", RASK_VERSION);
    return 0;
  }
  if (command != "run") usage_error("unknown command '" + command + "' (the command is 'run': rask run job.py)");
  for (arg_idx = 2; arg_idx < argc; ++arg_idx) {
    const std::string arg = argv[arg_idx];
    auto value = [&]() -> std::string {
      if (arg_idx + 1 >= argc) usage_error("missing value after " + arg);
      return argv[++arg_idx];
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "--threads") {
      const std::string text = value();
      char* end = nullptr;
      long n = std::strtol(text.c_str(), &end, 10);
      if (text.empty() || *end || n < 1 || n > 1024)
        usage_error("--threads wants a whole number from 1 to 1024, got '" + text + "'");
      threads = static_cast<int>(n);
    } else if (arg == "--dry-run") {
      options.dry_run = true;
    } else if (arg == "--visualize") {
      options.visualize = value();
    } else if (arg == "--trace") {
      options.trace = value();
    } else if (arg == "--costs") {
      options.costs = value();
    } else if (arg == "--no-learn") {
      options.learn_costs = false;
    } else if (arg == "--progress") {
      options.progress = true;
    } else if (arg == "--quiet") {
      options.summary = false;
    } else if (arg == "--output") {
      options.output = value();
      notebook_option = arg;
    } else if (arg == "-p" || arg == "--parameters") {
      std::string name = value();
      options.parameters.emplace_back(std::move(name), value());
      notebook_option = arg;
    } else if (arg == "--allow-errors") {
      options.allow_errors = true;
      notebook_option = arg;
    } else if (arg.size() > 1 && arg[0] == '-') {
      usage_error("unknown option " + arg + " (options go before the script; the script's own after it)");
    } else if (options.script.empty()) {
      options.script = arg;
      // A notebook takes no arguments: what follows it are rask's options (papermill's
      // order, `papermill nb.ipynb out.ipynb -p alpha 0.6`); a script's are its own.
      if (rask::is_notebook(arg)) continue;
      for (++arg_idx; arg_idx < argc; ++arg_idx) options.args.push_back(argv[arg_idx]);
    } else {
      usage_error("a notebook takes no arguments, got '" + arg + "' (its parameters: -p NAME VALUE)");
    }
  }
  if (options.script.empty()) usage_error("no job script given: rask run job.py");
  if (!notebook_option.empty() && !rask::is_notebook(options.script))
    usage_error(notebook_option + " is for notebooks (NOTEBOOK.ipynb), not for '" + options.script + "'");
  if (!std::filesystem::is_regular_file(options.script))
    usage_error(std::string(rask::is_notebook(options.script) ? "cannot open notebook '" : "cannot open job script '") +
                options.script + "': no such file");
  // The Runtime reads the thread count from the environment, as a C++ program's does.
  if (threads > 0) setenv("OMP_NUM_THREADS", std::to_string(threads).c_str(), 1);
  // Only for --progress: a fully threaded MPI costs a lock on every call.
  std::optional<ThreadedMpi> mpi;
  if (options.progress) mpi.emplace(argc, argv);
  rask::Runtime runtime(argc, argv);
  return rask::run_job(runtime, options);
}
