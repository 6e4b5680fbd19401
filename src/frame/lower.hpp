#pragma once
// Lowering a frame expression into the core's graph and running it.
#include <cstdint>
#include <optional>

#include "frame/expr.hpp"
#include "rask/graph.hpp"

namespace rask::detail {

struct CsvSource;

/// Local: adds to `graph` the tasks that compute `root` (a frame, a row series or a
/// groupby result) over `nranks` ranks: block tasks pinned by bytes, a fixed merge tree
/// and one final task, whose id is returned and whose value is the Table. Reads the
/// files' headers (every rank alike; InputError for a bad expression or input). Keys
/// derive from the expression, so a job's graph may hold several outputs.
/// `max_blocks` limits a row output to the first blocks (head); `all_blocks`, when given,
/// tells whether the limit left any out. `block_index`: a row output's index is each
/// row's place in its block (Dask's per-partition index) instead of 0..n-1 overall.
/// `partitions`, when given and `root` is a frame or row series, receives one task per
/// block, on the block's rank, whose value is that block's rows as a Table (Dask's
/// partitions, for map_partitions); the final task is then only needed by whoever uses it.
TaskId lower_table(Graph& graph, const FramePtr& root, int nranks, std::size_t max_blocks = SIZE_MAX,
                   bool* all_blocks = nullptr, bool block_index = false, std::vector<TaskId>* partitions = nullptr);

/// Local: prints read_csv's on_bad_lines="warn" message for `table` to stderr, if any
/// source of `root` asked for it and lines were skipped.
void warn_bad_lines(const FramePtr& root, const Table& table);

/// Collective: lowers `root` (a frame, a row series or a groupby result) on every rank
/// into block tasks pinned by bytes, a fixed merge tree and one final task, runs them,
/// and returns the table on rank 0 (every rank with Where::all).
/// `max_blocks` limits a row output to the first blocks (head); `all_blocks`, when given,
/// tells whether the limit left any out.
std::optional<Table> compute_table(const FramePtr& root, Where where, std::size_t max_blocks = SIZE_MAX,
                                   bool* all_blocks = nullptr);

}  // namespace rask::detail
