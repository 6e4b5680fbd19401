#pragma once
// `rask run --progress`: a progress line on rank 0 counting the tasks done on every rank.
//
// Each rank runs one ProgressScope per compute. The ranks other than 0 send their count
// of tasks done to rank 0 every 0.2 s, and their exact count when the compute ends, on a
// communicator of the progress's own; rank 0 draws its own count plus the latest of each
// other rank, with the rate and the time left. The counts move from a thread of the
// scope's while the executor's threads use MPI too, so the ranks report only when MPI
// allows any thread to call it (MPI_THREAD_MULTIPLE, which `rask run --progress` asks
// for); otherwise rank 0 counts its own tasks alone and says so.
#include <mpi.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

namespace rask::job {

/// Whether the ranks can report to rank 0 (MPI_THREAD_MULTIPLE). Local.
bool progress_across_ranks();

/// What rank 0 knows of a compute when it starts.
struct ProgressPlan {
  std::size_t compute_no = 0;         ///< 1 for the job's first compute
  std::vector<std::size_t> per_rank;  ///< tasks each rank runs, by the plan
  double predicted_seconds = 0;       ///< the plan's simulated wall time
};

/// One compute's progress on this rank. Collective in effect: every rank creates one
/// for the same compute (rank 0 with the plan, the others without), and each calls
/// finish() once its compute returned, with the tasks it ran.
class ProgressScope {
 public:
  /// `done` counts this rank's tasks as they finish; `comm` is private to progress.
  ProgressScope(MPI_Comm comm, int rank, int size, const std::atomic<std::size_t>& done, ProgressPlan plan);
  ~ProgressScope();
  ProgressScope(const ProgressScope&) = delete;
  ProgressScope& operator=(const ProgressScope&) = delete;

  /// The compute ended (`failed`: with an error): `tasks_run` is this rank's exact count.
  /// Rank 0 waits for every rank's final count and draws the last line; the others send
  /// theirs.
  void finish(std::size_t tasks_run, bool failed);

 private:
  void loop();
  void receive(bool wait_for_finals);
  void draw(bool final, bool failed = false);
  void send(std::size_t count, bool final);

  MPI_Comm comm_;
  int rank_, size_;
  bool across_;
  const std::atomic<std::size_t>& done_;
  ProgressPlan plan_;
  std::size_t total_ = 0;
  std::vector<std::size_t> counts_;  // rank 0: the latest count of each rank
  std::vector<char> finals_;         // rank 0: which ranks sent their final count
  bool terminal_;
  double begin_;
  bool finished_ = false;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace rask::job
