#pragma once
// One block task: what the lowering decided for one read_csv source (SourcePlan), a
// block's parse and evaluation into partial tables or rows (run_block), and the merge
// of neighbouring blocks' results in block order (merge_results).
#include <memory>
#include <string>
#include <vector>

#include "frame/csv.hpp"
#include "frame/groupby.hpp"
#include "rask/graph.hpp"

namespace rask::detail {

/// One read_csv source of an expression: its files and blocks, the columns to parse,
/// and what each block computes (aggregation leaves, or the rows of one output).
struct SourcePlan {
  std::shared_ptr<const CsvSource> src;
  std::vector<CsvBlock> blocks;
  std::vector<int> wanted;                // schema columns to parse, sorted
  std::vector<FramePtr> aggs;             // aggregation leaves over this source
  std::vector<AggSpec> specs;             // one per leaf
  FramePtr rows_output;                   // a frame or row series, or null
  std::vector<std::string> output_names;  // its columns
  std::string root_key;                   // the merge tree's root task
  bool block_index = false;               // index rows by their place in their block
};

/// What a block task returns, and a merge task too (a subtree of blocks, in order).
struct BlockResult {
  std::vector<Partial> partials;     // one per aggregation of this source
  std::vector<Column> rows;          // a row output's columns (empty otherwise)
  std::vector<std::int64_t> bounds;  // start and end of each block, in block order
  BadLines bad;
};

/// Local: parses block `block_index` of `plan` and computes its partials or rows.
BlockResult run_block(const SourcePlan& plan, const CsvBlock& block, std::size_t block_index);

/// Local: the results of consecutive blocks (or subtrees), in block order, as one.
BlockResult merge_results(const SourcePlan& plan, const Inputs& in);

}  // namespace rask::detail

template <>
struct rask::Serializer<rask::detail::BlockResult> {
  static void write(Writer& w, const detail::BlockResult& r) {
    w.write(r.partials);
    w.write(r.rows);
    w.write(r.bounds);
    w.write(r.bad);
  }
  static detail::BlockResult read(Reader& r) {
    detail::BlockResult b;
    b.partials = r.read<std::vector<detail::Partial>>();
    b.rows = r.read<std::vector<Column>>();
    b.bounds = r.read<std::vector<std::int64_t>>();
    b.bad = r.read<BadLines>();
    return b;
  }
};
