// compute, persist and the expression's wire form.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include "array/lower.hpp"
#include "rask/array.hpp"
#include "rask/runtime.hpp"
#include "rask/token.hpp"

namespace rask {
namespace detail {

std::shared_ptr<PersistHandle> new_persist_handle(std::uint64_t id);

std::vector<ArrayNodePtr> persist_nodes(const std::vector<ArrayNodePtr>& arrays) {
  Runtime& rt = Runtime::current();
  auto prepared = prepare(arrays);
  Graph graph;
  Lowering lowering(graph, rt.size(), prepared);
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
    n->op = Op::persisted;
    n->dtype = src.dtype;
    n->ndim = src.ndim;
    n->rows = src.rows;
    n->cols = src.cols;
    n->row_chunks = src.row_chunks;
    n->col_chunks = src.col_chunks;
    n->ints[0] = static_cast<std::int64_t>(ids[k]);
    n->persisted = new_persist_handle(ids[k]);
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
  auto prepared = detail::prepare(nodes);
  Graph graph;
  detail::Lowering lowering(graph, rt.size(), prepared);
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

// The wire form: the expression's distinct nodes, operands first, each naming its
// operands by position; chunk sizes run-length encoded, so a million regular chunks
// take a few bytes.
namespace {
constexpr std::uint64_t kMagic = 0x3152524141534b52ull;  // "RKSAARR1"

// Integers as LEB128 varints (zigzag for signed): most fields are small or zero.
void write_varint(Writer& w, std::uint64_t v) {
  while (v >= 0x80) {
    w.write(static_cast<std::uint8_t>(v | 0x80));
    v >>= 7;
  }
  w.write(static_cast<std::uint8_t>(v));
}
void write_signed(Writer& w, std::int64_t v) {
  write_varint(w, (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
}
std::uint64_t read_varint(Reader& r) {
  std::uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    const auto byte = r.read<std::uint8_t>();
    v |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if (!(byte & 0x80)) return v;
  }
  throw SerializeError("array expression: bad integer");
}
std::int64_t read_signed(Reader& r) {
  const std::uint64_t v = read_varint(r);
  return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}

void write_chunks(Writer& w, const std::vector<std::int64_t>& chunks) {
  std::vector<std::pair<std::int64_t, std::int64_t>> runs;
  for (auto c : chunks) {
    if (!runs.empty() && runs.back().first == c) {
      ++runs.back().second;
    } else {
      runs.emplace_back(c, 1);
    }
  }
  write_varint(w, runs.size());
  for (auto [size, count] : runs) {
    write_varint(w, static_cast<std::uint64_t>(size));
    write_varint(w, static_cast<std::uint64_t>(count));
  }
}

std::vector<std::int64_t> read_chunks(Reader& r) {
  const auto runs = read_varint(r);
  std::vector<std::int64_t> out;
  for (std::uint64_t run = 0; run < runs; ++run) {
    const auto size = read_varint(r);
    const auto count = read_varint(r);
    if (count > (std::uint64_t(1) << 32) || size > (std::uint64_t(1) << 62) ||
        out.size() + count > (std::uint64_t(1) << 32))
      throw SerializeError("array expression: bad chunk run");
    out.insert(out.end(), static_cast<std::size_t>(count), static_cast<std::int64_t>(size));
  }
  return out;
}
}  // namespace

// GCC 12 misreads vector::insert into a freshly grown buffer (a known false positive).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#pragma GCC diagnostic ignored "-Warray-bounds"
Bytes Array::serialize() const {
  std::vector<const ArrayNode*> order;
  std::unordered_map<const ArrayNode*, std::uint32_t> index;
  // Post-order without recursion limits: an explicit stack.
  std::vector<std::pair<const ArrayNode*, std::size_t>> stack{{node_.get(), 0}};
  while (!stack.empty()) {
    auto& [n, next] = stack.back();
    if (next < n->args.size()) {
      const ArrayNode* child = n->args[next++].get();
      if (!index.count(child)) stack.emplace_back(child, 0);
      continue;
    }
    if (!index.count(n)) {
      index[n] = static_cast<std::uint32_t>(order.size());
      order.push_back(n);
    }
    stack.pop_back();
  }
  Bytes out;
  Writer w(out);
  w.write(kMagic);
  write_varint(w, order.size());
  for (const ArrayNode* n : order) {
    w.write(static_cast<std::uint8_t>(n->op));
    w.write(n->sub);
    w.write(static_cast<std::uint8_t>(n->dtype));
    w.write(static_cast<std::uint8_t>(n->ndim));
    write_varint(w, static_cast<std::uint64_t>(n->rows));
    write_varint(w, static_cast<std::uint64_t>(n->cols));
    write_chunks(w, n->row_chunks);
    write_chunks(w, n->col_chunks);
    write_varint(w, n->args.size());
    for (const auto& a : n->args) write_varint(w, index.at(a.get()));
    // Which parameters are set (bit per field); only those follow.
    std::uint8_t present = 0;
    for (int k = 0; k < 4; ++k) present |= (n->ints[k] != 0) << k;
    for (int k = 0; k < 2; ++k) present |= (n->reals[k] != 0 || std::signbit(n->reals[k])) << (4 + k);
    for (int k = 0; k < 2; ++k) present |= (!n->text[k].empty()) << (6 + k);
    w.write(present);
    for (int k = 0; k < 4; ++k)
      if (present & (1 << k)) write_signed(w, n->ints[k]);
    for (int k = 0; k < 2; ++k)
      if (present & (1 << (4 + k))) w.write(n->reals[k]);
    for (int k = 0; k < 2; ++k)
      if (present & (1 << (6 + k))) w.write(n->text[k]);
  }
  return out;
}
#pragma GCC diagnostic pop

Array Array::deserialize(const Bytes& bytes) {
  Reader r(bytes.data(), bytes.size());
  if (r.read<std::uint64_t>() != kMagic) throw SerializeError("bytes are not a rask array expression");
  const auto count = read_varint(r);
  if (count == 0 || count > bytes.size()) throw SerializeError("array expression has no nodes");
  std::vector<detail::ArrayNodePtr> nodes;
  for (std::uint64_t k = 0; k < count; ++k) {
    auto n = std::make_shared<ArrayNode>();
    const auto op = r.read<std::uint8_t>();
    if (op > static_cast<std::uint8_t>(detail::Op::literal)) throw SerializeError("array expression: unknown operation");
    n->op = static_cast<detail::Op>(op);
    n->sub = r.read<std::uint8_t>();
    const auto dtype = r.read<std::uint8_t>();
    if (dtype > 2) throw SerializeError("array expression: unknown dtype");
    n->dtype = static_cast<DType>(dtype);
    n->ndim = r.read<std::uint8_t>();
    n->rows = static_cast<std::int64_t>(read_varint(r));
    n->cols = static_cast<std::int64_t>(read_varint(r));
    n->row_chunks = read_chunks(r);
    n->col_chunks = read_chunks(r);
    const auto nargs = read_varint(r);
    if (nargs > 2) throw SerializeError("array expression: too many operands");
    for (std::uint64_t a = 0; a < nargs; ++a) {
      const auto at = read_varint(r);
      if (at >= nodes.size()) throw SerializeError("array expression: operand refers forward");
      n->args.push_back(nodes[at]);
    }
    const auto present = r.read<std::uint8_t>();
    for (int k = 0; k < 4; ++k)
      if (present & (1 << k)) n->ints[k] = read_signed(r);
    for (int k = 0; k < 2; ++k)
      if (present & (1 << (4 + k))) n->reals[k] = r.read<double>();
    for (int k = 0; k < 2; ++k)
      if (present & (1 << (6 + k))) n->text[k] = r.read<std::string>();
    if (n->op == detail::Op::persisted) {
      n->persisted = detail::persist_handle(static_cast<std::uint64_t>(n->ints[0]));
      if (!n->persisted)
        throw SerializeError("array expression refers to a persisted array that no longer exists on this rank");
    }
    nodes.push_back(detail::finish(n));
  }
  return Array(nodes.back());
}

}  // namespace rask
