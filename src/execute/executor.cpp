#include "execute/executor.hpp"

#include <omp.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "rask/error.hpp"

namespace rask::detail {

thread_local const Key* t_running_task = nullptr;
thread_local Executor* t_collective_executor = nullptr;
thread_local MPI_Comm t_collective_comm = MPI_COMM_NULL;

const Key* running_task() noexcept { return t_running_task; }

Executor::Executor(const Graph& graph, const Plan& plan, const ExecContext& ctx, ExecStats& stats)
    : graph_(graph), plan_(plan), ctx_(ctx), stats_(stats), n_(graph.size()), values_(n_),
      pending_(std::make_unique<std::atomic<std::uint32_t>[]>(n_)),
      uses_(std::make_unique<std::atomic<std::uint32_t>[]>(n_)), initial_uses_(n_, 0), ready_(plan.threads()) {
  const int me = ctx_.rank;
  // Local consumers of every value (CSR), so a finished task wakes only its own rank's
  // tasks. A collective task consumes only the inputs made on its rank.
  auto reads = [&](TaskId t, TaskId d) { return !plan_.collective(t) || plan_.runs_on(d, me); };
  consumer_begin_.assign(n_ + 1, 0);
  for (TaskId t : plan_.order())
    if (plan_.runs_on(t, me))
      for (TaskId d : graph_.task(t).deps)
        if (reads(t, d)) ++consumer_begin_[d + 1];
  for (std::size_t i = 0; i < n_; ++i) consumer_begin_[i + 1] += consumer_begin_[i];
  consumers_.resize(consumer_begin_[n_]);
  std::vector<std::uint32_t> fill(consumer_begin_.begin(), consumer_begin_.end() - 1);
  auto collectives = plan_.collectives();
  coll_.assign(collectives.begin(), collectives.end());
  coll_ready_ = std::make_unique<std::atomic<bool>[]>(coll_.size());
  coll_index_.assign(n_, -1);
  for (std::size_t k = 0; k < coll_.size(); ++k) coll_index_[coll_[k]] = static_cast<std::int32_t>(k);
  for (TaskId t : plan_.order()) {
    if (!plan_.runs_on(t, me)) continue;
    ++local_tasks_;
    const auto& deps = graph_.task(t).deps;
    std::uint32_t waiting = 0;
    for (TaskId d : deps)
      if (reads(t, d)) {
        consumers_[fill[d]++] = t;
        ++waiting;
      }
    pending_[t].store(waiting, std::memory_order_relaxed);
    if (plan_.collective(t)) {
      present_.emplace(t, std::vector<std::uint8_t>());
      for (TaskId d : deps) present_[t].push_back(reads(t, d) ? 1 : 0);
      if (waiting == 0) coll_ready_[coll_index_[t]].store(true, std::memory_order_relaxed);
    } else if (waiting == 0) {
      ready_.add_root(t);  // plan order = priority order
    }
  }
  fence_collectives();
  for (TaskId t : plan_.order()) {
    initial_uses_[t] = consumer_begin_[t + 1] - consumer_begin_[t];
    if (!plan_.runs_on(t, me)) {
      auto dests = plan_.send_to(t);
      if (std::binary_search(dests.begin(), dests.end(), me)) ++expected_receives_;
    }
  }
  sent_to_.assign(ctx_.nranks, 0);
  outbox_.resize(ctx_.nranks);
  window_.assign(ctx_.nranks, 0);
  received_from_.assign(ctx_.nranks, 0);
  results_here_ = plan_.where() == Where::all || me == 0;
  may_collect_any_thread_ = ctx_.any_thread_mpi;  // else only the thread that may call MPI
  if (results_here_)
    for (TaskId t : plan_.outputs()) initial_uses_[t] += 1;  // keep results until handed out
  for (std::size_t i = 0; i < n_; ++i) uses_[i].store(initial_uses_[i], std::memory_order_relaxed);
}

std::vector<Value> Executor::run() {
  const int threads = plan_.threads();
  const bool distributed = ctx_.nranks > 1;
#pragma omp parallel num_threads(threads)
  work(omp_get_thread_num(), distributed);

  if (distributed) {
    // A rank that stopped before a collective still answers its entry, so that no
    // rank waits there for it.
    if (next_coll_ < coll_.size() && !coll_spoiled()) {
      std::lock_guard lock(mpi_mutex_);
      enter_collective(1);
    }
    // Results still on their way to this rank, and our sends, finish here.
    while (!stopped() && (receives_ < expected_receives_ || sends_in_flight()))
      if (!progress(true)) idle_wait();
    agree_on_failure();
  } else if (failure_) {
    throw TaskError(failure_->message(), failure_->key, failure_->rank);
  }
  return hand_out_results();
}

std::vector<Value> Executor::hand_out_results() {
  std::vector<Value> results;
  if (!results_here_) return results;
  results.reserve(plan_.outputs().size());
  std::unordered_map<TaskId, std::size_t> requests;
  for (TaskId t : plan_.outputs()) ++requests[t];
  // The last request for a value takes it; an earlier duplicate copies.
  for (TaskId t : plan_.outputs()) results.push_back(--requests[t] == 0 ? std::move(values_[t]) : values_[t]);
  return results;
}

void Executor::work(int thread, bool distributed) {
  const bool may_progress = distributed && (ctx_.any_thread_mpi || thread == 0);
  auto last_progress = std::chrono::steady_clock::now();
  unsigned since_check = 0;
  unsigned idle_rounds = 0;
  const bool may_collect = may_collect_any_thread_ || thread == 0;
  while (!stopped()) {
    check_signal();
    // Other ranks may be waiting in a collective for this one: it goes first.
    if (may_collect && try_collective(thread)) {
      idle_rounds = 0;
      continue;
    }
    if (auto task = ready_.pop(thread)) {
      run_task(*task, thread);
      idle_rounds = 0;
      // Between tasks, keep messages moving without reading the clock every time.
      if (may_progress && ++since_check >= 8) {
        since_check = 0;
        auto now = std::chrono::steady_clock::now();
        if (now - last_progress > std::chrono::microseconds(20)) {
          try_progress();
          last_progress = now;
        }
      }
      continue;
    }
    if (done_.load(std::memory_order_acquire) == local_tasks_) break;
    if (may_progress && try_progress()) {
      idle_rounds = 0;
      continue;
    }
    if (++idle_rounds > 64) idle_wait_beside_collective();
  }
}

// A value has arrived or been made: wake the local tasks waiting for it.
void Executor::deliver(TaskId t, int thread) {
  for (std::uint32_t i = consumer_begin_[t]; i < consumer_begin_[t + 1]; ++i) {
    TaskId c = consumers_[i];
    if (pending_[c].fetch_sub(1, std::memory_order_acq_rel) == 1) {
      if (coll_index_[c] >= 0)
        coll_ready_[coll_index_[c]].store(true, std::memory_order_release);  // entered in order, not stacked
      else
        ready_.push(thread, c);
    }
  }
}

void Executor::run_task(TaskId t, int thread) {
  const Task& task = graph_.task(t);
  const bool collective = plan_.collective(t);
  struct Running {
    Running(const Key* key, Executor* executor, MPI_Comm comm) {
      t_running_task = key;
      t_collective_executor = executor;
      t_collective_comm = comm;
    }
    ~Running() {
      t_running_task = nullptr;
      t_collective_executor = nullptr;
      t_collective_comm = MPI_COMM_NULL;
    }
  };
  try {
    if (collective) {
      Running running(&task.key, this, ctx_.coll_comm);
      struct Inside {
        std::atomic<int>& count;
        explicit Inside(std::atomic<int>& c) : count(c) { count.fetch_add(1, std::memory_order_relaxed); }
        ~Inside() { count.fetch_sub(1, std::memory_order_relaxed); }
      } inside(collectives_running_);
      values_[t] = (*task.body)(Inputs(values_.data(), task.deps, graph_, t, present_.at(t).data()));
    } else {
      Running running(&task.key, nullptr, MPI_COMM_NULL);
      values_[t] = (*task.body)(Inputs(values_.data(), task.deps, graph_, t));
    }
  } catch (const CollectiveAbandoned&) {
    coll_stopped_ = true;  // another rank's failure inside the body ends the compute
    return;
  } catch (const std::exception& e) {
    if (collective) coll_stopped_ = true;
    fail(t, e.what(), collective);
    return;
  } catch (...) {
    if (collective) coll_stopped_ = true;
    fail(t, "an exception that is not a std::exception", collective);
    return;
  }
  for (std::size_t i = 0; i < task.deps.size(); ++i) {
    TaskId d = task.deps[i];
    if (collective && !present_.at(t)[i]) continue;
    if (uses_[d].fetch_sub(1, std::memory_order_acq_rel) == 1) values_[d].reset();
  }
  if (fence_[t] >= 0 && !collective) fence_left_[fence_[t]].fetch_sub(1, std::memory_order_acq_rel);
  auto dests = plan_.send_to(t);
  bool held_for_blocks = false;
  if (!dests.empty() && !queue_sends(t, dests, held_for_blocks)) return;
  const bool value_still_needed = initial_uses_[t] > 0 || held_for_blocks;
  deliver(t, thread);
  if (!value_still_needed) values_[t].reset();
  tasks_run_.fetch_add(1, std::memory_order_relaxed);
  done_.fetch_add(1, std::memory_order_acq_rel);
}

void Executor::release(TaskId t) {
  if (uses_[t].fetch_sub(1, std::memory_order_acq_rel) == 1) values_[t].reset();
}

void Executor::idle_wait() {
  // Oversubscribed ranks (tests run 4 on 2 cores) must give the core away.
  sched_yield();
}

// An idle worker thread. While a collective body runs on this rank, its library
// (PDSYEVD, LAPACK) may use the rank's other cores through OpenBLAS's threads, and a
// thread spinning on sched_yield keeps half of such a core: sleep instead. Little is
// lost, since most work waits for the collective's value.
void Executor::idle_wait_beside_collective() const {
  if (collectives_running_.load(std::memory_order_relaxed) > 0)
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  else
    idle_wait();
}

std::vector<Value> execute(const Graph& graph, const Plan& plan, const ExecContext& ctx, ExecStats& stats) {
  Executor executor(graph, plan, ctx, stats);
  struct CountTasks {
    Executor& e;
    ExecStats& s;
    ~CountTasks() { s.tasks_run = e.tasks_run(); }
  } count{executor, stats};
  return executor.run();
}

}  // namespace rask::detail
