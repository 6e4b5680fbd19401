#pragma once
// Placement of the calls a program only wants back: outputs that read no task and that
// no task reads (a job script's cartesian products, a loop of futures). They have no
// locality to keep, so they are spread over the ranks function by function, rather than
// split into contiguous runs of the post-order as the Plan splits root tasks, which for
// calls whose costs it cannot know yet (a job's first run) may put every call of a fast
// function on one rank and every call of a slow one on another.
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "rask/graph.hpp"

namespace rask {

/// A task of a graph about to be built, as spread_output_calls reads it.
struct CallShape {
  std::string_view function;     ///< groups calls by function; empty: not a call, never spread
  std::span<const TaskId> deps;  ///< positions of the tasks it reads
};

/// Local and deterministic (every rank derives the same pins from the same tasks): a
/// rank per task (TaskOptions::owner) for the calls among `tasks` that `outputs` names,
/// that read nothing and that nothing reads, or -1 where the plan chooses. Heaviest
/// function first (`seconds(function)`: seconds per call), each call to the least loaded
/// rank; calls under a millisecond stay with the plan, and so does everything when there
/// are fewer than two such calls per rank or one rank.
std::vector<int> spread_output_calls(std::span<const CallShape> tasks, std::span<const TaskId> outputs, int nranks,
                                     const std::function<double(std::string_view)>& seconds);

}  // namespace rask
