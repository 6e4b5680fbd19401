#include "execute/execute.hpp"

#include <omp.h>
#include <sched.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "rask/error.hpp"

namespace rask::detail {

namespace {
thread_local const Key* t_running_task = nullptr;

class Executor;
// The executor and communicator of the collective task this thread runs, if any.
thread_local Executor* t_collective_executor = nullptr;
thread_local MPI_Comm t_collective_comm = MPI_COMM_NULL;

// Thrown by collective_wait when another rank failed inside the same collective task:
// this rank leaves the task without failing itself.
struct CollectiveAbandoned : std::exception {
  const char* what() const noexcept override { return "left a collective task another rank failed inside"; }
};

/// A failure report, as it travels between ranks.
struct Failure {
  std::string key;
  int rank = -1;
  std::string what;
  bool in_collective = false;  // inside a collective task's body: its communicator is spoiled
  std::string message() const {
    if (key.empty()) return "rank " + std::to_string(rank) + " stopped: " + what;
    return "task '" + key + "' failed on rank " + std::to_string(rank) + ": " + what;
  }
};

Bytes encode_failure(const Failure& f) {
  Bytes bytes(8);  // total size, filled below
  Writer w(bytes);
  w.write(f.key);
  w.write(f.rank);
  w.write(f.what);
  w.write(static_cast<int>(f.in_collective));
  std::uint64_t total = bytes.size();
  std::memcpy(bytes.data(), &total, 8);
  return bytes;
}

Failure decode_failure(const Bytes& bytes) {
  Reader r(bytes.data() + 8, bytes.size() - 8);
  Failure f;
  f.key = r.read<std::string>();
  f.rank = r.read<int>();
  f.what = r.read<std::string>();
  f.in_collective = r.read<int>() != 0;
  return f;
}

/// One thread's ready tasks: it pushes and pops at the back (the newest, whose inputs
/// are hot in cache); idle threads steal from the front.
struct alignas(64) ReadyStack {
  std::mutex mutex;
  std::deque<TaskId> tasks;
};

class Executor {
 public:
  Executor(const Graph& graph, const Plan& plan, const ExecContext& ctx, ExecStats& stats)
      : graph_(graph), plan_(plan), ctx_(ctx), stats_(stats), n_(graph.size()), values_(n_),
        pending_(std::make_unique<std::atomic<std::uint32_t>[]>(n_)),
        uses_(std::make_unique<std::atomic<std::uint32_t>[]>(n_)), initial_uses_(n_, 0),
        stacks_(static_cast<std::size_t>(plan.threads())) {
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
        roots_.push_back(t);  // plan order = priority order
      }
    }
    // Before entering collective k a rank must have run every task of its own that any
    // rank needs for k (its fence), so that no rank waits inside k for a value another
    // rank has not made. A task's fence is the first collective it leads to.
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

  std::vector<Value> run() {
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
    std::vector<Value> results;
    if (!results_here_) return results;
    results.reserve(plan_.outputs().size());
    std::unordered_map<TaskId, std::size_t> requests;
    for (TaskId t : plan_.outputs()) ++requests[t];
    // The last request for a value takes it; an earlier duplicate copies.
    for (TaskId t : plan_.outputs())
      results.push_back(--requests[t] == 0 ? std::move(values_[t]) : values_[t]);
    return results;
  }

 private:
  bool stopped() const { return stop_.load(std::memory_order_acquire); }

  void work(int thread, bool distributed) {
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
      if (auto task = next_task(thread)) {
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

  std::optional<TaskId> next_task(int thread) {
    ReadyStack& own = stacks_[thread];
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
      ReadyStack& victim = stacks_[(thread + k) % stacks_.size()];
      std::lock_guard lock(victim.mutex);
      if (!victim.tasks.empty()) {
        TaskId t = victim.tasks.front();
        victim.tasks.pop_front();
        return t;
      }
    }
    return std::nullopt;
  }

  void make_ready(TaskId t, int thread) {
    ReadyStack& own = stacks_[thread];
    std::lock_guard lock(own.mutex);
    own.tasks.push_back(t);
  }

  // A value has arrived or been made: wake the local tasks waiting for it.
  void deliver(TaskId t, int thread) {
    for (std::uint32_t i = consumer_begin_[t]; i < consumer_begin_[t + 1]; ++i) {
      TaskId c = consumers_[i];
      if (pending_[c].fetch_sub(1, std::memory_order_acq_rel) == 1) {
        if (coll_index_[c] >= 0)
          coll_ready_[coll_index_[c]].store(true, std::memory_order_release);  // entered in order, not stacked
        else
          make_ready(c, thread);
      }
    }
  }

  // The next collective task, if it may start: its inputs here, its fence passed, and
  // (on several ranks) every rank agreed to enter. MPI is serialized, and a collective
  // body calls MPI, so it runs holding the MPI lock: one collective at a time, in order.
  bool try_collective(int thread) {
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
  bool enter_collective(int stopping) {
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

  bool coll_spoiled() const { return coll_stopped_ || spoiled_.load(std::memory_order_acquire); }

 public:
  // collective_wait's loop: keep rask's messages moving; leave when another rank failed
  // inside its part of a collective.
  void wait_in_collective(MPI_Request& request) {
    for (int complete = 0; !complete;) {
      check_mpi(MPI_Test(&request, &complete, MPI_STATUS_IGNORE), "MPI_Test");
      if (complete) return;
      if (ctx_.nranks > 1 && !progress(false)) idle_wait();
      if (spoiled_.load(std::memory_order_acquire)) throw CollectiveAbandoned();
    }
  }

 private:
  void run_task(TaskId t, int thread) {
    const Task& task = graph_.task(t);
    const bool collective = plan_.collective(t);
    // What the crash handler and a collective body read about the running task, for the
    // length of the body however it ends.
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
    if (!dests.empty()) {
      // Encoded once, into this thread's scratch buffer, then copied into the open
      // batch of each destination: no allocation per value.
      thread_local Bytes scratch;
      scratch.clear();
      bool block = false;
      try {
        Writer w(scratch);
        const BlockCodec* bc = task.codec->block;
        block = bc && bc->bytes(values_[t]).size() >= kBlockBytes;
        if (block)
          bc->header(values_[t], w);
        else
          task.codec->encode(values_[t], w);
      } catch (const std::exception& e) {
        fail(t, std::string("could not serialize its result (") + task.codec->name +
                    ") to send it to rank " + std::to_string(dests[0]) + ": " + e.what());
        return;
      }
      if (block) {
        // The block is sent from the value itself: keep it until every send is done.
        uses_[t].fetch_add(static_cast<std::uint32_t>(dests.size()), std::memory_order_acq_rel);
        held_for_blocks = true;
      }
      std::lock_guard lock(outbox_mutex_);
      for (int dest : dests) outbox_[dest].add(t, block, scratch);
      any_queued_ = true;
    }
    const bool value_still_needed = initial_uses_[t] > 0 || held_for_blocks;
    deliver(t, thread);
    if (!value_still_needed) values_[t].reset();
    tasks_run_.fetch_add(1, std::memory_order_relaxed);
    done_.fetch_add(1, std::memory_order_acq_rel);
  }

  void fail(TaskId t, const std::string& what, bool in_collective = false) {
    fail(graph_.task(t).key.str(), what, in_collective);
  }

  // A failure of this rank; `key` names the task, or is empty when no task is to blame.
  void fail(const std::string& key, const std::string& what, bool in_collective = false) {
    std::lock_guard lock(failure_mutex_);
    if (!own_failure_) {
      own_failure_ = Failure{key, ctx_.rank, what, in_collective};
      if (!failure_ || own_failure_->rank < failure_->rank) failure_ = own_failure_;
      failed_here_.store(true, std::memory_order_release);
    }
    stop_.store(true, std::memory_order_release);
  }

  // SLURM's SIGTERM (time limit, scancel) stops the compute like a failure, so every rank
  // ends with the same message before SIGKILL follows.
  void check_signal() {
    if (ctx_.signal && ctx_.signal->load(std::memory_order_relaxed))
      fail("", "received SIGTERM (the job's time limit, or scancel); stopping");
  }

  bool try_progress() {
    std::unique_lock lock(mpi_mutex_, std::try_to_lock);
    if (!lock.owns_lock()) return false;
    return progress(false);
  }

  // Posts queued sends, retires finished ones, takes in arrived messages. Caller holds
  // the MPI lock (or is the only thread). Returns whether anything happened.
  bool progress(bool single_threaded) {
    std::unique_lock<std::mutex> lock;
    if (single_threaded) lock = std::unique_lock(mpi_mutex_);
    bool did = false;
    check_signal();
    try {
      did |= post_batches();
      did |= retire_sends();
      did |= retire_block_receives();
      while (true) {
        int found = 0;
        MPI_Message msg;
        MPI_Status status;
        check_mpi(MPI_Improbe(MPI_ANY_SOURCE, MPI_ANY_TAG, ctx_.comm, &found, &msg, &status), "MPI_Improbe");
        if (!found) break;
        did = true;
        if (status.MPI_TAG == kErrorTag) {
          record_remote_failure(decode_failure(receive_matched(msg, status, ctx_.comm)), status.MPI_SOURCE);
        } else if (status.MPI_TAG == kBatchTag) {
          take_batch(receive_matched(msg, status, ctx_.comm), status.MPI_SOURCE);
        } else {
          // Blocks are matched by receives posted when their batch arrived, never probed.
          throw MpiError("unexpected message with tag " + std::to_string(status.MPI_TAG) + " from rank " +
                         std::to_string(status.MPI_SOURCE));
        }
      }
      did |= retire_block_receives();
    } catch (const MpiError& e) {
      fail("", e.what());
    }
    if (failed_here_ && !failure_sent_) announce_failure();
    return did;
  }

  // Posts the batches waiting for each destination, as many as its window allows; an
  // open batch goes too when a window has room, so a value never waits for company.
  bool post_batches() {
    std::vector<std::pair<int, Batch>> ready;
    {
      std::lock_guard out_lock(outbox_mutex_);
      if (!any_queued_) return false;
      any_queued_ = false;
      for (int dest = 0; dest < ctx_.nranks; ++dest) {
        Outbox& box = outbox_[dest];
        for (int open = window_[dest]; open < kBatchWindow && !box.empty(); ++open)
          ready.emplace_back(dest, box.take());
        any_queued_ |= !box.empty();
      }
    }
    for (auto& [dest, batch] : ready) {
      auto frame = std::make_shared<Bytes>(std::move(batch.frame));
      const std::uint64_t total = frame->size();
      std::memcpy(frame->data(), &total, 8);
      std::memcpy(frame->data() + 8, &batch.count, 4);
      Outgoing& out = in_flight_.emplace_back();
      out.batch = true;
      post_send(frame, dest, kBatchTag, /*synchronous=*/true, ctx_.comm, out);
      ++window_[dest];
      ++sent_to_[dest];
      stats_.messages_sent++;
      stats_.bytes_sent += frame->size();
      // Blocks follow their batch, so the receiver has posted their receives by the
      // time they are matched: MPI keeps messages between two ranks in order.
      for (TaskId t : batch.blocks) {
        auto block = graph_.task(t).codec->block->bytes(values_[t]);
        Outgoing& data = in_flight_.emplace_back();
        data.dest = dest;
        data.holds.push_back(t);
        post_block_send(block, dest, ctx_.comm, data.requests);
        stats_.bytes_sent += block.size();
      }
    }
    return !ready.empty();
  }

  // Removes the entries of `list` whose requests have all completed, calling `done`
  // on each first (order is not kept). Returns whether any completed.
  template <class T, class Done>
  static bool retire(std::vector<T>& list, Done done) {
    bool did = false;
    for (std::size_t i = 0; i < list.size();) {
      int complete = 1;
      auto& reqs = list[i].requests;
      if (!reqs.empty())
        check_mpi(MPI_Testall(static_cast<int>(reqs.size()), reqs.data(), &complete, MPI_STATUSES_IGNORE),
                  "MPI_Testall");
      if (!complete) {
        ++i;
        continue;
      }
      done(list[i]);
      list[i] = std::move(list.back());
      list.pop_back();
      did = true;
    }
    return did;
  }

  bool retire_sends() {
    return retire(in_flight_, [this](Outgoing& out) {
      if (out.batch) --window_[out.dest];
      for (TaskId t : out.holds) release(t);
    });
  }

  void release(TaskId t) {
    if (uses_[t].fetch_sub(1, std::memory_order_acq_rel) == 1) values_[t].reset();
  }

  // Unpacks a batch: small values are ready at once; a large value's block has a
  // receive posted straight into the value's own storage.
  void take_batch(const Bytes& bytes, int source) {
    ++received_from_[source];
    const std::byte* p = bytes.data() + 8;
    const std::byte* end = bytes.data() + bytes.size();
    auto read = [&](auto& field) {
      if (static_cast<std::size_t>(end - p) < sizeof field)
        throw MpiError("truncated batch from rank " + std::to_string(source));
      std::memcpy(&field, p, sizeof field);
      p += sizeof field;
    };
    std::uint32_t count = 0;
    read(count);
    for (std::uint32_t item_idx = 0; item_idx < count; ++item_idx) {
      std::uint32_t t = 0;
      std::uint8_t block = 0;
      std::uint64_t size = 0;
      read(t);
      read(block);
      read(size);
      if (t >= n_ || size > static_cast<std::size_t>(end - p))
        throw MpiError("malformed batch from rank " + std::to_string(source) + " (task " + std::to_string(t) + ")");
      Reader item(p, size);
      p += size;
      const Codec& codec = *graph_.task(t).codec;
      try {
        if (block) {
          std::span<std::byte> storage;
          Incoming& in = incoming_.emplace_back();
          in.task = t;
          in.value = codec.block->make(item, storage);
          post_block_receive(storage, source, ctx_.comm, in.requests);
        } else if (!stopped()) {  // a failed compute drops late values
          values_[t] = codec.decode(item);
          arrived(t);
        }
      } catch (const MpiError&) {
        throw;
      } catch (const std::exception& e) {
        fail(t, std::string("its value, received from rank ") + std::to_string(source) +
                    ", could not be read: " + e.what());
      }
    }
  }

  bool retire_block_receives() {
    return retire(incoming_, [this](Incoming& in) {
      if (stopped()) return;
      values_[in.task] = std::move(in.value);
      arrived(in.task);
    });
  }

  void arrived(TaskId t) {
    ++receives_;
    stats_.messages_received++;
    deliver(t, omp_in_parallel() ? omp_get_thread_num() : 0);
  }

  void record_remote_failure(Failure f, int source) {
    std::lock_guard lock(failure_mutex_);
    reported_by_.push_back(source);
    if (f.in_collective) spoiled_.store(true, std::memory_order_release);
    // Every rank reports the failure of the lowest failing rank, so all agree.
    if (!failure_ || f.rank < failure_->rank) failure_ = std::move(f);
    stop_.store(true, std::memory_order_release);
  }

  // Tells every other rank, so that none waits for a value that will never come.
  void announce_failure() {
    failure_sent_ = true;
    Failure mine;
    {
      std::lock_guard lock(failure_mutex_);
      mine = *own_failure_;
    }
    auto bytes = std::make_shared<const Bytes>(encode_failure(mine));
    for (int rank = 0; rank < ctx_.nranks; ++rank) {
      if (rank == ctx_.rank) continue;
      Outgoing& out = error_sends_.emplace_back();
      post_send(bytes, rank, kErrorTag, /*synchronous=*/false, ctx_.comm, out);
    }
  }

  bool sends_in_flight() {
    std::lock_guard lock(outbox_mutex_);
    return any_queued_ || !in_flight_.empty();
  }

  static void idle_wait() {
    // Oversubscribed ranks (tests run 4 on 2 cores) must give the core away.
    sched_yield();
  }

  // An idle worker thread. While a collective body runs on this rank, its library
  // (PDSYEVD, LAPACK) may use the rank's other cores through OpenBLAS's threads, and a
  // thread spinning on sched_yield keeps half of such a core: sleep instead. Little is
  // lost, since most work waits for the collective's value.
  void idle_wait_beside_collective() const {
    if (collectives_running_.load(std::memory_order_relaxed) > 0)
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    else
      idle_wait();
  }

  // Every rank learns whether any rank failed, and all throw the same error if so.
  // A rank whose part of a collective body failed has told the others, but those inside
  // a library's own blocking MPI calls (ScaLAPACK, BLACS), rather than collective_wait,
  // cannot hear it and would wait for this rank for ever. When they have not come out
  // after a grace period, this rank ends the job itself: its message, then MPI_Abort.
  void abort_if_others_stuck_in_collective(std::chrono::steady_clock::time_point since) {
    if (!failed_here_ || !own_failure_ || !own_failure_->in_collective) return;
    if (std::chrono::steady_clock::now() - since < kCollectiveGrace) return;
    std::fprintf(stderr,
                 "rask: error: %s (the other ranks are still inside the collective task's library calls, which "
                 "cannot be interrupted: aborting the job)\n",
                 own_failure_->message().c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  static constexpr std::chrono::seconds kCollectiveGrace{10};

  void agree_on_failure() {
    if (failed_here_ && !failure_sent_) announce_failure();
    int failed = failed_here_ ? 1 : 0, failed_total = 0;
    MPI_Request request;
    check_mpi(MPI_Iallreduce(&failed, &failed_total, 1, MPI_INT, MPI_SUM, ctx_.comm, &request), "MPI_Iallreduce");
    const auto since = std::chrono::steady_clock::now();
    for (int complete = 0; !complete;) {
      check_mpi(MPI_Test(&request, &complete, MPI_STATUS_IGNORE), "MPI_Test");
      if (!complete && !progress(true)) idle_wait();
      if (!complete) abort_if_others_stuck_in_collective(since);
    }
    if (failed_total == 0) return;
    // Every failing rank sent each other rank one report; collect the missing ones.
    auto already = [&](int source) {
      return std::find(reported_by_.begin(), reported_by_.end(), source) != reported_by_.end();
    };
    int expected = failed_total - (failed_here_ ? 1 : 0);
    while (static_cast<int>(reported_by_.size()) < expected) {
      MPI_Message msg;
      MPI_Status status;
      check_mpi(MPI_Mprobe(MPI_ANY_SOURCE, kErrorTag, ctx_.comm, &msg, &status), "MPI_Mprobe");
      Bytes bytes = receive_matched(msg, status, ctx_.comm);
      if (!already(status.MPI_SOURCE)) record_remote_failure(decode_failure(bytes), status.MPI_SOURCE);
    }
    // Drain every value still addressed to this rank, so that every send completes and
    // the communicator carries nothing stale into the next compute.
    std::vector<std::uint64_t> expected_from(ctx_.nranks);
    check_mpi(MPI_Alltoall(sent_to_.data(), 1, MPI_UINT64_T, expected_from.data(), 1, MPI_UINT64_T, ctx_.comm),
              "MPI_Alltoall");
    for (int source = 0; source < ctx_.nranks; ++source) {
      while (received_from_[source] < expected_from[source]) {
        MPI_Message msg;
        MPI_Status status;
        check_mpi(MPI_Mprobe(source, kBatchTag, ctx_.comm, &msg, &status), "MPI_Mprobe");
        take_batch(receive_matched(msg, status, ctx_.comm), source);
      }
    }
    {
      std::lock_guard lock(outbox_mutex_);
      for (auto& box : outbox_) box = Outbox{};  // never posted, so never counted
      any_queued_ = false;
    }
    for (auto& in : incoming_)
      check_mpi(MPI_Waitall(static_cast<int>(in.requests.size()), in.requests.data(), MPI_STATUSES_IGNORE),
                "MPI_Waitall");
    for (auto* sends : {&in_flight_, &error_sends_})
      for (auto& out : *sends)
        check_mpi(MPI_Waitall(static_cast<int>(out.requests.size()), out.requests.data(), MPI_STATUSES_IGNORE),
                  "MPI_Waitall");
    const Failure& f = *failure_;
    throw TaskError(f.message(), f.key, f.rank);
  }

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
  std::vector<TaskId> roots_;
  std::atomic<std::size_t> next_root_{0};
  std::vector<ReadyStack> stacks_;
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
  // Values for one destination, framed as they will travel: 8 bytes of total size,
  // a 4-byte count, then per value its task, whether a block follows, and its bytes
  // (the serialized value, or a block's header).
  struct Batch {
    Bytes frame;
    std::uint32_t count = 0;
    std::vector<TaskId> blocks;  // in the order their headers appear
  };
  class Outbox {
   public:
    void add(TaskId t, bool block, const Bytes& bytes) {
      if (open_.frame.size() >= kBatchBytes) close();
      Bytes& f = open_.frame;
      if (f.empty()) f.resize(12);
      const std::size_t at = f.size();
      const std::uint32_t task = t;
      const std::uint8_t is_block = block;
      const std::uint64_t size = bytes.size();
      f.resize(at + 13 + bytes.size());
      std::memcpy(f.data() + at, &task, 4);
      std::memcpy(f.data() + at + 4, &is_block, 1);
      std::memcpy(f.data() + at + 5, &size, 8);
      if (size) std::memcpy(f.data() + at + 13, bytes.data(), size);
      ++open_.count;
      if (block) open_.blocks.push_back(t);
    }
    bool empty() const { return closed_.empty() && open_.count == 0; }
    Batch take() {
      if (closed_.empty()) close();
      Batch b = std::move(closed_.front());
      closed_.pop_front();
      return b;
    }

   private:
    void close() {
      closed_.push_back(std::move(open_));
      open_ = Batch{};
    }
    Batch open_;
    std::deque<Batch> closed_;
  };
  // A block being received into the value it will become.
  struct Incoming {
    TaskId task = 0;
    Value value;
    std::vector<MPI_Request> requests;
  };
  std::mutex outbox_mutex_;
  std::vector<Outbox> outbox_;  // per destination
  bool any_queued_ = false;
  std::vector<int> window_;                  // unmatched batches per destination
  std::vector<Outgoing> in_flight_, error_sends_;
  std::vector<Incoming> incoming_;

  std::atomic<bool> stop_{false};
  std::mutex failure_mutex_;
  std::optional<Failure> failure_, own_failure_;
  std::atomic<bool> failed_here_{false};
  bool failure_sent_ = false;
  std::vector<int> reported_by_;

  std::vector<std::uint64_t> sent_to_, received_from_;  // batches, per rank

  friend std::vector<Value> rask::detail::execute(const Graph&, const Plan&, const ExecContext&, ExecStats&);
};

}  // namespace

const Key* running_task() noexcept { return t_running_task; }

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

namespace rask::detail {

std::vector<Value> execute(const Graph& graph, const Plan& plan, const ExecContext& ctx, ExecStats& stats) {
  Executor executor(graph, plan, ctx, stats);
  struct CountTasks {
    Executor& e;
    ExecStats& s;
    ~CountTasks() { s.tasks_run = e.tasks_run_.load(); }
  } count{executor, stats};
  return executor.run();
}

}  // namespace rask::detail
