// compute and persist: an expression lowered to one graph and run.
#include <algorithm>

#include "array/lower.hpp"
#include "rask/array.hpp"
#include "rask/runtime.hpp"
#include "rask/token.hpp"

namespace rask {
namespace detail {

std::vector<ArrayNodePtr> persist_nodes(const std::vector<ArrayNodePtr>& arrays) {
  Runtime& rt = Runtime::current();
  Graph graph;
  Lowering lowering(graph, rt.size(), scan_svd_wants(arrays));
  std::vector<std::vector<TaskId>> stored_on(rt.size());
  std::vector<std::uint64_t> ids;
  for (const auto& n : arrays) {
    // The same on every rank: ranks persist the same arrays in the same order.
    const std::uint64_t id = token_combine(token_sequence(), n->token) >> 1;
    ids.push_back(id);
    for (std::int64_t bi = 0; bi < n->row_blocks(); ++bi) {
      for (std::int64_t bj = 0; bj < n->col_blocks(); ++bj) {
        const TaskId chunk = lowering.chunk(n, bi, bj);
        const int owner = lowering.owner(*n, bi, bj);
        stored_on[owner].push_back(lowering.add_as<std::int64_t>(
            "persist-store", token_combine(token_combine(id, bi), bj), {chunk},
            [id, bi, bj](const Inputs& in) -> std::int64_t {
              store_put(id, bi, bj, std::make_shared<const Block>(in.get<Block>(0)));
              return 1;
            },
            owner, 1e-4, 8));
      }
    }
  }
  // One count per rank, then one total: a handful of tiny messages, whatever the chunks.
  std::vector<TaskId> acks;
  const Token base = token_combine(token_sequence(), 0x9e75);
  for (int rank = 0; rank < rt.size(); ++rank) {
    if (stored_on[rank].empty()) continue;
    acks.push_back(lowering.add_as<std::int64_t>(
        "persist-rank", token_combine(base, rank), stored_on[rank],
        [](const Inputs& in) {
          std::int64_t total = 0;
          for (std::size_t k = 0; k < in.size(); ++k) total += in.get<std::int64_t>(k);
          return total;
        },
        rank, 1e-6, 8));
  }
  const TaskId done = lowering.add_as<std::int64_t>(
      "persist", token_combine(base, 0xd0e), acks,
      [](const Inputs& in) {
        std::int64_t total = 0;
        for (std::size_t k = 0; k < in.size(); ++k) total += in.get<std::int64_t>(k);
        return total;
      },
      0, 1e-6, 8);
  rt.compute(graph, std::span<const TaskId>(&done, 1), Where::root);
  std::vector<ArrayNodePtr> out;
  for (std::size_t k = 0; k < arrays.size(); ++k) {
    const ArrayNode& src = *arrays[k];
    auto n = std::make_shared<ArrayNode>();
    n->params = ops::Persisted{ids[k], new_persist_handle(ids[k])};
    n->dtype = src.dtype;
    n->ndim = src.ndim;
    n->rows = src.rows;
    n->cols = src.cols;
    n->row_chunks = src.row_chunks;
    n->col_chunks = src.col_chunks;
    out.push_back(finish(n));
  }
  return out;
}

}  // namespace detail

using detail::ArrayNode;
using detail::Block;

std::vector<ArrayValue> compute(const std::vector<Array>& arrays, Where where) {
  Runtime& rt = Runtime::current();
  std::vector<detail::ArrayNodePtr> nodes;
  for (const auto& a : arrays) nodes.push_back(a.node());
  Graph graph;
  detail::Lowering lowering(graph, rt.size(), detail::scan_svd_wants(nodes));
  std::vector<TaskId> outputs;
  std::vector<std::size_t> first;
  for (const auto& a : arrays) {
    first.push_back(outputs.size());
    auto ids = lowering.chunks(a.node());
    outputs.insert(outputs.end(), ids.begin(), ids.end());
  }
  std::vector<Value> values = rt.compute(graph, outputs, where);
  std::vector<ArrayValue> out;
  for (std::size_t k = 0; k < arrays.size(); ++k) {
    const ArrayNode& n = *arrays[k].node();
    ArrayValue v;
    v.shape = arrays[k].shape();
    v.dtype = n.dtype;
    if (!values.empty()) {
      v.values.resize(n.rows * n.cols);
      const auto row_offs = detail::offsets(n.row_chunks), col_offs = detail::offsets(n.col_chunks);
      std::size_t idx = first[k];
      for (std::int64_t bi = 0; bi < n.row_blocks(); ++bi) {
        for (std::int64_t bj = 0; bj < n.col_blocks(); ++bj) {
          const Block& b = values[idx++].get<Block>();
          const std::int64_t cols = n.col_chunks[bj];
          for (std::int64_t r = 0; r < n.row_chunks[bi]; ++r)
            std::copy_n(b.data.data() + r * cols, cols, v.values.data() + (row_offs[bi] + r) * n.cols + col_offs[bj]);
        }
      }
    }
    out.push_back(std::move(v));
  }
  return out;
}

void Array::visualize(const std::string& path) const {
  Runtime& rt = Runtime::current();
  Graph graph;
  detail::Lowering lowering(graph, rt.size());
  std::vector<TaskId> outputs = lowering.chunks(node_);
  Plan plan = rt.plan(graph, outputs);
  if (rt.rank() == 0) rask::visualize(graph, plan, path);
}

ArrayValue Array::compute(Where where) const { return rask::compute({*this}, where)[0]; }

Array Array::persist() const { return Array(detail::persist_nodes({node_})[0]); }

}  // namespace rask
