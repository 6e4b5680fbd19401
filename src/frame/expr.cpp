// Frame expression nodes: making them (operand checks, level, token, name), the names
// of their operators, fields and aggregations, and their compact serialization.
#include "frame/expr.hpp"

#include <array>
#include <unordered_map>
#include <utility>

namespace rask::detail {

namespace {

// ---- every field once: serialization, token and equality go through fields() ----

template <class T>
concept HasFields = requires(const T& v) { v.fields(); };

template <class F>
void write_field(Writer& w, const F& field);
template <class F>
void read_field(Reader& r, F& field);

template <HasFields T>
void write_fields(Writer& w, const T& v) {
  std::apply([&](const auto&... field) { (write_field(w, field), ...); }, v.fields());
}
template <HasFields T>
void read_fields(Reader& r, T& v) {
  std::apply([&](auto&... field) { (read_field(r, field), ...); }, v.fields());
}
template <class F>
void write_field(Writer& w, const F& field) {
  if constexpr (HasFields<F>)
    write_fields(w, field);
  else
    w.write(field);
}
template <class F>
void read_field(Reader& r, F& field) {
  if constexpr (HasFields<F>)
    read_fields(r, field);
  else
    field = r.read<F>();
}

// The number of members an aggregate has (it accepts that many initializers, no more):
// checks at compile time that fields() names every member.
struct AnyField {
  template <class T>
  operator T() const;
};
template <class T, class... A>
constexpr std::size_t aggregate_fields() {
  if constexpr (requires { T{A{}..., AnyField{}}; })
    return aggregate_fields<T, A..., AnyField>();
  else
    return sizeof...(A);
}
template <class T>
constexpr bool lists_every_field() {
  return aggregate_fields<T>() == std::tuple_size_v<decltype(std::declval<const T&>().fields())>;
}
static_assert(lists_every_field<ReadCsvOptions>(), "ReadCsvOptions::fields() must name every field");
static_assert(ReadCsvOptions::field_names.size() == std::tuple_size_v<decltype(ReadCsvOptions{}.fields())>,
              "ReadCsvOptions::field_names must name every field");
template <class... Kinds>
constexpr bool kinds_list_every_field(std::variant<Kinds...>*) {
  return (lists_every_field<Kinds>() && ...);
}
static_assert(kinds_list_every_field(static_cast<NodeKind*>(nullptr)), "a node kind's fields() must name every field");

Token token_of(const FrameNode& n) {
  Bytes bytes;
  Writer w(bytes);
  std::visit([&](const auto& kind) { write_fields(w, kind); }, n.kind);
  Token t = token_combine(0x66726d, static_cast<std::uint64_t>(n.kind.index()));
  t = token_combine(t, token_bytes(bytes.data(), bytes.size()));
  for (const auto& a : n.args) t = token_combine(t, a->token);
  return t;
}

const char* level_word(Level level) {
  switch (level) {
    case Level::frame:
      return "a frame";
    case Level::row:
      return "a column of a frame";
    case Level::agg:
      return "a groupby result";
    case Level::scalar:
      return "a scalar";
  }
  return "?";
}

template <class Enum, std::size_t N>
using NameTable = std::array<std::pair<const char*, Enum>, N>;

constexpr NameTable<BinaryOp, 12> kBinaryOps{{{"+", BinaryOp::add},
                                              {"-", BinaryOp::sub},
                                              {"*", BinaryOp::mul},
                                              {"/", BinaryOp::div},
                                              {">", BinaryOp::gt},
                                              {">=", BinaryOp::ge},
                                              {"<", BinaryOp::lt},
                                              {"<=", BinaryOp::le},
                                              {"==", BinaryOp::eq},
                                              {"!=", BinaryOp::ne},
                                              {"&", BinaryOp::logical_and},
                                              {"|", BinaryOp::logical_or}}};
constexpr NameTable<UnaryOp, 2> kUnaryOps{{{"-", UnaryOp::neg}, {"~", UnaryOp::invert}}};
constexpr NameTable<Agg, 10> kAggs{{{"sum", Agg::sum},
                                    {"mean", Agg::mean},
                                    {"min", Agg::min},
                                    {"max", Agg::max},
                                    {"count", Agg::count},
                                    {"std", Agg::std},
                                    {"var", Agg::var},
                                    {"first", Agg::first},
                                    {"last", Agg::last},
                                    {"size", Agg::size}}};
constexpr NameTable<DtField, 9> kDtFields{{{"year", DtField::year},
                                           {"month", DtField::month},
                                           {"day", DtField::day},
                                           {"hour", DtField::hour},
                                           {"minute", DtField::minute},
                                           {"second", DtField::second},
                                           {"dayofweek", DtField::dayofweek},
                                           {"floor", DtField::floor},
                                           {"date", DtField::date}}};

template <class Enum, std::size_t N>
const char* name_in(const NameTable<Enum, N>& table, Enum value) {
  for (const auto& [name, v] : table)
    if (v == value) return name;
  return "?";
}

template <class Enum, std::size_t N>
bool find_in(const NameTable<Enum, N>& table, std::string_view name, Enum& out) {
  for (const auto& [n, v] : table)
    if (name == n) {
      out = v;
      return true;
    }
  return false;
}

template <class Enum, std::size_t N>
std::string names_of(const NameTable<Enum, N>& table) {
  std::string out;
  for (const auto& entry : table) out += std::string(out.empty() ? "" : ", ") + "'" + entry.first + "'";
  return out;
}

template <class Enum, std::size_t N>
bool known(const NameTable<Enum, N>& table, Enum value) {
  for (const auto& entry : table)
    if (entry.second == value) return true;
  return false;
}

constexpr std::int64_t kSecondNs = 1000000000LL;

}  // namespace

const char* binary_op_name(BinaryOp op) { return name_in(kBinaryOps, op); }
BinaryOp parse_binary_op(std::string_view name) {
  BinaryOp op{};
  if (!find_in(kBinaryOps, name, op))
    throw InputError("unknown operator '" + std::string(name) + "'; rask knows " + names_of(kBinaryOps));
  return op;
}
bool is_comparison(BinaryOp op) {
  return op == BinaryOp::gt || op == BinaryOp::ge || op == BinaryOp::lt || op == BinaryOp::le || op == BinaryOp::eq ||
         op == BinaryOp::ne;
}
const char* unary_op_name(UnaryOp op) { return name_in(kUnaryOps, op); }
UnaryOp parse_unary_op(std::string_view name) {
  UnaryOp op{};
  if (!find_in(kUnaryOps, name, op))
    throw InputError("unknown operator '" + std::string(name) + "'; rask knows " + names_of(kUnaryOps));
  return op;
}
const char* agg_name(Agg agg) { return name_in(kAggs, agg); }
Agg parse_agg(std::string_view name) {
  Agg agg{};
  if (!find_in(kAggs, name, agg))
    throw InputError("unknown aggregation '" + std::string(name) + "'; rask knows " + names_of(kAggs));
  return agg;
}
const char* dt_field_name(DtField field) { return name_in(kDtFields, field); }

Dt parse_dt_field(std::string_view name) {
  if (name == "weekday") return Dt{DtField::dayofweek};
  if (name == "normalize") return parse_floor_freq("D");
  DtField field{};
  if (name != "floor" && find_in(kDtFields, name, field)) return Dt{field};
  throw InputError(".dt." + std::string(name) +
                   ": not a timestamp field rask knows; it knows year, month, day, hour, minute, second, dayofweek, "
                   "weekday, date, normalize() and floor(freq)");
}

std::vector<std::string> dt_property_names() {
  std::vector<std::string> out;
  for (const auto& entry : kDtFields)
    if (entry.second != DtField::floor) out.emplace_back(entry.first);
  out.emplace_back("weekday");
  return out;
}

Dt parse_floor_freq(std::string_view freq) {
  static constexpr std::pair<const char*, std::int64_t> units[] = {
      {"D", 86400 * kSecondNs}, {"h", 3600 * kSecondNs}, {"H", 3600 * kSecondNs}, {"min", 60 * kSecondNs},
      {"T", 60 * kSecondNs},    {"s", kSecondNs},        {"S", kSecondNs}};
  for (const auto& [name, ns] : units)
    if (freq == name) return Dt{DtField::floor, ns};
  throw InputError("dt().floor(\"" + std::string(freq) + "\"): unknown frequency; use \"D\", \"h\", \"min\" or \"s\"");
}

const FrameNode& source_of(const FrameNode& node) {
  if (node.is<ReadCsv>()) return node;
  for (const auto& a : node.args)
    if (a->level != Level::scalar) return source_of(*a);
  throw InputError("internal: an expression without a read_csv");
}

const FrameNode& frame_of(const FrameNode& n) {
  if (n.level == Level::frame) return n;
  for (const auto& a : n.args)
    if (a->level == Level::frame || a->level == Level::row) return frame_of(*a);
  throw InputError("internal: a row series without a frame");
}

namespace {

// Level and name of a node from its operands; InputError when they do not fit.
void derive(FrameNode& n) {
  const auto& args = n.args;
  if (n.is<ReadCsv>() || n.is<Select>()) {
    n.level = Level::frame;
  } else if (n.is<Filter>()) {
    const FrameNode& mask = *args[1];
    if (mask.level != Level::row || mask.frame != args[0]->token)
      throw InputError(
          "a filter df[mask] needs a bool series of the same frame (e.g. df[df[\"close\"] > 50.0]); "
          "got " +
          std::string(level_word(mask.level)) + (mask.level == Level::row ? " of another frame" : ""));
    n.level = Level::frame;
  } else if (n.is<GetColumn>()) {
    n.level = Level::row;
    n.series_name = n.as<GetColumn>().column;
  } else if (n.is<Scalar>()) {
    n.level = Level::scalar;
  } else if (n.is<Dt>() || n.is<Unary>()) {
    n.level = args[0]->level;
    n.series_name = args[0]->series_name;
    if (n.level == Level::agg && n.is<Dt>())
      throw InputError(".dt() accessors apply to a column of a frame, not to a groupby result");
  } else if (n.is<Binary>()) {
    const FrameNode& a = *args[0];
    const FrameNode& b = *args[1];
    const std::string op = binary_op_name(n.as<Binary>().op);
    if (a.level == Level::scalar)
      n.level = b.level;
    else if (b.level == Level::scalar)
      n.level = a.level;
    else if (a.level != b.level)
      throw InputError("cannot combine " + std::string(level_word(a.level)) + " ('" + a.series_name + "') with " +
                       level_word(b.level) + " ('" + b.series_name + "') in '" + op +
                       "': both sides must be columns of one frame, or both groupby results");
    else if (a.level == Level::row && a.frame != b.frame)
      throw InputError("cannot combine columns '" + a.series_name + "' and '" + b.series_name +
                       "' of different frames in '" + op +
                       "': rows are matched by position within one frame (filter the frame first, then "
                       "take both columns from the filtered frame)");
    else
      n.level = a.level;
    if (a.level == Level::scalar)
      n.series_name = b.series_name;
    else if (b.level == Level::scalar || a.series_name == b.series_name)
      n.series_name = a.series_name;
  } else if (n.is<Reduce>()) {
    const FrameNode& in = *args[0];
    const Agg agg = n.as<Reduce>().agg;
    if (in.level != Level::row && !(in.level == Level::frame && agg == Agg::size))
      throw InputError(std::string("a reduction (") + agg_name(agg) + ") needs a column of a frame; got " +
                       level_word(in.level));
    n.level = Level::agg;
    n.series_name = in.series_name;
  } else {  // GroupAgg
    for (std::size_t key_idx = 2; key_idx < args.size(); ++key_idx)
      if (args[key_idx]->level != Level::row || args[key_idx]->frame != args[0]->token)
        throw InputError("groupby needs keys of the same frame");
    const FrameNode& key = *args[1];
    if (key.level != Level::row || key.frame != args[0]->token)
      throw InputError(
          "groupby needs a key of the same frame (a column name, or a series such as "
          "df[\"timestamp\"].dt().hour()); got " +
          std::string(level_word(key.level)) + (key.level == Level::row ? " of another frame" : ""));
    const GroupAgg& g = n.as<GroupAgg>();
    n.level = Level::agg;
    n.series_name = g.value_counts ? key.series_name : g.column;
  }
}

// Operands per kind (GroupAgg: the frame and at least one key).
constexpr std::array<std::size_t, std::variant_size_v<NodeKind>> kArity{0, 2, 1, 1, 0, 2, 1, 1, 2, 1};

// Enum fields read from bytes name known values.
bool valid_kind(const NodeKind& kind) {
  if (const auto* b = std::get_if<Binary>(&kind)) return known(kBinaryOps, b->op);
  if (const auto* u = std::get_if<Unary>(&kind)) return known(kUnaryOps, u->op);
  if (const auto* d = std::get_if<Dt>(&kind)) return known(kDtFields, d->field) && (d->field != DtField::floor || d->unit_ns > 0);
  if (const auto* g = std::get_if<GroupAgg>(&kind)) return known(kAggs, g->agg);
  if (const auto* r = std::get_if<Reduce>(&kind)) return known(kAggs, r->agg);
  return true;
}

template <std::size_t... I>
NodeKind kind_of_index(std::size_t index, std::index_sequence<I...>) {
  NodeKind out;
  ((index == I ? (out.template emplace<I>(), true) : false) || ...);
  return out;
}

}  // namespace

FramePtr make_node(NodeKind kind, std::vector<FramePtr> args) {
  FrameNode n;
  n.kind = std::move(kind);
  n.args = std::move(args);
  const std::size_t arity = kArity[n.kind.index()];
  if (n.is<GroupAgg>() ? n.args.size() < arity : n.args.size() != arity)
    throw InputError("internal: a frame expression node with wrong operands");
  derive(n);
  n.token = token_of(n);
  if (n.level == Level::frame)
    n.frame = n.token;
  else if (n.level == Level::row) {
    for (const auto& a : n.args)
      if (a->level == Level::row || a->level == Level::frame) n.frame = a->level == Level::frame ? a->token : a->frame;
  }
  return std::make_shared<const FrameNode>(std::move(n));
}

namespace {
struct Flattener {
  std::unordered_map<const FrameNode*, std::uint32_t> ids;
  std::vector<const FrameNode*> order;
  void visit(const FrameNode* n) {
    if (ids.count(n)) return;
    for (const auto& a : n->args) visit(a.get());
    ids.emplace(n, static_cast<std::uint32_t>(order.size()));
    order.push_back(n);
  }
};
}  // namespace

void write_expr(Writer& w, const FramePtr& root) {
  Flattener f;
  f.visit(root.get());
  w.write(static_cast<std::uint32_t>(f.order.size()));
  for (const FrameNode* n : f.order) {
    w.write(static_cast<std::uint8_t>(n->kind.index()));
    std::visit([&](const auto& kind) { write_fields(w, kind); }, n->kind);
    w.write(static_cast<std::uint8_t>(n->args.size()));  // groupby keys: at most 254
    for (const auto& a : n->args) w.write(f.ids.at(a.get()));
  }
}

FramePtr read_expr(Reader& r) {
  const auto count = r.read<std::uint32_t>();
  if (count == 0 || count > r.remaining()) throw SerializeError("serialized frame expression has a bad node count");
  std::vector<FramePtr> nodes;
  nodes.reserve(count);
  for (std::uint32_t node_idx = 0; node_idx < count; ++node_idx) {
    const auto index = r.read<std::uint8_t>();
    if (index >= std::variant_size_v<NodeKind>) throw SerializeError("serialized frame expression has a bad node");
    NodeKind kind = kind_of_index(index, std::make_index_sequence<std::variant_size_v<NodeKind>>{});
    std::visit([&](auto& k) { read_fields(r, k); }, kind);
    if (!valid_kind(kind)) throw SerializeError("serialized frame expression has a bad operator or field");
    std::vector<FramePtr> args;
    const auto nargs = r.read<std::uint8_t>();
    for (std::uint8_t arg_idx = 0; arg_idx < nargs; ++arg_idx) {
      const auto id = r.read<std::uint32_t>();
      if (id >= nodes.size()) throw SerializeError("serialized frame expression refers to a later node");
      args.push_back(nodes[id]);
    }
    const bool agg = std::holds_alternative<GroupAgg>(kind);
    if (agg ? args.size() < kArity[index] : args.size() != kArity[index])
      throw SerializeError("serialized frame expression has a node with wrong operands");
    nodes.push_back(make_node(std::move(kind), std::move(args)));
  }
  return nodes.back();
}

Bytes expr_bytes(const FramePtr& node) {
  Bytes bytes;
  Writer w(bytes);
  write_expr(w, node);
  return bytes;
}

FramePtr expr_from_bytes(const Bytes& bytes) {
  Reader r(bytes.data(), bytes.size());
  return read_expr(r);
}

}  // namespace rask::detail
