#pragma once
// The ready tasks of one rank's threads, kept apart from the executor that runs them
// (as Taskflow keeps its work-stealing queue apart from its executor).
#include <atomic>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include "rask/graph.hpp"

namespace rask::detail {

/// Per thread, a stack of ready tasks: its owner pushes and pops at the back (the newest,
/// whose inputs are hot in cache); idle threads steal from the front. Tasks ready from the
/// start (the roots) are shared by all threads in plan order, which is priority order.
class ReadyQueues {
 public:
  explicit ReadyQueues(int threads) : stacks_(static_cast<std::size_t>(threads)) {}

  /// A task whose inputs are all local from the start. Before any thread runs.
  void add_root(TaskId t) { roots_.push_back(t); }

  /// `t` became ready on `thread`.
  void push(int thread, TaskId t) {
    Stack& own = stacks_[thread];
    std::lock_guard lock(own.mutex);
    own.tasks.push_back(t);
  }

  /// The next task for `thread`: its own newest, else the next root, else the oldest of
  /// another thread's.
  std::optional<TaskId> pop(int thread) {
    Stack& own = stacks_[thread];
    {
      std::lock_guard lock(own.mutex);
      if (!own.tasks.empty()) {
        TaskId t = own.tasks.back();
        own.tasks.pop_back();
        return t;
      }
    }
    std::size_t root = next_root_.fetch_add(1, std::memory_order_relaxed);
    if (root < roots_.size()) return roots_[root];
    for (std::size_t k = 1; k < stacks_.size(); ++k) {
      Stack& victim = stacks_[(thread + k) % stacks_.size()];
      std::lock_guard lock(victim.mutex);
      if (!victim.tasks.empty()) {
        TaskId t = victim.tasks.front();
        victim.tasks.pop_front();
        return t;
      }
    }
    return std::nullopt;
  }

 private:
  struct alignas(64) Stack {
    std::mutex mutex;
    std::deque<TaskId> tasks;
  };
  std::vector<TaskId> roots_;
  std::atomic<std::size_t> next_root_{0};
  std::vector<Stack> stacks_;
};

}  // namespace rask::detail
