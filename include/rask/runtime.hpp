#pragma once
/// Runtime: MPI and OpenMP set-up for one program, and the entry point that turns a
/// graph into results. Create exactly one, first thing in main, on every rank:
///
///     int main(int argc, char** argv) {
///       rask::Runtime rt(argc, argv);   // MPI_Init_thread; MPI_Finalize at scope exit
///       ...
///     }
///
/// A rask::Error that escapes main is reported once: a collective error (every rank
/// threw it) by rank 0 alone, then every rank exits with status 1; any other uncaught
/// exception by the rank that saw it, as `ERROR on rank N: ...`, then MPI_Abort.
#include <memory>
#include <string>
#include <span>
#include <vector>

#include "rask/execute.hpp"
#include "rask/graph.hpp"
#include "rask/plan.hpp"
#include "rask/value.hpp"

namespace rask {

/// MPI and OpenMP for one program, and the entry point of every compute.
class Runtime {
 public:
  /// Collective: initializes MPI (thread level serialized when available) unless the
  /// program already did. Threads per rank: OMP_NUM_THREADS, else SLURM_CPUS_PER_TASK,
  /// else 1; every rank uses rank 0's count.
  Runtime(int& argc, char**& argv);
  /// Collective: finalizes MPI if this Runtime initialized it.
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  /// Local: the live Runtime; throws rask::Error when the program has not created one.
  static Runtime& current();

  /// Local: this rank's number in the job (0 to size() - 1).
  int rank() const noexcept;
  /// Local: the number of ranks in the job.
  int size() const noexcept;
  /// Local: OpenMP threads each rank runs tasks on (the same on every rank).
  int threads() const noexcept;
  /// Local: seconds since an arbitrary point (MPI_Wtime).
  double wtime() const noexcept;
  /// Collective: a barrier. Throws SpmdError on every rank when some rank is elsewhere
  /// (in a compute, or leaving the program).
  void barrier() const;
  /// Collective: rank 0's `text` on every rank. For steps only rank 0 performs (writing
  /// a picture, reading a file) so that its error stops every rank, not rank 0 alone.
  std::string broadcast_from_root(const std::string& text) const;

  /// Local: the planner's machine model; change it before computing, the same way on
  /// every rank, or the ranks' plans differ.
  CostModel& cost_model() noexcept;

  /// Collective: every rank must call it with the same graph and outputs; the ranks
  /// check that they do (a hash of the graph, one small allreduce) and throw SpmdError
  /// naming the first task that differs when they do not. Runs the
  /// tasks the outputs need and returns their values, in the order of `outputs`, on
  /// rank 0 (every rank with Where::all; other ranks get an empty vector). Throws
  /// GraphError/PlanError before running anything, and TaskError on every rank when a
  /// task throws anywhere.
  std::vector<Value> compute(Graph& graph, std::span<const TaskId> outputs, Where where = Where::root);

  /// Local: the plan compute would follow for this job's ranks and threads.
  Plan plan(Graph& graph, std::span<const TaskId> outputs, Where where = Where::root) const;

  /// Local: counters of this rank's part in the last compute.
  const ExecStats& last_stats() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rask
