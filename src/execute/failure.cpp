// Failure agreement: a task that throws stops its rank, the rank tells every other one,
// and at the end of the compute all ranks agree, with one small collective, on the
// failure of the lowest failing rank, which each then throws as the same TaskError.
#include "execute/failure.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "execute/executor.hpp"
#include "rask/error.hpp"

namespace rask::detail {

std::string Failure::message() const {
  if (key.empty()) return "rank " + std::to_string(rank) + " stopped: " + what;
  return "task '" + key + "' failed on rank " + std::to_string(rank) + ": " + what;
}

Bytes encode_failure(const Failure& f) {
  Bytes fields;
  Writer w(fields);
  w.write(f.key);
  w.write(f.rank);
  w.write(f.what);
  w.write(static_cast<int>(f.in_collective));
  // The fields follow the frame's total size. Written apart from it: GCC 12 misreads an
  // append to a vector made with 8 bytes as out of bounds (-Warray-bounds).
  Bytes bytes(8 + fields.size());
  const std::uint64_t total = bytes.size();
  std::memcpy(bytes.data(), &total, 8);
  std::memcpy(bytes.data() + 8, fields.data(), fields.size());
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

void Executor::fail(TaskId t, const std::string& what, bool in_collective) {
  fail(graph_.task(t).key.str(), what, in_collective);
}

// A failure of this rank; `key` names the task, or is empty when no task is to blame.
void Executor::fail(const std::string& key, const std::string& what, bool in_collective) {
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
void Executor::check_signal() {
  if (ctx_.signal && ctx_.signal->load(std::memory_order_relaxed))
    fail("", "received SIGTERM (the job's time limit, or scancel); stopping");
}

void Executor::record_remote_failure(Failure f, int source) {
  std::lock_guard lock(failure_mutex_);
  reported_by_.push_back(source);
  if (f.in_collective) spoiled_.store(true, std::memory_order_release);
  // Every rank reports the failure of the lowest failing rank, so all agree.
  if (!failure_ || f.rank < failure_->rank) failure_ = std::move(f);
  stop_.store(true, std::memory_order_release);
}

// Tells every other rank, so that none waits for a value that will never come.
void Executor::announce_failure() {
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

namespace {
constexpr std::chrono::seconds kCollectiveGrace{10};
}

// A rank whose part of a collective body failed has told the others, but those inside
// a library's own blocking MPI calls (ScaLAPACK, BLACS), rather than collective_wait,
// cannot hear it and would wait for this rank for ever. When they have not come out
// after a grace period, this rank ends the job itself: its message, then MPI_Abort.
void Executor::abort_if_others_stuck_in_collective(std::chrono::steady_clock::time_point since) {
  if (!failed_here_ || !own_failure_ || !own_failure_->in_collective) return;
  if (std::chrono::steady_clock::now() - since < kCollectiveGrace) return;
  std::fprintf(stderr,
               "rask: error: %s (the other ranks are still inside the collective task's library calls, which "
               "cannot be interrupted: aborting the job)\n",
               own_failure_->message().c_str());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
}

// Every rank learns whether any rank failed, and all throw the same error if so.
void Executor::agree_on_failure() {
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
  drain_messages();
  for (auto& out : error_sends_)
    check_mpi(MPI_Waitall(static_cast<int>(out.requests.size()), out.requests.data(), MPI_STATUSES_IGNORE),
              "MPI_Waitall");
  const Failure& f = *failure_;
  throw TaskError(f.message(), f.key, f.rank);
}

}  // namespace rask::detail
