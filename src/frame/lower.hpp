#pragma once
// Lowering a frame expression into the core's graph and running it.
#include <cstdint>
#include <optional>

#include "frame/expr.hpp"

namespace rask::detail {

/// Collective: lowers `root` (a frame, a row series or a groupby result) on every rank
/// into block tasks pinned by bytes, a fixed merge tree and one final task, runs them,
/// and returns the table on rank 0 (every rank with Where::all).
/// `max_blocks` limits a row output to the first blocks (head); `all_blocks`, when given,
/// tells whether the limit left any out.
std::optional<Table> compute_table(const FramePtr& root, Where where, std::size_t max_blocks = SIZE_MAX,
                                   bool* all_blocks = nullptr);

}  // namespace rask::detail
