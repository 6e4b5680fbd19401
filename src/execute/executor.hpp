#pragma once
// The executor of one compute on one rank. Its parts live in files named after them:
//   executor.cpp     set-up, the worker loop, running a task and waking its consumers;
//   ready_queues.hpp the threads' ready tasks;
//   mailbox.cpp      values crossing ranks: batches, blocks, MPI progress;
//   collectives.cpp  entering collective tasks in order, and what their bodies may call;
//   failure.cpp      a failure anywhere stops every rank with the same TaskError.
#include <mpi.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "execute/comm.hpp"
#include "execute/execute.hpp"
#include "execute/failure.hpp"
#include "execute/mailbox.hpp"
#include "execute/ready_queues.hpp"

namespace rask::detail {

class Executor;

// What the crash handler and a collective body read about the task this thread runs,
// for the length of its body however it ends.
extern thread_local const Key* t_running_task;
extern thread_local Executor* t_collective_executor;  // the executor of the collective task it runs
extern thread_local MPI_Comm t_collective_comm;        // and that task's communicator

// Thrown by collective_wait when another rank failed inside the same collective task:
// this rank leaves the task without failing itself.
struct CollectiveAbandoned : std::exception {
  const char* what() const noexcept override { return "left a collective task another rank failed inside"; }
};

class Executor {
 public:
  Executor(const Graph& graph, const Plan& plan, const ExecContext& ctx, ExecStats& stats);

  /// Runs this rank's share; the results where the plan says, or throws the agreed TaskError.
  std::vector<Value> run();

  /// Tasks this rank ran so far.
  std::size_t tasks_run() const { return tasks_run_.load(); }

  /// collective_wait's loop: keeps rask's messages moving; leaves (throws) when another
  /// rank failed inside its part of a collective.
  void wait_in_collective(MPI_Request& request);

 private:
  // executor.cpp
  void work(int thread, bool distributed);
  void run_task(TaskId t, int thread);
  void deliver(TaskId t, int thread);
  void release(TaskId t);
  std::vector<Value> hand_out_results();
  static void idle_wait();
  void idle_wait_beside_collective() const;

  // collectives.cpp
  void fence_collectives();
  bool try_collective(int thread);
  bool enter_collective(int stopping);
  bool coll_spoiled() const { return coll_stopped_ || spoiled_.load(std::memory_order_acquire); }

  // mailbox.cpp
  bool queue_sends(TaskId t, std::span<const int> dests, bool& held_for_blocks);
  bool try_progress();
  bool progress(bool single_threaded);
  bool post_batches();
  bool retire_sends();
  void take_batch(const Bytes& bytes, int source);
  bool retire_block_receives();
  void arrived(TaskId t);
  bool sends_in_flight();
  void drain_messages();

  // failure.cpp
  bool stopped() const { return stop_.load(std::memory_order_acquire); }
  void fail(TaskId t, const std::string& what, bool in_collective = false);
  void fail(const std::string& key, const std::string& what, bool in_collective = false);
  void check_signal();
  void record_remote_failure(Failure f, int source);
  void announce_failure();
  void abort_if_others_stuck_in_collective(std::chrono::steady_clock::time_point since);
  void agree_on_failure();

  const Graph& graph_;
  const Plan& plan_;
  const ExecContext& ctx_;
  ExecStats& stats_;
  const std::size_t n_;
  std::vector<Value> values_;
  std::unique_ptr<std::atomic<std::uint32_t>[]> pending_;  // inputs not yet here
  std::unique_ptr<std::atomic<std::uint32_t>[]> uses_;     // local readers left
  std::vector<std::uint32_t> initial_uses_;
  std::vector<std::uint32_t> consumer_begin_;
  std::vector<TaskId> consumers_;
  ReadyQueues ready_;
  std::size_t local_tasks_ = 0;
  std::atomic<std::size_t> done_{0};
  std::atomic<std::size_t> tasks_run_{0};
  std::size_t expected_receives_ = 0, receives_ = 0;
  bool results_here_ = false;

  // Collective tasks, in the order every rank enters them.
  std::vector<TaskId> coll_;
  std::vector<std::int32_t> coll_index_;                  // task -> position in coll_, or -1
  std::unique_ptr<std::atomic<bool>[]> coll_ready_;       // its local inputs are here
  std::unordered_map<TaskId, std::vector<std::uint8_t>> present_;  // which inputs it reads
  std::vector<std::int32_t> fence_;                       // task -> first collective it leads to, or -1
  std::unique_ptr<std::atomic<std::int64_t>[]> fence_left_;  // per collective: own fenced tasks to run
  std::atomic<std::size_t> next_coll_{0};
  bool coll_stopped_ = false;         // no further entries on this rank (under the MPI lock)
  std::atomic<bool> spoiled_{false};  // some rank failed inside a collective body
  std::atomic<int> collectives_running_{0};  // collective bodies running on this rank's threads
  bool may_collect_any_thread_ = false;

  std::mutex mpi_mutex_;
  std::mutex outbox_mutex_;
  std::vector<Outbox> outbox_;  // per destination
  bool any_queued_ = false;
  std::vector<int> window_;                  // unmatched batches per destination
  std::vector<Outgoing> in_flight_, error_sends_;
  std::vector<Incoming> incoming_;
  std::vector<std::uint64_t> sent_to_, received_from_;  // batches, per rank

  std::atomic<bool> stop_{false};
  std::mutex failure_mutex_;
  std::optional<Failure> failure_, own_failure_;
  std::atomic<bool> failed_here_{false};
  bool failure_sent_ = false;
  std::vector<int> reported_by_;
};

}  // namespace rask::detail
