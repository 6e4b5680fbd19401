// Collective tasks: every rank enters them together, in plan order, one at a time, and
// what their bodies may call (rask::collective_comm, rask::collective_wait).
#include <array>
#include <memory>

#include "execute/executor.hpp"
#include "rask/error.hpp"

namespace rask::detail {

// Before entering collective k a rank must have run every task of its own that any
// rank needs for k (its fence), so that no rank waits inside k for a value another
// rank has not made. A task's fence is the first collective it leads to.
void Executor::fence_collectives() {
  const int me = ctx_.rank;
  fence_.assign(n_, -1);
  fence_left_ = std::make_unique<std::atomic<std::int64_t>[]>(coll_.size() + 1);
  std::vector<TaskId> stack;
  for (std::size_t k = 0; k < coll_.size(); ++k) {
    stack.assign(graph_.task(coll_[k]).deps.begin(), graph_.task(coll_[k]).deps.end());
    std::int64_t mine = 0;
    while (!stack.empty()) {
      TaskId d = stack.back();
      stack.pop_back();
      // An earlier collective, and what led to it, is behind an earlier fence.
      if (fence_[d] >= 0 || plan_.collective(d)) continue;
      fence_[d] = static_cast<std::int32_t>(k);
      if (plan_.owner(d) == me) ++mine;
      for (TaskId e : graph_.task(d).deps) stack.push_back(e);
    }
    fence_left_[k].store(mine, std::memory_order_relaxed);
  }
}

// The next collective task, if it may start: its inputs here, its fence passed, and
// (on several ranks) every rank agreed to enter. MPI is serialized, and a collective
// body calls MPI, so it runs holding the MPI lock: one collective at a time, in order.
bool Executor::try_collective(int thread) {
  const std::size_t k = next_coll_.load(std::memory_order_acquire);
  if (k >= coll_.size() || !coll_ready_[k].load(std::memory_order_acquire) ||
      fence_left_[k].load(std::memory_order_acquire) != 0)
    return false;
  std::unique_lock lock(mpi_mutex_, std::try_to_lock);
  if (!lock.owns_lock() || next_coll_.load(std::memory_order_acquire) != k || stopped() || coll_spoiled())
    return false;
  if (ctx_.nranks > 1 && !enter_collective(0)) return true;
  run_task(coll_[k], thread);
  stats_.collectives_run++;
  next_coll_.store(k + 1, std::memory_order_release);
  return true;
}

// Agrees with every rank, over the collectives' own communicator, to enter the next
// collective: `stopping` is 1 when this rank will not. Caller holds the MPI lock. A
// posted entry is waited for (others may be waiting in it), unless a rank failed inside
// a collective body: then entries are left unanswered and the communicator replaced.
// Returns whether every rank enters.
bool Executor::enter_collective(int stopping) {
  try {
    // On the heap: a call left unanswered keeps its buffers for good (MPI cannot
    // cancel a collective, and might still write to them).
    auto flags = std::make_unique<std::array<int, 2>>(std::array<int, 2>{stopping, 0});
    MPI_Request request;
    check_mpi(MPI_Iallreduce(&(*flags)[0], &(*flags)[1], 1, MPI_INT, MPI_MAX, ctx_.coll_comm, &request),
              "MPI_Iallreduce");
    for (int complete = 0; !complete;) {
      check_mpi(MPI_Test(&request, &complete, MPI_STATUS_IGNORE), "MPI_Test");
      if (complete) break;
      if (coll_spoiled()) {
        static std::vector<std::unique_ptr<std::array<int, 2>>> unanswered;
        unanswered.push_back(std::move(flags));
        return false;
      }
      if (!progress(false)) idle_wait();
    }
    if ((*flags)[1] == 0) return true;
  } catch (const MpiError& e) {
    fail("", e.what());
  }
  // Some rank stopped: nobody enters, and no later collective is agreed on.
  coll_stopped_ = true;
  return false;
}

void Executor::wait_in_collective(MPI_Request& request) {
  for (int complete = 0; !complete;) {
    check_mpi(MPI_Test(&request, &complete, MPI_STATUS_IGNORE), "MPI_Test");
    if (complete) return;
    if (ctx_.nranks > 1 && !progress(false)) idle_wait();
    if (spoiled_.load(std::memory_order_acquire)) throw CollectiveAbandoned();
  }
}

}  // namespace rask::detail

namespace rask {

MPI_Comm collective_comm() {
  if (detail::t_collective_comm == MPI_COMM_NULL)
    throw Error("rask::collective_comm() was called outside a collective task; only the body of a task added "
                "with TaskOptions::collective = true has one");
  return detail::t_collective_comm;
}

void collective_wait(MPI_Request& request) {
  if (!detail::t_collective_executor)
    throw Error("rask::collective_wait() was called outside a collective task; use MPI_Wait there");
  detail::t_collective_executor->wait_in_collective(request);
}

}  // namespace rask
