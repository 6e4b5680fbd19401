#pragma once
// What one `rask run` keeps between computes, on every rank: the Job. One Job lives for
// the length of run_job (src/job/job.cpp), reached through g_job by the embedded module's
// functions, which Python calls without a way to pass it.
#include <pybind11/pybind11.h>

#include <atomic>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "job/broadcast.hpp"
#include "rask/graph.hpp"
#include "rask/job.hpp"
#include "rask/runtime.hpp"

namespace rask::job {

/// What a job did on this rank, summed over its computes.
struct JobStats {
  std::size_t computes = 0;
  std::size_t tasks = 0;       // tasks this rank ran
  std::size_t bytes_sent = 0;  // serialized bytes this rank sent to other ranks
  double task_seconds = 0;     // time inside task bodies, all threads
};

/// The running compute's task times, one slot per task, each written by the one thread
/// that runs it.
struct TaskTimes {
  std::vector<double> start, end;  // MPI_Wtime; start < 0: not run on this rank
  std::vector<int> thread;
  std::vector<std::size_t> bytes;  // pickled size of each value sent (--trace)
  void reset(std::size_t tasks) {
    start.assign(tasks, -1.0);
    end.assign(tasks, 0.0);
    thread.assign(tasks, 0);
    bytes.assign(tasks, 0);
  }
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
  TaskTimes times;
  std::string trace_events;  // this rank's Chrome-trace events, JSON objects joined by ",\n"
  pybind11::object in_type;     // rask._In
  pybind11::object run_helper;  // rask._run
  pybind11::object identity;    // rask._identity
  pybind11::object expression;  // rask._expression: the func of an expression record
  std::optional<JobComm> progress_comm;  // --progress: the ranks' counts travel here
};

/// The running job, or null outside run_job.
extern Job* g_job;
/// Whether this thread is inside a Python task body (a compute there runs in place).
extern thread_local bool t_in_task;
/// The task this thread ran last: its value may be pickled to cross ranks next.
extern thread_local TaskId t_current_task;
/// Tasks this rank finished in the running compute (for --progress).
extern std::atomic<std::size_t> g_tasks_done;

}  // namespace rask::job
