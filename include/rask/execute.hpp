#pragma once
/// Execute: each rank runs its share of a Plan. OpenMP threads take ready local tasks as
/// soon as their inputs exist (work-stealing, no barrier per level); a value another
/// rank needs is serialized and sent with nonblocking MPI as soon as it is made; a rank
/// waits only for the inputs it needs. A task that throws stops every rank: the ranks
/// agree on the failure with one small collective and each throws the same TaskError.
///
/// A collective task (TaskOptions::collective) is run by every rank together: each rank
/// enters it once its own inputs and everything other ranks need from it for the task
/// are done, in plan order (the same on every rank), one collective at a time, while
/// its other threads keep running ordinary tasks. docs/design.md says why this cannot
/// deadlock and what happens when a rank fails before or inside one.
///
/// The executor is driven by Runtime::compute; this header holds what it reports and
/// what a collective task's body may call.
#include <mpi.h>

#include <cstddef>

namespace rask {

/// What the last compute did on this rank.
struct ExecStats {
  std::size_t tasks_run = 0;        ///< tasks this rank ran
  std::size_t messages_sent = 0;    ///< values this rank sent to others
  std::size_t bytes_sent = 0;       ///< serialized bytes this rank sent
  std::size_t messages_received = 0;
  std::size_t collectives_run = 0;  ///< collective tasks this rank took part in
  double plan_seconds = 0;          ///< deriving the plan
  double run_seconds = 0;           ///< running tasks until every rank agreed it was done
};

/// The communicator of the collective task the calling thread runs: every rank of the
/// job in rank order, private to collective tasks (ordinary values never travel on it).
/// Local: throws rask::Error when the calling thread is not running a collective task.
MPI_Comm collective_comm();

/// Inside a collective task: waits for `request` (a nonblocking call on
/// collective_comm()) as MPI_Wait does, but keeps rask's messages moving meanwhile, and
/// throws when another rank failed inside its part of this collective task, so that
/// this rank leaves instead of waiting forever (the compute then ends on every rank with
/// that rank's error). The request is then left pending (MPI cannot cancel a
/// collective): its buffers must not be freed memory MPI could still write to, so keep
/// them off the body's stack when this matters. A body that blocks in MPI (ScaLAPACK)
/// cannot be woken so: it must fail on every rank alike. Local: throws rask::Error
/// outside a collective task.
void collective_wait(MPI_Request& request);

}  // namespace rask
