#pragma once
// The SPMD contract, checked: before each compute, barrier and exit, the ranks agree
// that they are at the same step and (for a compute) hold the same graph.
#include <mpi.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "rask/graph.hpp"
#include "rask/plan.hpp"

namespace rask::detail {

/// What a rank is about to do.
enum class Step : std::uint64_t { compute = 1, barrier = 2, leave = 3, broadcast = 4 };

/// A compute's graph, hashed task by task (insertion order) so that a difference can
/// be found by bisection, and as a whole with its outputs and planning inputs.
struct Fingerprint {
  std::vector<std::uint64_t> prefix;  // prefix[i]: tasks [0, i)
  std::uint64_t whole = 0;
};
Fingerprint fingerprint(const Graph& graph, std::span<const TaskId> outputs, Where where, const CostModel& model,
                        int threads, const std::string& graph_error);

/// Collective over `comm`. Returns nothing when every rank is at `step` with the same
/// fingerprint; otherwise the same message on every rank, naming the ranks on each side
/// and, for different graphs, the first task that differs. `compute_no` counts this
/// rank's computes (for the message); `graph`/`fp` are null unless step is compute.
std::optional<std::string> agree(MPI_Comm comm, Step step, unsigned long compute_no, const Graph* graph,
                                 const Fingerprint* fp);

}  // namespace rask::detail
