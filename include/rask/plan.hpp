#pragma once
/// Plan: which rank runs each task, derived by every rank alone from the same graph (no
/// messages to agree), plus what the plan predicts: tasks per rank, bytes crossing
/// ranks, the critical path and the wall time.
///
/// How owners are chosen (list scheduling on a simulated clock, HEFT-like):
///  - tasks are visited in the graph's depth-first post-order from the outputs;
///  - a pinned task (TaskOptions::owner, e.g. a chunk on the block-cyclic grid) goes
///    where it is pinned;
///  - root tasks (no inputs) are split into contiguous runs of the post-order, balanced
///    by cost, one run per rank, so that siblings feeding one consumer share a rank
///    (as Dask co-assigns root tasks);
///  - any other task goes to the rank where it would finish first, counting the time to
///    move inputs from other ranks (latency + bytes / bandwidth): a task stays with its
///    inputs unless another rank is idle enough to repay the transfer;
///  - a value with no Serializer never moves: its consumers follow it, and a result that
///    must reach rank 0 pulls its producer there;
///  - a collective task (TaskOptions::collective) runs on every rank at once: it starts
///    when its inputs exist and a thread is free on every rank, and holds one thread of
///    each rank until it ends; its inputs and its value never cross ranks;
///  - on more than one rank the same schedule is also simulated with every unpinned task
///    on rank 0, and taken when predicted faster: a plan is never predicted slower than
///    the simplest alternative.
#include <iosfwd>
#include <span>
#include <string>
#include <vector>

#include "rask/graph.hpp"

namespace rask {

/// The machine model the planner simulates. Seconds and bytes per second.
struct CostModel {
  double default_cost = 1e-6;  ///< a task with no cost hint
  double latency = 5e-6;       ///< one message between ranks
  double bandwidth = 5e9;      ///< bytes per second between ranks
  double message_cost = 1e-6;  ///< the receiver's work per value that arrives from another rank
};

/// Where compute results are wanted.
enum class Where {
  root,  ///< on rank 0 only
  all,   ///< on every rank
};

/// Local: `bytes` as people read it: "512 B", "3.2 MB", "1.5 GB" (powers of 1000).
std::string format_bytes(double bytes);

/// A static partition of a graph's needed tasks over ranks. Immutable once made.
class Plan {
 public:
  /// Local: plans `outputs` of `graph` (finalized) for `nranks` ranks of `threads` threads
  /// each. Deterministic, so every rank gets the same plan without a message. Throws GraphError on a cycle
  /// and PlanError when a value with no Serializer would have to cross ranks.
  Plan(const Graph& graph, std::span<const TaskId> outputs, int nranks, int threads,
       Where where = Where::root, const CostModel& model = {});

  /// Ranks, threads per rank and where results go, as planned for.
  int nranks() const noexcept { return nranks_; }
  int threads() const noexcept { return threads_; }
  Where where() const noexcept { return where_; }
  /// Needed tasks in priority order (the graph's post-order from the outputs).
  std::span<const TaskId> order() const noexcept { return order_; }
  /// The outputs asked for, in the order their values are returned.
  std::span<const TaskId> outputs() const noexcept { return outputs_; }
  /// Rank that runs `task`, or -1 when no output needs it (culled). A collective task
  /// runs on every rank; its owner() is 0 (collective() says so).
  int owner(TaskId task) const { return owner_[task]; }
  /// Whether every rank runs `task` together (TaskOptions::collective).
  bool collective(TaskId task) const { return collective_[task] != 0; }
  /// Whether `task` runs on `rank`: it is the owner, or the task is collective.
  bool runs_on(TaskId task, int rank) const { return owner_[task] == rank || (collective_[task] && owner_[task] >= 0); }
  /// The collective tasks in the order every rank enters them (order()'s).
  std::span<const TaskId> collectives() const noexcept { return collectives_; }
  /// Position of `task` in order() (lower runs first when both are ready).
  std::uint32_t priority(TaskId task) const { return priority_[task]; }
  /// Other ranks that need `task`'s value: its consumers' ranks and, for an output,
  /// rank 0 (or every rank with Where::all). Sorted, without the owner.
  std::span<const int> send_to(TaskId task) const {
    return {send_ranks_.data() + send_begin_[task], send_ranks_.data() + send_begin_[task + 1]};
  }

  /// Tasks `rank` runs (a collective task counts on every rank).
  std::size_t tasks_on(int rank) const { return tasks_per_rank_[rank]; }
  /// Values sent between ranks, one per (value, destination).
  std::size_t messages() const noexcept { return messages_; }
  double bytes_crossing() const noexcept { return bytes_crossing_; }  ///< estimated
  double total_work() const noexcept { return total_work_; }          ///< seconds, all tasks
  double critical_path() const noexcept { return critical_path_; }    ///< seconds, ignoring transfers
  double predicted_seconds() const noexcept { return predicted_; }    ///< simulated wall time
  /// Simulated start and finish of a task, seconds from the start of the compute.
  double start(TaskId task) const { return start_[task]; }
  double finish(TaskId task) const { return finish_[task]; }

  /// Predicted peak bytes of task values held at once on `rank`, simulated over order():
  /// a value is held from its task's end (or, received, from its first local consumer's
  /// start) until its last local consumer on the rank ran, and a result the rank hands
  /// out until the end. Sizes are TaskOptions::bytes, else the type's size hint. An
  /// estimate of values only (not a task's scratch memory, nor threads running ahead).
  double predicted_peak_bytes(int rank) const { return peak_bytes_[rank]; }

  /// Prints the summary: tasks, work and predicted peak memory per rank, messages and
  /// bytes crossing ranks, critical path, predicted wall time against serial and ideal.
  void print(std::ostream& out) const;

 private:
  // The phases of the constructor, in order (plan.cpp).
  struct Pins;
  Pins pin_tasks(const Graph& graph) const;
  void choose_schedule(const Graph& graph, const CostModel& model, Pins& pins);
  double list_schedule(const Graph& graph, const CostModel& model, Pins& pins, bool one_rank);
  void plan_sends(const Graph& graph);
  void predict_times(const Graph& graph, const CostModel& model);
  void predict_peak_bytes(const Graph& graph);

  int nranks_, threads_;
  Where where_;
  std::vector<TaskId> order_, outputs_;
  std::vector<int> owner_;
  std::vector<std::uint32_t> priority_;
  std::vector<std::uint32_t> send_begin_;
  std::vector<int> send_ranks_;
  std::vector<std::size_t> tasks_per_rank_;
  std::vector<double> work_per_rank_;
  std::vector<double> start_, finish_;
  std::vector<std::uint8_t> collective_;
  std::vector<TaskId> collectives_;
  std::vector<double> peak_bytes_;
  std::size_t messages_ = 0;
  double bytes_crossing_ = 0, total_work_ = 0, critical_path_ = 0, predicted_ = 0;
};

}  // namespace rask
