// The final task: finishing partial tables, aligning groupby results, the Table.
#include "frame/align.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "frame/check.hpp"

namespace rask::detail {

namespace {

constexpr std::int64_t kMissingInt = std::numeric_limits<std::int64_t>::min();

struct AggValues {
  Column index, values;
};

int compare_keys(const Column& a, std::size_t x, const Column& b, std::size_t y) {
  if (a.dtype == DType::float64) return a.f64[x] < b.f64[y] ? -1 : a.f64[x] > b.f64[y];
  if (a.dtype == DType::string) return a.str[x] < b.str[y] ? -1 : a.str[x] > b.str[y];
  return a.i64[x] < b.i64[y] ? -1 : a.i64[x] > b.i64[y];
}

void push_key(Column& out, const Column& from, std::size_t g) {
  if (from.dtype == DType::float64)
    out.f64.push_back(from.f64[g]);
  else if (from.dtype == DType::string)
    out.str.push_back(from.str[g]);
  else
    out.i64.push_back(from.i64[g]);
}

double value_at(const Column& c, std::size_t g) {
  if (c.dtype == DType::float64) return c.f64[g];
  const std::int64_t v = c.i64[g];
  return v == kMissingInt ? std::numeric_limits<double>::quiet_NaN() : static_cast<double>(v);
}

double apply_op(BinaryOp op, double x, double y) {
  switch (op) {
    case BinaryOp::add:
      return x + y;
    case BinaryOp::sub:
      return x - y;
    case BinaryOp::mul:
      return x * y;
    case BinaryOp::div:
      return x / y;
    case BinaryOp::gt:
      return x > y;
    case BinaryOp::ge:
      return x >= y;
    case BinaryOp::lt:
      return x < y;
    case BinaryOp::le:
      return x <= y;
    case BinaryOp::eq:
      return x == y;
    case BinaryOp::ne:
      return x != y;
    case BinaryOp::logical_and:
      return (x != 0) && (y != 0);
    case BinaryOp::logical_or:
      return (x != 0) || (y != 0);
  }
  return 0;
}

// A groupby result combined by unary and binary nodes; the result types follow
// check.hpp's rules, except that int64 arithmetic of results whose keys differ gives
// float64 with NaN where a key is missing, as pandas does.
AggValues eval_agg(const FrameNode& n, const std::map<Token, AggValues>& leaves) {
  if (n.is<GroupAgg>() || n.is<Reduce>()) return leaves.at(n.token);
  if (n.is<Unary>()) {
    AggValues r = eval_agg(*n.args[0], leaves);
    const DType out = unary_dtype(n, r.values.dtype);
    if (n.as<Unary>().op == UnaryOp::invert) {
      for (auto& v : r.values.i64) v = !v;
    } else {
      for (auto& v : r.values.f64) v = -v;
      for (auto& v : r.values.i64)
        if (v != kMissingInt) v = -v;
    }
    r.values.dtype = out;
    return r;
  }
  const FrameNode& fa = *n.args[0];
  const FrameNode& fb = *n.args[1];
  const BinaryOp op = n.as<Binary>().op;
  AggValues out;
  auto put = [&](double v) {
    if (out.values.dtype == DType::boolean)
      out.values.i64.push_back(static_cast<std::int64_t>(v));
    else
      out.values.f64.push_back(v);
  };
  if (fa.is<Scalar>() || fb.is<Scalar>()) {
    AggValues s = eval_agg(fa.is<Scalar>() ? fb : fa, leaves);
    out.values.dtype = fa.is<Scalar>() ? binary_dtype(n, DType::float64, s.values.dtype)
                                       : binary_dtype(n, s.values.dtype, DType::float64);
    out.index = std::move(s.index);
    for (std::size_t g = 0; g < out.index.size(); ++g)
      put(fa.is<Scalar>() ? apply_op(op, fa.as<Scalar>().value, value_at(s.values, g))
                          : apply_op(op, value_at(s.values, g), fb.as<Scalar>().value));
    return out;
  }
  const AggValues a = eval_agg(fa, leaves), b = eval_agg(fb, leaves);
  const DType dtype = binary_dtype(n, a.values.dtype, b.values.dtype);
  out.values.dtype = dtype == DType::boolean ? DType::boolean : DType::float64;
  out.index.dtype = a.index.dtype;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const bool to_bool = dtype == DType::boolean;
  std::size_t x = 0, y = 0;
  const std::size_t nx = a.index.size(), ny = b.index.size();
  bool aligned = nx == ny;
  while (x < nx || y < ny) {
    const int c = x == nx ? 1 : y == ny ? -1 : compare_keys(a.index, x, b.index, y);
    if (c != 0) aligned = false;
    if (c < 0) {
      push_key(out.index, a.index, x);
      put(to_bool ? apply_op(op, value_at(a.values, x), nan) : nan);
      ++x;
    } else if (c > 0) {
      push_key(out.index, b.index, y);
      put(to_bool ? apply_op(op, nan, value_at(b.values, y)) : nan);
      ++y;
    } else {
      push_key(out.index, a.index, x);
      put(apply_op(op, value_at(a.values, x), value_at(b.values, y)));
      ++x;
      ++y;
    }
  }
  if (dtype == DType::int64 && aligned) {
    // Both int with the same keys: pandas keeps int64.
    out.values.dtype = DType::int64;
    out.values.i64.clear();
    for (std::size_t g = 0; g < nx; ++g) {
      const std::int64_t p = a.values.i64[g], q = b.values.i64[g];
      out.values.i64.push_back(op == BinaryOp::add ? p + q : op == BinaryOp::sub ? p - q : p * q);
    }
    out.values.f64.clear();
  }
  return out;
}

// pandas 1.5's value_counts order: most frequent first, ties in order of first appearance.
void order_by_counts(Table& table, const Partial& partial) {
  std::vector<std::size_t> order(partial.groups());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
    return partial.n[x] != partial.n[y] ? partial.n[x] > partial.n[y] : partial.ia[x] < partial.ia[y];
  });
  auto reorder = [&](Column& c) {
    Column out = c;
    for (std::size_t row = 0; row < order.size(); ++row) {
      if (!c.f64.empty()) out.f64[row] = c.f64[order[row]];
      if (!c.i64.empty()) out.i64[row] = c.i64[order[row]];
      if (!c.str.empty()) out.str[row] = c.str[order[row]];
    }
    c = std::move(out);
  };
  reorder(table.index);
  reorder(table.columns[0]);
  table.index.name.clear();
}

}  // namespace

Table finish_table(const std::vector<SourcePlan>& plans, const FramePtr& root, const std::map<Token, AggSpec>& specs,
                   const Inputs& in) {
  Table table;
  std::map<Token, AggValues> leaves;
  for (std::size_t plan_idx = 0; plan_idx < plans.size(); ++plan_idx) {
    const SourcePlan& plan = plans[plan_idx];
    const BlockResult& r = in.get<BlockResult>(plan_idx);
    check_block_bounds(*plan.src, plan.blocks, r.bounds);
    table.bad_lines.count += r.bad.count;
    for (const auto& w : r.bad.where)
      if (table.bad_lines.where.size() < 10) table.bad_lines.where.push_back(w);
    for (std::size_t agg_idx = 0; agg_idx < plan.aggs.size(); ++agg_idx) {
      AggValues v;
      finish_partial(plan.specs[agg_idx], r.partials[agg_idx], v.index, v.values);
      leaves.emplace(plan.aggs[agg_idx]->token, std::move(v));
    }
    if (plan.rows_output) {
      table.columns = r.rows;
      if (plan.block_index) {
        table.index = std::move(table.columns.back());
        table.columns.pop_back();
        continue;
      }
      const std::size_t rows = table.columns.empty() ? 0 : table.columns[0].size();
      table.index.dtype = DType::int64;
      table.index.i64.resize(rows);
      for (std::size_t row = 0; row < rows; ++row) table.index.i64[row] = static_cast<std::int64_t>(row);
    }
  }
  if (root->level != Level::agg) return table;

  std::vector<FramePtr> aggs;
  collect_aggs(root, aggs);
  const FrameNode& first = *aggs[0];
  AggValues v = eval_agg(*root, leaves);
  table.index = std::move(v.index);
  table.index.name = first.is<GroupAgg>() ? first.args[1]->series_name : std::string();
  v.values.name = root->series_name;
  table.columns.push_back(std::move(v.values));
  if (root->is<Reduce>() && table.rows() == 0) {
    // A reduction always gives one value: 0 rows counted, else missing (NaN).
    const Agg agg = root->as<Reduce>().agg;
    Column& c = table.columns[0];
    table.index.dtype = DType::int64;
    table.index.i64 = {0};
    c.i64.clear();
    c.f64.clear();
    if (agg == Agg::size || agg == Agg::count) {
      c.dtype = DType::int64;
      c.i64 = {0};
    } else {
      c.dtype = DType::float64;
      c.f64 = {std::numeric_limits<double>::quiet_NaN()};
    }
  }
  const AggSpec& first_spec = specs.at(first.token);
  if (!first_spec.levels.empty()) {
    // Several keys: the encoded tuples become one column per key.
    table.levels = decode_keys(table.index.str, first_spec.levels);
    for (std::size_t level = 0; level < table.levels.size(); ++level)
      table.levels[level].name = first.args[level + 1]->series_name;
    table.index = Column{};
    table.index.dtype = DType::int64;
    for (std::size_t row = 0; row < table.columns[0].size(); ++row)
      table.index.i64.push_back(static_cast<std::int64_t>(row));
  }
  if (root->is<GroupAgg>() && root->as<GroupAgg>().value_counts) {
    for (std::size_t plan_idx = 0; plan_idx < plans.size(); ++plan_idx)
      for (std::size_t agg_idx = 0; agg_idx < plans[plan_idx].aggs.size(); ++agg_idx)
        if (plans[plan_idx].aggs[agg_idx]->token == root->token)
          order_by_counts(table, in.get<BlockResult>(plan_idx).partials[agg_idx]);
  }
  return table;
}

}  // namespace rask::detail
