// The public frame API (include/rask/frame.hpp): DataFrame, Series, GroupBy and the
// operators, each building one expression node; the reductions that compute at once.
#include <cmath>
#include <functional>
#include <limits>

#include "frame/expr.hpp"
#include "frame/lower.hpp"
#include "frame/table.hpp"
#include "rask/runtime.hpp"

namespace rask {

using detail::Agg;
using detail::BinaryOp;
using detail::FrameAccess;
using detail::FramePtr;
using detail::Level;
using detail::make_node;

namespace {

const FramePtr& node(const Series& s) { return FrameAccess::node(s); }
Series series(FramePtr n) { return FrameAccess::series(std::move(n)); }

FramePtr scalar_node(double v) { return make_node(detail::Scalar{v}); }

Series binary(BinaryOp op, const FramePtr& a, const FramePtr& b) { return series(make_node(detail::Binary{op}, {a, b})); }

// The frame a row series belongs to: the operand whose token is its frame's.
FramePtr frame_of_series(const FramePtr& s) {
  std::function<FramePtr(const FramePtr&)> find = [&](const FramePtr& n) -> FramePtr {
    if (n->level == Level::frame && n->token == s->frame) return n;
    for (const auto& a : n->args)
      if (auto f = find(a)) return f;
    return nullptr;
  };
  return find(s);
}

// Collective: a whole-column reduction, its value on every rank (its table always has
// one row: see lower_table).
double reduce(const FramePtr& in, Agg agg) {
  auto table = detail::compute_table(make_node(detail::Reduce{agg}, {in}), Where::all);
  const Column& c = table->columns.at(0);
  if (c.dtype == DType::float64) return c.f64.at(0);
  return c.i64.at(0) == std::numeric_limits<std::int64_t>::min() ? NAN : static_cast<double>(c.i64.at(0));
}

}  // namespace

DataFrame read_csv(const std::vector<std::string>& paths, ReadCsvOptions options) {
  if (paths.empty()) throw InputError("read_csv: no paths given (pass a path, a glob pattern or a list of them)");
  return FrameAccess::frame(make_node(detail::ReadCsv{paths, std::move(options)}));
}

DataFrame read_csv(const std::string& path_or_glob, ReadCsvOptions options) {
  return read_csv(std::vector<std::string>{path_or_glob}, std::move(options));
}

Series DataFrame::operator[](const std::string& column) const {
  return series(make_node(detail::GetColumn{column}, {node_}));
}

DataFrame DataFrame::operator[](const std::vector<std::string>& columns) const {
  return DataFrame(make_node(detail::Select{columns}, {node_}));
}

DataFrame DataFrame::operator[](std::initializer_list<std::string> columns) const {
  return (*this)[std::vector<std::string>(columns)];
}

DataFrame DataFrame::operator[](const Series& mask) const {
  return DataFrame(make_node(detail::Filter{}, {node_, node(mask)}));
}

GroupBy DataFrame::groupby(const Series& key) const {
  if (node(key)->level != Level::row || node(key)->frame != node_->token)
    throw InputError(
        "groupby needs a key of the same frame (a column name, or a series such as "
        "df[\"timestamp\"].dt().hour()); the key '" +
        key.name() + "' belongs to another frame");
  return GroupBy(node_, {node(key)});
}

GroupBy DataFrame::groupby(const std::string& column) const { return groupby((*this)[column]); }

GroupBy DataFrame::groupby(const std::vector<std::string>& columns) const {
  if (columns.empty()) throw InputError("groupby needs at least one column name");
  if (columns.size() == 1) return groupby(columns[0]);
  std::vector<FramePtr> keys;
  for (const auto& c : columns) keys.push_back(node((*this)[c]));
  return GroupBy(node_, std::move(keys));
}

GroupBy DataFrame::groupby(std::initializer_list<std::string> columns) const {
  return groupby(std::vector<std::string>(columns));
}

Bytes DataFrame::serialize() const { return detail::expr_bytes(node_); }

DataFrame DataFrame::deserialize(const Bytes& bytes) {
  auto n = detail::expr_from_bytes(bytes);
  if (n->level != Level::frame) throw SerializeError("the bytes hold a series, not a frame (use Series::deserialize)");
  return DataFrame(std::move(n));
}

std::size_t DataFrame::len() const { return static_cast<std::size_t>(reduce(node_, Agg::size)); }

DatetimeAccessor Series::dt() const { return DatetimeAccessor(node_); }
const std::string& Series::name() const { return node_->series_name; }

Bytes Series::serialize() const { return detail::expr_bytes(node_); }

Series Series::deserialize(const Bytes& bytes) {
  auto n = detail::expr_from_bytes(bytes);
  if (n->level != Level::row && n->level != Level::agg)
    throw SerializeError("the bytes hold a frame, not a series (use DataFrame::deserialize)");
  return Series(std::move(n));
}

namespace {
Series dt_node(const FramePtr& a, detail::Dt field) { return series(make_node(field, {a})); }
}  // namespace

Series DatetimeAccessor::year() const { return dt_node(node_, {detail::DtField::year}); }
Series DatetimeAccessor::month() const { return dt_node(node_, {detail::DtField::month}); }
Series DatetimeAccessor::day() const { return dt_node(node_, {detail::DtField::day}); }
Series DatetimeAccessor::hour() const { return dt_node(node_, {detail::DtField::hour}); }
Series DatetimeAccessor::minute() const { return dt_node(node_, {detail::DtField::minute}); }
Series DatetimeAccessor::second() const { return dt_node(node_, {detail::DtField::second}); }
Series DatetimeAccessor::dayofweek() const { return dt_node(node_, {detail::DtField::dayofweek}); }
Series DatetimeAccessor::date() const { return dt_node(node_, {detail::DtField::date}); }
Series DatetimeAccessor::normalize() const { return dt_node(node_, detail::parse_dt_field("normalize")); }
Series DatetimeAccessor::floor(const std::string& freq) const {
  return dt_node(node_, detail::parse_floor_freq(freq));
}

Series operator+(const Series& a, const Series& b) { return binary(BinaryOp::add, node(a), node(b)); }
Series operator-(const Series& a, const Series& b) { return binary(BinaryOp::sub, node(a), node(b)); }
Series operator*(const Series& a, const Series& b) { return binary(BinaryOp::mul, node(a), node(b)); }
Series operator/(const Series& a, const Series& b) { return binary(BinaryOp::div, node(a), node(b)); }
Series operator+(const Series& a, double b) { return binary(BinaryOp::add, node(a), scalar_node(b)); }
Series operator-(const Series& a, double b) { return binary(BinaryOp::sub, node(a), scalar_node(b)); }
Series operator*(const Series& a, double b) { return binary(BinaryOp::mul, node(a), scalar_node(b)); }
Series operator/(const Series& a, double b) { return binary(BinaryOp::div, node(a), scalar_node(b)); }
Series operator+(double a, const Series& b) { return binary(BinaryOp::add, scalar_node(a), node(b)); }
Series operator-(double a, const Series& b) { return binary(BinaryOp::sub, scalar_node(a), node(b)); }
Series operator*(double a, const Series& b) { return binary(BinaryOp::mul, scalar_node(a), node(b)); }
Series operator/(double a, const Series& b) { return binary(BinaryOp::div, scalar_node(a), node(b)); }
Series operator-(const Series& a) { return series(make_node(detail::Unary{detail::UnaryOp::neg}, {node(a)})); }
Series operator>(const Series& a, const Series& b) { return binary(BinaryOp::gt, node(a), node(b)); }
Series operator>=(const Series& a, const Series& b) { return binary(BinaryOp::ge, node(a), node(b)); }
Series operator<(const Series& a, const Series& b) { return binary(BinaryOp::lt, node(a), node(b)); }
Series operator<=(const Series& a, const Series& b) { return binary(BinaryOp::le, node(a), node(b)); }
Series operator==(const Series& a, const Series& b) { return binary(BinaryOp::eq, node(a), node(b)); }
Series operator!=(const Series& a, const Series& b) { return binary(BinaryOp::ne, node(a), node(b)); }
Series operator>(const Series& a, double b) { return binary(BinaryOp::gt, node(a), scalar_node(b)); }
Series operator>=(const Series& a, double b) { return binary(BinaryOp::ge, node(a), scalar_node(b)); }
Series operator<(const Series& a, double b) { return binary(BinaryOp::lt, node(a), scalar_node(b)); }
Series operator<=(const Series& a, double b) { return binary(BinaryOp::le, node(a), scalar_node(b)); }
Series operator==(const Series& a, double b) { return binary(BinaryOp::eq, node(a), scalar_node(b)); }
Series operator!=(const Series& a, double b) { return binary(BinaryOp::ne, node(a), scalar_node(b)); }
Series operator&(const Series& a, const Series& b) { return binary(BinaryOp::logical_and, node(a), node(b)); }
Series operator|(const Series& a, const Series& b) { return binary(BinaryOp::logical_or, node(a), node(b)); }
Series operator~(const Series& a) { return series(make_node(detail::Unary{detail::UnaryOp::invert}, {node(a)})); }

double Series::sum() const { return reduce(node_, Agg::sum); }
double Series::mean() const { return reduce(node_, Agg::mean); }
double Series::min() const { return reduce(node_, Agg::min); }
double Series::max() const { return reduce(node_, Agg::max); }
double Series::std() const { return reduce(node_, Agg::std); }
double Series::var() const { return reduce(node_, Agg::var); }
std::size_t Series::count() const { return static_cast<std::size_t>(reduce(node_, Agg::count)); }

Series Series::value_counts() const {
  if (node_->level != Level::row) throw InputError("value_counts() needs a column of a frame, not a groupby result");
  return Series(make_node(detail::GroupAgg{Agg::size, "", true}, {frame_of_series(node_), node_}));
}

std::size_t Series::nunique() const {
  if (node_->level != Level::row) throw InputError("nunique() needs a column of a frame, not a groupby result");
  auto table =
      detail::compute_table(make_node(detail::GroupAgg{Agg::size, ""}, {frame_of_series(node_), node_}), Where::all);
  return table->rows();
}

std::optional<Table> DataFrame::compute(Where where) const { return detail::compute_table(node_, where); }
std::optional<Table> Series::compute(Where where) const { return detail::compute_table(node_, where); }

namespace {
// Dask's head reads the first partition only; this reads the first block, then 4, 16, ...
// blocks until it has n rows or has read everything (every rank learns the count, so all
// agree when to stop).
std::optional<Table> head_table(const FramePtr& root, std::size_t n, Where where) {
  if (root->level == Level::agg) {
    auto t = detail::compute_table(root, where);
    if (t) detail::keep_rows(*t, n);
    return t;
  }
  for (std::size_t blocks = 1;; blocks *= 4) {
    bool all = false;
    auto t = detail::compute_table(root, Where::all, blocks, &all);
    if (t->rows() >= n || all) {
      detail::keep_rows(*t, n);
      if (where == Where::root && Runtime::current().rank() != 0) return std::nullopt;
      return t;
    }
  }
}
}  // namespace

std::optional<Table> DataFrame::head(std::size_t n, Where where) const { return head_table(node_, n, where); }
std::optional<Table> Series::head(std::size_t n, Where where) const { return head_table(node_, n, where); }

SeriesGroupBy GroupBy::operator[](const std::string& column) const { return SeriesGroupBy(frame_, keys_, column); }

Series GroupBy::size() const {
  std::vector<FramePtr> args{frame_};
  args.insert(args.end(), keys_.begin(), keys_.end());
  return series(make_node(detail::GroupAgg{Agg::size, ""}, std::move(args)));
}

Series SeriesGroupBy::make(Agg agg) const {
  std::vector<FramePtr> args{frame_};
  args.insert(args.end(), keys_.begin(), keys_.end());
  return series(make_node(detail::GroupAgg{agg, column_}, std::move(args)));
}

Series SeriesGroupBy::sum() const { return make(Agg::sum); }
Series SeriesGroupBy::mean() const { return make(Agg::mean); }
Series SeriesGroupBy::min() const { return make(Agg::min); }
Series SeriesGroupBy::max() const { return make(Agg::max); }
Series SeriesGroupBy::count() const { return make(Agg::count); }
Series SeriesGroupBy::std() const { return make(Agg::std); }
Series SeriesGroupBy::var() const { return make(Agg::var); }
Series SeriesGroupBy::first() const { return make(Agg::first); }
Series SeriesGroupBy::last() const { return make(Agg::last); }

}  // namespace rask
