// An expression node's identity: its token, and its wire form for sending expressions
// between ranks. Both walk every field of the node and of its operation's parameters
// (each_field), so neither can miss one.
#include <cstring>
#include <unordered_map>

#include "array/lower.hpp"
#include "rask/token.hpp"

namespace rask {
namespace detail {

namespace {

Token token_field(Token t, const std::string& s) { return token_combine(t, token_bytes(s.data(), s.size())); }
Token token_field(Token t, double v) {
  std::uint64_t bits;
  std::memcpy(&bits, &v, 8);
  return token_combine(t, bits);
}
template <class T>
  requires std::is_integral_v<T> || std::is_enum_v<T>
Token token_field(Token t, T v) {
  return token_combine(t, static_cast<std::uint64_t>(v));
}

}  // namespace

ArrayNodePtr finish(std::shared_ptr<ArrayNode> n) {
  Token t = token_combine(0xa77a1, static_cast<std::uint64_t>(n->op()));
  t = token_combine(t, static_cast<std::uint64_t>(n->dtype));
  t = token_combine(t, static_cast<std::uint64_t>(n->ndim));
  t = token_combine(t, static_cast<std::uint64_t>(n->rows));
  t = token_combine(t, static_cast<std::uint64_t>(n->cols));
  t = token_combine(t, token_bytes(n->row_chunks.data(), n->row_chunks.size() * 8));
  t = token_combine(t, token_bytes(n->col_chunks.data(), n->col_chunks.size() * 8));
  for (const auto& a : n->args) t = token_combine(t, a->token);
  std::visit([&](const auto& p) { each_field(p, [&](const auto& v) { t = token_field(t, v); }); }, n->params);
  n->token = t;
  return n;
}

}  // namespace detail

using detail::ArrayNode;

// The wire form: the expression's distinct nodes, operands first, each naming its
// operands by position; chunk sizes run-length encoded, so a million regular chunks
// take a few bytes.
namespace {
constexpr std::uint64_t kMagic = 0x3252524141534b52ull;  // "RKSAARR2"

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

// One parameter field on the wire.
void write_field(Writer& w, const std::string& s) { w.write(s); }
void write_field(Writer& w, double v) { w.write(v); }
void write_field(Writer& w, bool v) { w.write(static_cast<std::uint8_t>(v)); }
template <class T>
  requires std::is_enum_v<T>
void write_field(Writer& w, T v) {
  w.write(static_cast<std::uint8_t>(v));
}
template <class T>
  requires std::is_integral_v<T>
void write_field(Writer& w, T v) {
  if constexpr (std::is_signed_v<T>)
    write_signed(w, v);
  else
    write_varint(w, v);
}

void read_field(Reader& r, std::string& s) { s = r.read<std::string>(); }
void read_field(Reader& r, double& v) { v = r.read<double>(); }
void read_field(Reader& r, bool& v) {
  const auto byte = r.read<std::uint8_t>();
  if (byte > 1) throw SerializeError("array expression: bad flag");
  v = byte;
}
template <class T>
  requires std::is_enum_v<T>
void read_field(Reader& r, T& v) {
  const auto byte = r.read<std::uint8_t>();
  if (byte > static_cast<std::uint8_t>(detail::last_value(T{})))
    throw SerializeError("array expression: unknown operation parameter");
  v = static_cast<T>(byte);
}
template <class T>
  requires std::is_integral_v<T>
void read_field(Reader& r, T& v) {
  if constexpr (std::is_signed_v<T>)
    v = static_cast<T>(read_signed(r));
  else
    v = static_cast<T>(read_varint(r));
}

// Default parameters of the operation with index `index`.
template <std::size_t... I>
detail::OpParams params_at(std::size_t index, std::index_sequence<I...>) {
  detail::OpParams params;
  ((index == I ? (params.emplace<I>(), true) : false) || ...);
  return params;
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
    w.write(static_cast<std::uint8_t>(n->op()));
    w.write(static_cast<std::uint8_t>(n->dtype));
    w.write(static_cast<std::uint8_t>(n->ndim));
    write_varint(w, static_cast<std::uint64_t>(n->rows));
    write_varint(w, static_cast<std::uint64_t>(n->cols));
    write_chunks(w, n->row_chunks);
    write_chunks(w, n->col_chunks);
    write_varint(w, n->args.size());
    for (const auto& a : n->args) write_varint(w, index.at(a.get()));
    std::visit([&](const auto& p) { detail::each_field(p, [&](const auto& v) { write_field(w, v); }); }, n->params);
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
    if (op >= std::variant_size_v<detail::OpParams>) throw SerializeError("array expression: unknown operation");
    n->params = params_at(op, std::make_index_sequence<std::variant_size_v<detail::OpParams>>{});
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
    std::visit([&](auto& p) { detail::each_field(p, [&](auto& v) { read_field(r, v); }); }, n->params);
    if (auto* stored = std::get_if<detail::ops::Persisted>(&n->params)) {
      stored->handle = detail::persist_handle(stored->id);
      if (!stored->handle)
        throw SerializeError("array expression refers to a persisted array that no longer exists on this rank");
    }
    nodes.push_back(detail::finish(n));
  }
  return Array(nodes.back());
}

}  // namespace rask
