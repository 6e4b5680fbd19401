// Lowering: a frame expression becomes, on every rank alike,
//
//   block 0   block 1   ...   block n-1     parse the wanted columns, filter, reduce
//   (pinned to ranks by a byte-balanced split of all files)       (block.cpp)
//       \       |       /
//        merge (fan-in 8)   ...              fixed tree over block indices
//              |
//            final                            finish aggregations, align, check quotes
//                                             (align.cpp)
//
// Only the partial tables (a few keys each) cross ranks for an aggregation; a row
// output (a frame or a column) travels whole to rank 0. Types are checked here, before
// any task exists (check.cpp), so a bad expression fails on every rank at once.
#include "frame/lower.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <iostream>
#include <map>

#include "frame/align.hpp"
#include "frame/block.hpp"
#include "frame/check.hpp"
#include "rask/graph.hpp"
#include "rask/runtime.hpp"

namespace rask::detail {

namespace {

// Source columns a row node needs.
void collect_columns(const FrameNode& n, const CsvSource& src, std::vector<int>& wanted) {
  auto add = [&](const std::string& name) {
    const int col = src.column(name);
    if (col >= 0 && std::find(wanted.begin(), wanted.end(), col) == wanted.end()) wanted.push_back(col);
  };
  if (n.is<GetColumn>()) add(n.as<GetColumn>().column);
  if (n.is<GroupAgg>() && !n.as<GroupAgg>().column.empty()) add(n.as<GroupAgg>().column);
  for (const auto& a : n.args) collect_columns(*a, src, wanted);
}

std::string hex(Token t) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, t);
  return buf;
}

}  // namespace

TaskId lower_table(Graph& graph, const FramePtr& root, int nranks, std::size_t max_blocks, bool* all_blocks,
                   bool block_index, std::vector<TaskId>* partitions) {
  // One plan per read_csv source the expression reads.
  std::vector<SourcePlan> plans;
  std::map<Token, std::size_t> plan_of;
  auto plan_for = [&](const FrameNode& any) -> SourcePlan& {
    const FrameNode& source = source_of(any);
    auto it = plan_of.find(source.token);
    if (it != plan_of.end()) return plans[it->second];
    SourcePlan p;
    p.src = std::make_shared<const CsvSource>(resolve_source(source));
    p.blocks = split_blocks(*p.src);
    if (all_blocks) *all_blocks = p.blocks.size() <= max_blocks;
    if (p.blocks.size() > max_blocks) p.blocks.resize(max_blocks);
    plan_of.emplace(source.token, plans.size());
    plans.push_back(std::move(p));
    return plans.back();
  };

  std::map<Token, AggSpec> spec_of;
  if (root->level == Level::agg) {
    std::vector<FramePtr> aggs;
    collect_aggs(root, aggs);
    for (const auto& leaf : aggs) {
      SourcePlan& p = plan_for(*leaf->args[0]);
      const AggSpec spec = agg_spec(*leaf, *p.src);
      p.aggs.push_back(leaf);
      p.specs.push_back(spec);
      spec_of.emplace(leaf->token, spec);
      collect_columns(*leaf, *p.src, p.wanted);
    }
    check_alignment(*root, spec_of);
  } else {
    SourcePlan& p = plan_for(*root);
    p.rows_output = root;
    p.block_index = block_index;
    if (root->level == Level::frame) {
      p.output_names = frame_columns(*root, *p.src);
      for (const auto& name : p.output_names) p.wanted.push_back(p.src->column(name));
    } else {
      row_dtype(*root, *p.src);
    }
    collect_columns(*root, *p.src, p.wanted);
  }
  // Masks of filters along every frame chain need their columns too.
  for (auto& p : plans) {
    for (const auto& a : p.aggs) {
      frame_columns(*a->args[0], *p.src);
      collect_columns(*a->args[0], *p.src, p.wanted);
    }
    if (p.rows_output) collect_columns(*p.rows_output, *p.src, p.wanted);
    std::sort(p.wanted.begin(), p.wanted.end());
  }

  // The graph: blocks pinned by a byte-balanced split, a fan-in-8 merge tree, one final task.
  // Keys carry the root's token too: two outputs over one source in one graph (a job's
  // dask.compute(a, b)) parse different columns, so their blocks are different tasks.
  std::vector<std::string> roots;
  for (auto& plan : plans) {
    auto shared = std::make_shared<const SourcePlan>(plan);
    std::int64_t total = 0;
    for (const auto& b : plan.blocks) total += b.end - b.begin;
    const std::string stem = "read_csv-" +
                             hex(source_of(plan.aggs.empty() ? *plan.rows_output : *plan.aggs[0]).token) + "-" +
                             hex(root->token);
    std::vector<std::string> level;
    std::int64_t before = 0;
    for (std::size_t block_idx = 0; block_idx < plan.blocks.size(); ++block_idx) {
      const CsvBlock block = plan.blocks[block_idx];
      const std::int64_t bytes = block.end - block.begin;
      const double middle = static_cast<double>(before) + static_cast<double>(bytes) / 2;
      before += bytes;
      const int owner = std::min(nranks - 1, static_cast<int>(middle * nranks / std::max<double>(1, total)));
      const std::string key = stem + "-b" + std::to_string(block_idx);
      graph.add<BlockResult>(
          key, {}, [shared, block, block_idx](const Inputs&) { return run_block(*shared, block, block_idx); },
          TaskOptions{.cost = static_cast<double>(bytes) / 4e8,
                      .bytes = plan.rows_output ? static_cast<double>(bytes) : 1024.0,
                      .owner = owner});
      level.push_back(key);
      if (partitions && plan.rows_output) {
        // One block's rows as a Table of their own, on the block's rank (map_partitions).
        const bool own_index = plan.block_index;
        partitions->push_back(graph.add<Table>(
            key + "-partition", {key},
            [own_index](const Inputs& in) {
              const BlockResult& r = in.get<BlockResult>(0);
              Table t;
              t.columns = r.rows;
              t.bad_lines = r.bad;
              if (own_index) {
                t.index = std::move(t.columns.back());
                t.columns.pop_back();
              } else {
                t.index.dtype = DType::int64;
                for (std::size_t row = 0; row < (t.columns.empty() ? 0 : t.columns[0].size()); ++row)
                  t.index.i64.push_back(static_cast<std::int64_t>(row));
              }
              return t;
            },
            TaskOptions{.cost = 1e-5, .bytes = static_cast<double>(bytes), .owner = owner}));
      }
    }
    for (int depth = 0; level.size() > 1; ++depth) {
      std::vector<std::string> next;
      for (std::size_t first = 0; first < level.size(); first += 8) {
        std::vector<std::string> deps(level.begin() + static_cast<std::ptrdiff_t>(first),
                                      level.begin() + static_cast<std::ptrdiff_t>(std::min(level.size(), first + 8)));
        const std::string key = stem + "-merge" + std::to_string(depth) + "-" + std::to_string(next.size());
        graph.add<BlockResult>(
            key, deps, [shared](const Inputs& in) { return merge_results(*shared, in); },
            TaskOptions{.cost = 1e-5, .bytes = plan.rows_output ? -1.0 : 1024.0});
        next.push_back(key);
      }
      level = std::move(next);
    }
    plan.root_key = level.at(0);
    roots.push_back(plan.root_key);
  }

  auto shared_plans = std::make_shared<const std::vector<SourcePlan>>(plans);
  return graph.add<Table>(
      "frame-" + hex(root->token), roots,
      [shared_plans, root, spec_of](const Inputs& in) { return finish_table(*shared_plans, root, spec_of, in); },
      TaskOptions{.cost = 1e-4});
}

void warn_bad_lines(const FramePtr& root, const Table& table) {
  if (!table.bad_lines.count) return;
  std::vector<const FrameNode*> stack{root.get()};
  bool warn = false;
  while (!stack.empty() && !warn) {
    const FrameNode* n = stack.back();
    stack.pop_back();
    warn = n->is<ReadCsv>() && n->as<ReadCsv>().options.on_bad_lines == "warn";
    for (const auto& a : n->args) stack.push_back(a.get());
  }
  if (!warn) return;
  std::string msg = "rask: warning: read_csv skipped " + std::to_string(table.bad_lines.count) + " bad line" +
                    (table.bad_lines.count == 1 ? "" : "s") + " (on_bad_lines=\"warn\"):\n";
  for (const auto& w : table.bad_lines.where) msg += "  " + w + "\n";
  if (table.bad_lines.count > table.bad_lines.where.size())
    msg += "  ... and " + std::to_string(table.bad_lines.count - table.bad_lines.where.size()) + " more\n";
  std::cerr << msg << std::flush;
}

std::optional<Table> compute_table(const FramePtr& root, Where where, std::size_t max_blocks, bool* all_blocks) {
  Runtime& rt = Runtime::current();
  Graph graph;
  const TaskId final_id = lower_table(graph, root, rt.size(), max_blocks, all_blocks);
  graph.finalize();
  std::vector<Value> values = rt.compute(graph, std::span<const TaskId>(&final_id, 1), where);
  if (values.empty()) return std::nullopt;
  Table table = values[0].take<Table>();
  if (rt.rank() == 0) warn_bad_lines(root, table);
  return table;
}

}  // namespace rask::detail
