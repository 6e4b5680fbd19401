// Building frame expressions: the public DataFrame/Series/GroupBy operations, checks
// that their operands fit together, and the expression's compact serialization.
#include "frame/expr.hpp"

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <unordered_map>

#include "frame/lower.hpp"

namespace rask {
namespace detail {

namespace {

void token_string(Token& t, const std::string& s) { t = token_combine(t, token_bytes(s.data(), s.size())); }

Token token_of(const FrameNode& n) {
  Token t = token_combine(0x66726d, static_cast<std::uint64_t>(n.op));
  token_string(t, n.name);
  token_string(t, n.column);
  std::uint64_t bits;
  std::memcpy(&bits, &n.value, sizeof bits);
  t = token_combine(t, bits);
  for (const auto& s : n.names) token_string(t, s);
  if (n.op == NodeOp::read_csv) {
    Bytes bytes;
    Writer w(bytes);
    const auto& o = n.options;
    w.write(o.parse_dates);
    w.write(o.blocksize);
    w.write(o.on_bad_lines);
    w.write(o.usecols);
    w.write(o.dtype);
    w.write(o.names);
    w.write(o.header);
    w.write(o.sep);
    t = token_combine(t, token_bytes(bytes.data(), bytes.size()));
  }
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

}  // namespace

const FrameNode& source_of(const FrameNode& node) {
  if (node.op == NodeOp::read_csv) return node;
  for (const auto& a : node.args)
    if (a->level != Level::scalar) return source_of(*a);
  throw InputError("internal: an expression without a read_csv");
}

FramePtr make_node(FrameNode n) {
  switch (n.op) {
    case NodeOp::read_csv:
      n.level = Level::frame;
      break;
    case NodeOp::filter: {
      const FrameNode& mask = *n.args[1];
      if (mask.level != Level::row || mask.frame != n.args[0]->token)
        throw InputError(
            "a filter df[mask] needs a bool series of the same frame (e.g. df[df[\"close\"] > 50.0]); "
            "got " +
            std::string(level_word(mask.level)) + (mask.level == Level::row ? " of another frame" : ""));
      n.level = Level::frame;
      break;
    }
    case NodeOp::select:
      n.level = Level::frame;
      break;
    case NodeOp::column:
      n.level = Level::row;
      n.series_name = n.name;
      break;
    case NodeOp::scalar:
      n.level = Level::scalar;
      break;
    case NodeOp::dt:
    case NodeOp::unary:
      n.level = n.args[0]->level;
      n.series_name = n.args[0]->series_name;
      if (n.level == Level::agg && n.op == NodeOp::dt)
        throw InputError(".dt() accessors apply to a column of a frame, not to a groupby result");
      break;
    case NodeOp::binary: {
      const FrameNode& a = *n.args[0];
      const FrameNode& b = *n.args[1];
      if (a.level == Level::scalar)
        n.level = b.level;
      else if (b.level == Level::scalar)
        n.level = a.level;
      else if (a.level != b.level)
        throw InputError("cannot combine " + std::string(level_word(a.level)) + " ('" + a.series_name + "') with " +
                         level_word(b.level) + " ('" + b.series_name + "') in '" + n.name +
                         "': both sides must be columns of one frame, or both groupby results");
      else if (a.level == Level::row && a.frame != b.frame)
        throw InputError("cannot combine columns '" + a.series_name + "' and '" + b.series_name +
                         "' of different frames in '" + n.name +
                         "': rows are matched by position within one frame (filter the frame first, then "
                         "take both columns from the filtered frame)");
      else
        n.level = a.level;
      if (a.level == Level::scalar)
        n.series_name = b.series_name;
      else if (b.level == Level::scalar || a.series_name == b.series_name)
        n.series_name = a.series_name;
      break;
    }
    case NodeOp::reduce: {
      const FrameNode& in = *n.args[0];
      if (in.level != Level::row && !(in.level == Level::frame && n.name == "size"))
        throw InputError("a reduction (" + n.name + ") needs a column of a frame; got " + level_word(in.level));
      n.level = Level::agg;
      n.series_name = in.series_name;
      break;
    }
    case NodeOp::agg: {
      for (std::size_t key_idx = 2; key_idx < n.args.size(); ++key_idx)
        if (n.args[key_idx]->level != Level::row || n.args[key_idx]->frame != n.args[0]->token)
          throw InputError("groupby needs keys of the same frame");
      const FrameNode& key = *n.args[1];
      if (key.level != Level::row || key.frame != n.args[0]->token)
        throw InputError(
            "groupby needs a key of the same frame (a column name, or a series such as "
            "df[\"timestamp\"].dt().hour()); got " +
            std::string(level_word(key.level)) + (key.level == Level::row ? " of another frame" : ""));
      n.level = Level::agg;
      n.series_name = n.name == "value_counts" ? key.series_name : n.column;
      break;
    }
  }
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
    w.write(static_cast<std::uint8_t>(n->op));
    w.write(n->name);
    w.write(n->column);
    w.write(n->value);
    w.write(n->names);
    if (n->op == NodeOp::read_csv) {
      const auto& o = n->options;
      w.write(o.parse_dates);
      w.write(o.blocksize);
      w.write(o.on_bad_lines);
      w.write(o.usecols);
      w.write(o.dtype);
      w.write(o.names);
      w.write(o.header);
      w.write(o.sep);
    }
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
    FrameNode n;
    const auto op = r.read<std::uint8_t>();
    if (op > static_cast<std::uint8_t>(NodeOp::reduce))
      throw SerializeError("serialized frame expression has a bad node");
    n.op = static_cast<NodeOp>(op);
    n.name = r.read<std::string>();
    n.column = r.read<std::string>();
    n.value = r.read<double>();
    n.names = r.read<std::vector<std::string>>();
    if (n.op == NodeOp::read_csv) {
      auto& o = n.options;
      o.parse_dates = r.read<std::vector<std::string>>();
      o.blocksize = r.read<std::int64_t>();
      o.on_bad_lines = r.read<std::string>();
      o.usecols = r.read<std::vector<std::string>>();
      o.dtype = r.read<std::map<std::string, std::string>>();
      o.names = r.read<std::vector<std::string>>();
      o.header = r.read<int>();
      o.sep = r.read<char>();
    }
    const auto nargs = r.read<std::uint8_t>();
    for (std::uint8_t arg_idx = 0; arg_idx < nargs; ++arg_idx) {
      const auto id = r.read<std::uint32_t>();
      if (id >= nodes.size()) throw SerializeError("serialized frame expression refers to a later node");
      n.args.push_back(nodes[id]);
    }
    static constexpr std::uint8_t arity[] = {0, 2, 1, 1, 0, 2, 1, 1, 2, 1};
    if (n.args.size() != arity[op] && !(n.op == NodeOp::agg && n.args.size() > 2))
      throw SerializeError("serialized frame expression has a node with wrong operands");
    nodes.push_back(make_node(std::move(n)));
  }
  return nodes.back();
}

}  // namespace detail

using detail::FrameNode;
using detail::FramePtr;
using detail::Level;
using detail::make_node;
using detail::NodeOp;

namespace {

FramePtr column_node(const FramePtr& frame, const std::string& column) {
  FrameNode n;
  n.op = NodeOp::column;
  n.name = column;
  n.args = {frame};
  return make_node(std::move(n));
}

FramePtr scalar_node(double v) {
  FrameNode n;
  n.op = NodeOp::scalar;
  n.value = v;
  return make_node(std::move(n));
}

Series binary(const char* op, const FramePtr& a, const FramePtr& b) {
  FrameNode n;
  n.op = NodeOp::binary;
  n.name = op;
  n.args = {a, b};
  return Series(make_node(std::move(n)));
}

Series unary(const char* op, const FramePtr& a) {
  FrameNode n;
  n.op = NodeOp::unary;
  n.name = op;
  n.args = {a};
  return Series(make_node(std::move(n)));
}

Series dt_node(const FramePtr& a, std::string field) {
  FrameNode n;
  n.op = NodeOp::dt;
  n.name = std::move(field);
  n.args = {a};
  return Series(make_node(std::move(n)));
}

}  // namespace

DataFrame read_csv(const std::vector<std::string>& paths, ReadCsvOptions options) {
  if (paths.empty()) throw InputError("read_csv: no paths given (pass a path, a glob pattern or a list of them)");
  FrameNode n;
  n.op = NodeOp::read_csv;
  n.names = paths;
  n.options = std::move(options);
  return DataFrame(make_node(std::move(n)));
}

DataFrame read_csv(const std::string& path_or_glob, ReadCsvOptions options) {
  return read_csv(std::vector<std::string>{path_or_glob}, std::move(options));
}

Series DataFrame::operator[](const std::string& column) const { return Series(column_node(node_, column)); }

DataFrame DataFrame::operator[](const std::vector<std::string>& columns) const {
  FrameNode n;
  n.op = NodeOp::select;
  n.names = columns;
  n.args = {node_};
  return DataFrame(make_node(std::move(n)));
}

DataFrame DataFrame::operator[](std::initializer_list<std::string> columns) const {
  return (*this)[std::vector<std::string>(columns)];
}

DataFrame DataFrame::operator[](const Series& mask) const {
  FrameNode n;
  n.op = NodeOp::filter;
  n.args = {node_, mask.node()};
  return DataFrame(make_node(std::move(n)));
}

GroupBy DataFrame::groupby(const Series& key) const {
  if (key.node()->level != Level::row || key.node()->frame != node_->token)
    throw InputError(
        "groupby needs a key of the same frame (a column name, or a series such as "
        "df[\"timestamp\"].dt().hour()); the key '" +
        key.name() + "' belongs to another frame");
  return GroupBy(node_, {key.node()});
}

GroupBy DataFrame::groupby(const std::string& column) const { return groupby((*this)[column]); }

GroupBy DataFrame::groupby(const std::vector<std::string>& columns) const {
  if (columns.empty()) throw InputError("groupby needs at least one column name");
  if (columns.size() == 1) return groupby(columns[0]);
  std::vector<FramePtr> keys;
  for (const auto& c : columns) keys.push_back((*this)[c].node());
  return GroupBy(node_, std::move(keys));
}

GroupBy DataFrame::groupby(std::initializer_list<std::string> columns) const {
  return groupby(std::vector<std::string>(columns));
}

namespace detail {
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
}  // namespace detail

Bytes DataFrame::serialize() const { return detail::expr_bytes(node_); }

DataFrame DataFrame::deserialize(const Bytes& bytes) {
  auto node = detail::expr_from_bytes(bytes);
  if (node->level != Level::frame)
    throw SerializeError("the bytes hold a series, not a frame (use Series::deserialize)");
  return DataFrame(std::move(node));
}

DatetimeAccessor Series::dt() const { return DatetimeAccessor(node_); }
const std::string& Series::name() const { return node_->series_name; }

Bytes Series::serialize() const { return detail::expr_bytes(node_); }

Series Series::deserialize(const Bytes& bytes) {
  auto node = detail::expr_from_bytes(bytes);
  if (node->level != Level::row && node->level != Level::agg)
    throw SerializeError("the bytes hold a frame, not a series (use DataFrame::deserialize)");
  return Series(std::move(node));
}

Series DatetimeAccessor::year() const { return dt_node(node_, "year"); }
Series DatetimeAccessor::month() const { return dt_node(node_, "month"); }
Series DatetimeAccessor::day() const { return dt_node(node_, "day"); }
Series DatetimeAccessor::hour() const { return dt_node(node_, "hour"); }
Series DatetimeAccessor::minute() const { return dt_node(node_, "minute"); }
Series DatetimeAccessor::second() const { return dt_node(node_, "second"); }
Series DatetimeAccessor::dayofweek() const { return dt_node(node_, "dayofweek"); }
Series DatetimeAccessor::date() const { return dt_node(node_, "floor_D"); }
Series DatetimeAccessor::normalize() const { return dt_node(node_, "floor_D"); }
Series DatetimeAccessor::floor(const std::string& freq) const {
  static const std::map<std::string, std::string> units = {{"D", "floor_D"},     {"h", "floor_h"},   {"H", "floor_h"},
                                                           {"min", "floor_min"}, {"T", "floor_min"}, {"s", "floor_s"},
                                                           {"S", "floor_s"}};
  auto it = units.find(freq);
  if (it == units.end())
    throw InputError("dt().floor(\"" + freq + "\"): unknown frequency; use \"D\", \"h\", \"min\" or \"s\"");
  return dt_node(node_, it->second);
}

Series operator+(const Series& a, const Series& b) { return binary("+", a.node(), b.node()); }
Series operator-(const Series& a, const Series& b) { return binary("-", a.node(), b.node()); }
Series operator*(const Series& a, const Series& b) { return binary("*", a.node(), b.node()); }
Series operator/(const Series& a, const Series& b) { return binary("/", a.node(), b.node()); }
Series operator+(const Series& a, double b) { return binary("+", a.node(), scalar_node(b)); }
Series operator-(const Series& a, double b) { return binary("-", a.node(), scalar_node(b)); }
Series operator*(const Series& a, double b) { return binary("*", a.node(), scalar_node(b)); }
Series operator/(const Series& a, double b) { return binary("/", a.node(), scalar_node(b)); }
Series operator+(double a, const Series& b) { return binary("+", scalar_node(a), b.node()); }
Series operator-(double a, const Series& b) { return binary("-", scalar_node(a), b.node()); }
Series operator*(double a, const Series& b) { return binary("*", scalar_node(a), b.node()); }
Series operator/(double a, const Series& b) { return binary("/", scalar_node(a), b.node()); }
Series operator-(const Series& a) { return unary("neg", a.node()); }
Series operator>(const Series& a, const Series& b) { return binary(">", a.node(), b.node()); }
Series operator>=(const Series& a, const Series& b) { return binary(">=", a.node(), b.node()); }
Series operator<(const Series& a, const Series& b) { return binary("<", a.node(), b.node()); }
Series operator<=(const Series& a, const Series& b) { return binary("<=", a.node(), b.node()); }
Series operator==(const Series& a, const Series& b) { return binary("==", a.node(), b.node()); }
Series operator!=(const Series& a, const Series& b) { return binary("!=", a.node(), b.node()); }
Series operator>(const Series& a, double b) { return binary(">", a.node(), scalar_node(b)); }
Series operator>=(const Series& a, double b) { return binary(">=", a.node(), scalar_node(b)); }
Series operator<(const Series& a, double b) { return binary("<", a.node(), scalar_node(b)); }
Series operator<=(const Series& a, double b) { return binary("<=", a.node(), scalar_node(b)); }
Series operator==(const Series& a, double b) { return binary("==", a.node(), scalar_node(b)); }
Series operator!=(const Series& a, double b) { return binary("!=", a.node(), scalar_node(b)); }
Series operator&(const Series& a, const Series& b) { return binary("&", a.node(), b.node()); }
Series operator|(const Series& a, const Series& b) { return binary("|", a.node(), b.node()); }
Series operator~(const Series& a) { return unary("~", a.node()); }

namespace {
// The frame a row series belongs to: the operand whose token is its frame's.
FramePtr frame_of_series(const FramePtr& series) {
  std::function<FramePtr(const FramePtr&)> find = [&](const FramePtr& n) -> FramePtr {
    if (n->level == Level::frame && n->token == series->frame) return n;
    for (const auto& a : n->args)
      if (auto f = find(a)) return f;
    return nullptr;
  };
  return find(series);
}

// Collective: a one-group reduction, its value on every rank (NaN when there are no rows).
double reduce(const FramePtr& in, const char* agg) {
  FrameNode n;
  n.op = NodeOp::reduce;
  n.name = agg;
  n.args = {in};
  auto table = detail::compute_table(make_node(std::move(n)), Where::all);
  const Column& c = table->columns.at(0);
  if (c.size() == 0) return std::string(agg) == "size" || std::string(agg) == "count" ? 0.0 : NAN;
  if (c.dtype == DType::float64) return c.f64[0];
  return c.i64[0] == std::numeric_limits<std::int64_t>::min() ? NAN : static_cast<double>(c.i64[0]);
}
}  // namespace

double Series::sum() const { return reduce(node_, "sum"); }
double Series::mean() const { return reduce(node_, "mean"); }
double Series::min() const { return reduce(node_, "min"); }
double Series::max() const { return reduce(node_, "max"); }
double Series::std() const { return reduce(node_, "std"); }
double Series::var() const { return reduce(node_, "var"); }
std::size_t Series::count() const { return static_cast<std::size_t>(reduce(node_, "count")); }
std::size_t DataFrame::len() const { return static_cast<std::size_t>(reduce(node_, "size")); }

Series Series::value_counts() const {
  if (node_->level != Level::row) throw InputError("value_counts() needs a column of a frame, not a groupby result");
  FrameNode n;
  n.op = NodeOp::agg;
  n.name = "value_counts";
  n.args = {frame_of_series(node_), node_};
  return Series(make_node(std::move(n)));
}

std::size_t Series::nunique() const {
  if (node_->level != Level::row) throw InputError("nunique() needs a column of a frame, not a groupby result");
  FrameNode n;
  n.op = NodeOp::agg;
  n.name = "size";
  n.args = {frame_of_series(node_), node_};
  auto table = detail::compute_table(make_node(std::move(n)), Where::all);
  return table->rows();
}

SeriesGroupBy GroupBy::operator[](const std::string& column) const { return SeriesGroupBy(frame_, keys_, column); }

Series GroupBy::size() const {
  FrameNode n;
  n.op = NodeOp::agg;
  n.name = "size";
  n.args = {frame_};
  n.args.insert(n.args.end(), keys_.begin(), keys_.end());
  return Series(make_node(std::move(n)));
}

Series SeriesGroupBy::make(const char* agg) const {
  FrameNode n;
  n.op = NodeOp::agg;
  n.name = agg;
  n.column = column_;
  n.args = {frame_};
  n.args.insert(n.args.end(), keys_.begin(), keys_.end());
  return Series(make_node(std::move(n)));
}

Series SeriesGroupBy::sum() const { return make("sum"); }
Series SeriesGroupBy::mean() const { return make("mean"); }
Series SeriesGroupBy::min() const { return make("min"); }
Series SeriesGroupBy::max() const { return make("max"); }
Series SeriesGroupBy::count() const { return make("count"); }
Series SeriesGroupBy::std() const { return make("std"); }
Series SeriesGroupBy::var() const { return make("var"); }
Series SeriesGroupBy::first() const { return make("first"); }
Series SeriesGroupBy::last() const { return make("last"); }

}  // namespace rask
