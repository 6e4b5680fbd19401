#pragma once
// The memory a rank may use, and the refusal of a compute predicted to need more.
#include <mpi.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rask/plan.hpp"

namespace rask::detail {

/// Collective over `comm`: the bytes this rank may hold and how that was found. The
/// RASK_MEMORY_LIMIT environment variable (bytes per rank; suffix k, M, G or T in powers
/// of 1000) wins; else the smaller of /proc/meminfo's MemAvailable and the cgroup's
/// limit less its usage, divided by the ranks on this node (MPI_COMM_TYPE_SHARED);
/// infinity when neither can be read. Returns -1 when RASK_MEMORY_LIMIT is malformed.
std::pair<double, std::string> memory_per_rank(MPI_Comm comm);

/// Parses a RASK_MEMORY_LIMIT value; nullopt when malformed.
std::optional<double> parse_bytes(const std::string& text);

/// The refusal message when `plan` predicts more bytes on some rank than `memory` (one
/// figure per rank) allows, naming the rank with the largest overrun; else nullopt.
/// Local and deterministic: every rank gets the same answer from the same inputs.
std::optional<std::string> memory_refusal(const Plan& plan, const std::vector<double>& memory,
                                          const std::string& source);

}  // namespace rask::detail
