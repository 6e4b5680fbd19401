#pragma once
/// Execute: each rank runs its share of a Plan. OpenMP threads take ready local tasks as
/// soon as their inputs exist (work-stealing, no barrier per level); a value another
/// rank needs is serialized and sent with nonblocking MPI as soon as it is made; a rank
/// waits only for the inputs it needs. A task that throws stops every rank: the ranks
/// agree on the failure with one small collective and each throws the same TaskError.
///
/// The executor is driven by Runtime::compute; this header holds what it reports.
#include <cstddef>

namespace rask {

/// What the last compute did on this rank.
struct ExecStats {
  std::size_t tasks_run = 0;        ///< tasks this rank ran
  std::size_t messages_sent = 0;    ///< values this rank sent to others
  std::size_t bytes_sent = 0;       ///< serialized bytes this rank sent
  std::size_t messages_received = 0;
  double plan_seconds = 0;          ///< deriving the plan
  double run_seconds = 0;           ///< running tasks until every rank agreed it was done
};

}  // namespace rask
