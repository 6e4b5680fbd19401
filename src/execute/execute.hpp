#pragma once
// The executor behind Runtime::compute (see include/rask/execute.hpp).
#include <mpi.h>

#include <atomic>
#include <vector>

#include "execute/comm.hpp"
#include "rask/execute.hpp"
#include "rask/graph.hpp"
#include "rask/plan.hpp"

namespace rask::detail {

struct ExecContext {
  MPI_Comm comm;         // a communicator private to rask
  int rank;
  int nranks;
  bool any_thread_mpi;   // MPI_THREAD_SERIALIZED or better: any idle thread may progress MPI
  const std::atomic<int>* signal = nullptr;  // set when SIGTERM arrived during the compute
  MPI_Comm coll_comm = MPI_COMM_NULL;        // collective tasks' own communicator (a dup of the world)
};

/// The key of the task this thread is running, or null: read by the crash handler.
const Key* running_task() noexcept;

/// Collective over ctx.comm. Runs this rank's share of `plan` and returns the results
/// where the plan says (else an empty vector). On a task failure anywhere, every rank
/// throws the same TaskError, after every message of this compute has been received,
/// so the communicator is clean for the next one (ctx.coll_comm may not be after a
/// failure in a compute with collective tasks: the caller replaces it then).
std::vector<Value> execute(const Graph& graph, const Plan& plan, const ExecContext& ctx, ExecStats& stats);

}  // namespace rask::detail
