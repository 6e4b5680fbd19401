// `rask run --progress` (see progress.hpp).
#include "job/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <numeric>

#include "execute/comm.hpp"

namespace rask::job {
namespace {

using detail::check_mpi;

constexpr int kTagCount = 1;
constexpr auto kInterval = std::chrono::milliseconds(200);

}  // namespace

bool progress_across_ranks() {
  int level = MPI_THREAD_SINGLE;
  check_mpi(MPI_Query_thread(&level), "MPI_Query_thread");
  return level == MPI_THREAD_MULTIPLE;
}

ProgressScope::ProgressScope(MPI_Comm comm, int rank, int size, const std::atomic<std::size_t>& done, ProgressPlan plan)
    : comm_(comm),
      rank_(rank),
      size_(size),
      across_(size > 1 && progress_across_ranks()),
      done_(done),
      plan_(std::move(plan)),
      terminal_(isatty(STDERR_FILENO)),
      begin_(MPI_Wtime()) {
  if (rank_ == 0) {
    plan_.per_rank.resize(static_cast<std::size_t>(size_), 0);
    total_ =
        across_ ? std::accumulate(plan_.per_rank.begin(), plan_.per_rank.end(), std::size_t{0}) : plan_.per_rank[0];
    counts_.assign(static_cast<std::size_t>(size_), 0);
    finals_.assign(static_cast<std::size_t>(size_), 0);
  }
  // Rank 0 always draws; the others have something to do only when they can report.
  if (rank_ == 0 || across_) thread_ = std::thread([this] { loop(); });
}

ProgressScope::~ProgressScope() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ProgressScope::loop() {
  auto last_line = std::chrono::steady_clock::now();
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, kInterval, [this] { return stop_; })) {
    lock.unlock();
    try {
      if (rank_ != 0) {
        send(done_.load(std::memory_order_relaxed), false);
      } else {
        if (across_) receive(false);
        // On a terminal the line is redrawn in place; in a log, a line every 2 s.
        auto now = std::chrono::steady_clock::now();
        if (terminal_ || now - last_line >= std::chrono::seconds(2)) {
          draw(false);
          last_line = now;
        }
      }
    } catch (const std::exception& e) {
      // An exception must not leave this thread; the compute goes on without the line
      // (finish() meets the same MPI failure on the compute's own thread, and reports it).
      std::fprintf(stderr, "rask: warning: rank %d: --progress stopped: %s\n", rank_, e.what());
      return;
    }
    lock.lock();
  }
}

void ProgressScope::send(std::size_t count, bool final) {
  std::uint64_t message[2] = {count, final ? 1u : 0u};
  // Small: sent eagerly, and rank 0 receives until every rank's final count arrived.
  check_mpi(MPI_Send(message, 2, MPI_UINT64_T, 0, kTagCount, comm_), "MPI_Send");
}

void ProgressScope::receive(bool wait_for_finals) {
  for (;;) {
    int waiting = 0;
    MPI_Status status;
    if (wait_for_finals && std::count(finals_.begin() + 1, finals_.end(), 0) > 0) {
      check_mpi(MPI_Probe(MPI_ANY_SOURCE, kTagCount, comm_, &status), "MPI_Probe");
      waiting = 1;
    } else {
      check_mpi(MPI_Iprobe(MPI_ANY_SOURCE, kTagCount, comm_, &waiting, &status), "MPI_Iprobe");
    }
    if (!waiting) return;
    std::uint64_t message[2] = {0, 0};
    check_mpi(MPI_Recv(message, 2, MPI_UINT64_T, status.MPI_SOURCE, kTagCount, comm_, MPI_STATUS_IGNORE), "MPI_Recv");
    const auto source = static_cast<std::size_t>(status.MPI_SOURCE);
    std::lock_guard lock(mutex_);
    counts_[source] = message[0];
    if (message[1]) finals_[source] = 1;
  }
}

void ProgressScope::finish(std::size_t tasks_run, bool failed) {
  if (finished_) return;
  finished_ = true;
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (rank_ != 0) {
    if (across_) send(tasks_run, true);
    return;
  }
  counts_[0] = tasks_run;
  if (across_) receive(true);
  draw(true, failed);
}

void ProgressScope::draw(bool final, bool failed) {
  std::size_t done = 0;
  {
    std::lock_guard lock(mutex_);
    if (!final) counts_[0] = done_.load(std::memory_order_relaxed);
    done = across_ ? std::accumulate(counts_.begin(), counts_.end(), std::size_t{0}) : counts_[0];
  }
  const std::size_t total = std::max<std::size_t>(total_, 1);
  done = std::min(done, total);
  const double elapsed = MPI_Wtime() - begin_;
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
  const double left = rate > 0 ? static_cast<double>(total - done) / rate : plan_.predicted_seconds;
  char bar[21];
  const int filled = static_cast<int>(static_cast<double>(done) / static_cast<double>(total) * 20);
  for (int cell = 0; cell < 20; ++cell) bar[cell] = cell < filled ? '#' : '.';
  bar[20] = '\0';
  char scope[96];
  if (across_ || size_ == 1)
    std::snprintf(scope, sizeof scope, "tasks on %d rank%s", size_, size_ == 1 ? "" : "s");
  else
    std::snprintf(scope, sizeof scope, "of rank 0's tasks (other ranks' counts need MPI_THREAD_MULTIPLE)");
  std::fprintf(stderr, "%scompute %zu [%s] %zu/%zu %s, %.0f tasks/s, %s%.1f s%s%s", terminal_ ? "\r" : "",
               plan_.compute_no, bar, done, total, scope, rate,
               !final   ? "~"
               : failed ? "failed after "
                        : "took ",
               final ? elapsed : left, final ? "" : " left", terminal_ && !final ? "" : "\n");
  std::fflush(stderr);
}

}  // namespace rask::job
