// Evaluation inside one block: the parsed columns, the expression's row series and
// filters over them (each computed once per block, by token), reduced into partial
// tables or kept as the block's rows.
#include "frame/block.hpp"

#include <algorithm>
#include <limits>
#include <unordered_map>

#include "frame/check.hpp"
#include "frame/table.hpp"

namespace rask::detail {

namespace {

constexpr std::int64_t kMissingInt = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kDay = 86400LL * 1000000000LL;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

using ColPtr = std::shared_ptr<const BlockColumn>;

inline double as_double(const BlockColumn& c, std::size_t row) {
  if (c.dtype == DType::float64) return c.f[row];
  const std::int64_t v = c.i[row];
  return v == kMissingInt ? std::numeric_limits<double>::quiet_NaN() : static_cast<double>(v);
}

class BlockEval {
 public:
  BlockEval(const CsvSource& src, const std::vector<int>& wanted, std::vector<BlockColumn> parsed, std::size_t rows)
      : src_(src), wanted_(wanted), parsed_(std::move(parsed)), rows_(rows) {}

  // Row numbers of a frame within the block; nullptr means all rows.
  const std::vector<std::uint32_t>* rows_of(const FrameNode& frame) {
    if (frame.is<ReadCsv>()) return nullptr;
    if (frame.is<Select>()) return rows_of(*frame.args[0]);
    auto it = frames_.find(frame.token);
    if (it != frames_.end()) return &it->second;
    const auto* parent = rows_of(*frame.args[0]);
    const ColPtr mask = series(*frame.args[1]);
    std::vector<std::uint32_t> kept;
    for (std::size_t pos = 0; pos < mask->i.size(); ++pos)
      if (mask->i[pos] == 1) kept.push_back(parent ? (*parent)[pos] : static_cast<std::uint32_t>(pos));
    return &frames_.emplace(frame.token, std::move(kept)).first->second;
  }

  std::size_t frame_rows(const FrameNode& frame) {
    const auto* rows = rows_of(frame);
    return rows ? rows->size() : rows_;
  }

  ColPtr series(const FrameNode& n) {
    auto it = series_.find(n.token);
    if (it != series_.end()) return it->second;
    ColPtr out = compute(n);
    series_.emplace(n.token, out);
    return out;
  }

  // The source column `name`, at the rows of `frame`.
  ColPtr column(const FrameNode& frame, const std::string& name) {
    const int schema = src_.column(name);
    const auto pos = static_cast<std::size_t>(std::find(wanted_.begin(), wanted_.end(), schema) - wanted_.begin());
    const BlockColumn& all = parsed_[pos];
    const auto* rows = rows_of(frame);
    if (!rows) return ColPtr(std::shared_ptr<void>(), &all);  // no copy: the block owns it
    auto c = std::make_shared<BlockColumn>();
    c->dtype = all.dtype;
    c->dict = all.dict;
    for (std::uint32_t r : *rows) {
      if (all.dtype == DType::float64)
        c->f.push_back(all.f[r]);
      else if (all.dtype == DType::string)
        c->codes.push_back(all.codes[r]);
      else
        c->i.push_back(all.i[r]);
    }
    return c;
  }

 private:
  ColPtr compute(const FrameNode& n) {
    if (n.is<GetColumn>()) return column(*n.args[0], n.as<GetColumn>().column);
    if (n.is<Dt>()) return dt(n.as<Dt>(), *series(*n.args[0]));
    if (n.is<Unary>()) return unary(n.as<Unary>().op, *series(*n.args[0]));
    if (n.is<Binary>()) return binary(n);
    throw Error("internal: cannot evaluate this node per row");
  }

  static ColPtr unary(UnaryOp op, const BlockColumn& in) {
    auto c = std::make_shared<BlockColumn>();
    if (op == UnaryOp::invert) {
      c->dtype = DType::boolean;
      for (std::int64_t v : in.i) c->i.push_back(!v);
    } else if (in.dtype == DType::float64) {
      for (double v : in.f) c->f.push_back(-v);
    } else {
      c->dtype = DType::int64;
      for (std::int64_t v : in.i) c->i.push_back(v == kMissingInt ? v : -v);
    }
    return c;
  }

  static ColPtr dt(const Dt& field, const BlockColumn& in) {
    auto c = std::make_shared<BlockColumn>();
    const bool floor = field.field == DtField::floor || field.field == DtField::date;
    c->dtype = floor ? DType::timestamp : DType::int64;
    c->i.resize(in.i.size());
    const std::int64_t unit = field.field == DtField::floor ? field.unit_ns : kDay;
    std::int64_t cached_day = kMissingInt, y = 0;
    unsigned m = 0, d = 0;
    for (std::size_t row = 0; row < in.i.size(); ++row) {
      const std::int64_t ns = in.i[row];
      if (ns == kMissingInt) {
        c->i[row] = kMissingInt;
        continue;
      }
      const std::int64_t day = floor_div(ns, kDay);
      const std::int64_t in_day = ns - day * kDay;
      std::int64_t v;
      switch (field.field) {
        case DtField::floor:
        case DtField::date:
          v = floor_div(ns, unit) * unit;
          break;
        case DtField::hour:
          v = in_day / 3600000000000LL;
          break;
        case DtField::minute:
          v = in_day / 60000000000LL % 60;
          break;
        case DtField::second:
          v = in_day / 1000000000LL % 60;
          break;
        case DtField::dayofweek:
          v = ((day + 3) % 7 + 7) % 7;
          break;  // 1970-01-01 was a Thursday (3)
        default:
          if (day != cached_day) {
            civil_from_days(day, y, m, d);
            cached_day = day;
          }
          v = field.field == DtField::year ? y : field.field == DtField::month ? m : d;
      }
      c->i[row] = v;
    }
    return c;
  }

  ColPtr binary(const FrameNode& n) {
    const FrameNode& fa = *n.args[0];
    const FrameNode& fb = *n.args[1];
    const bool sa = fa.is<Scalar>(), sb = fb.is<Scalar>();
    ColPtr a = sa ? nullptr : series(fa);
    ColPtr b = sb ? nullptr : series(fb);
    const std::size_t rows = a ? a->size() : b->size();
    const DType da = a ? a->dtype : DType::float64, db = b ? b->dtype : DType::float64;
    auto c = std::make_shared<BlockColumn>();
    c->dtype = binary_dtype(n, da, db);
    const BinaryOp op = n.as<Binary>().op;
    if (c->dtype == DType::int64 ||
        (c->dtype == DType::boolean && (op == BinaryOp::logical_and || op == BinaryOp::logical_or))) {
      c->i.resize(rows);
      for (std::size_t row = 0; row < rows; ++row) {
        const std::int64_t x = a->i[row], y = b->i[row];
        if (op == BinaryOp::logical_and)
          c->i[row] = x & y;
        else if (op == BinaryOp::logical_or)
          c->i[row] = x | y;
        else if (x == kMissingInt || y == kMissingInt)
          c->i[row] = kMissingInt;
        else
          c->i[row] = op == BinaryOp::add ? x + y : op == BinaryOp::sub ? x - y : x * y;
      }
      return c;
    }
    auto value = [&](const ColPtr& col, double scalar, std::size_t row) { return col ? as_double(*col, row) : scalar; };
    const double xa = sa ? fa.as<Scalar>().value : 0, xb = sb ? fb.as<Scalar>().value : 0;
    if (c->dtype == DType::boolean) {
      c->i.resize(rows);
      for (std::size_t row = 0; row < rows; ++row) {
        const double x = value(a, xa, row), y = value(b, xb, row);
        bool r;
        switch (op) {
          case BinaryOp::gt:
            r = x > y;
            break;
          case BinaryOp::ge:
            r = x >= y;
            break;
          case BinaryOp::lt:
            r = x < y;
            break;
          case BinaryOp::le:
            r = x <= y;
            break;
          case BinaryOp::eq:
            r = x == y;
            break;
          default:
            r = x != y;
            break;
        }
        c->i[row] = r;
      }
      return c;
    }
    c->f.resize(rows);
    for (std::size_t row = 0; row < rows; ++row) {
      const double x = value(a, xa, row), y = value(b, xb, row);
      c->f[row] = op == BinaryOp::add ? x + y : op == BinaryOp::sub ? x - y : op == BinaryOp::mul ? x * y : x / y;
    }
    return c;
  }

  const CsvSource& src_;
  const std::vector<int>& wanted_;
  std::vector<BlockColumn> parsed_;
  std::size_t rows_;
  std::unordered_map<Token, std::vector<std::uint32_t>> frames_;
  std::unordered_map<Token, ColPtr> series_;
};

}  // namespace

BlockResult merge_results(const SourcePlan& plan, const Inputs& in) {
  BlockResult out = in.get<BlockResult>(0);
  for (std::size_t input_idx = 1; input_idx < in.size(); ++input_idx) {
    const BlockResult& next = in.get<BlockResult>(input_idx);
    for (std::size_t agg_idx = 0; agg_idx < out.partials.size(); ++agg_idx)
      out.partials[agg_idx] = merge_partials(plan.specs[agg_idx], out.partials[agg_idx], next.partials[agg_idx]);
    for (std::size_t col = 0; col < out.rows.size(); ++col) append_column(out.rows[col], Column(next.rows[col]));
    out.bounds.insert(out.bounds.end(), next.bounds.begin(), next.bounds.end());
    out.bad.count += next.bad.count;
    for (const auto& w : next.bad.where)
      if (out.bad.where.size() < 10) out.bad.where.push_back(w);
  }
  return out;
}

BlockResult run_block(const SourcePlan& plan, const CsvBlock& block, std::size_t block_index) {
  ScanStats stats;
  auto parsed = scan_block(*plan.src, block, plan.wanted, stats);
  BlockEval eval(*plan.src, plan.wanted, std::move(parsed), stats.rows);
  BlockResult out;
  for (std::size_t agg_idx = 0; agg_idx < plan.aggs.size(); ++agg_idx) {
    const FrameNode& leaf = *plan.aggs[agg_idx];
    ColPtr keys, values;
    if (leaf.is<Reduce>()) {
      const FrameNode& in = *leaf.args[0];
      if (in.level == Level::row) values = eval.series(in);
      auto zeros = std::make_shared<BlockColumn>();
      zeros->dtype = DType::int64;
      zeros->i.assign(values ? values->size() : eval.frame_rows(in), 0);
      keys = std::move(zeros);
    } else {
      const std::string& column = leaf.as<GroupAgg>().column;
      if (leaf.args.size() > 2) {
        std::vector<ColPtr> parts;
        std::vector<const BlockColumn*> raw;
        for (std::size_t key_idx = 1; key_idx < leaf.args.size(); ++key_idx) {
          parts.push_back(eval.series(*leaf.args[key_idx]));
          raw.push_back(parts.back().get());
        }
        keys = std::make_shared<const BlockColumn>(encode_keys(raw));
      } else {
        keys = eval.series(*leaf.args[1]);
      }
      values = column.empty() ? nullptr : eval.column(*leaf.args[0], column);
    }
    if (values && values->dtype == DType::string) {
      // Only count takes strings: present or missing is all it needs, so the codes do.
      auto codes = std::make_shared<BlockColumn>();
      codes->dtype = DType::int64;
      for (std::int32_t code : values->codes) codes->i.push_back(code < 0 ? kMissingInt : code);
      values = std::move(codes);
    }
    out.partials.push_back(aggregate_block(plan.specs[agg_idx], *keys, values.get(), block_index));
  }
  if (plan.rows_output) {
    const FrameNode& o = *plan.rows_output;
    if (o.level == Level::frame) {
      for (const auto& name : plan.output_names) out.rows.push_back(to_column(*eval.column(o, name), name));
    } else {
      out.rows.push_back(to_column(*eval.series(o), o.series_name));
    }
    if (plan.block_index) {
      // Dask's partitions each start their index at 0: the row's place in its block,
      // kept through filters. Travels as a last column; the final task makes it the index.
      Column index;
      index.dtype = DType::int64;
      if (const auto* rows = eval.rows_of(frame_of(o)))
        index.i64.assign(rows->begin(), rows->end());
      else
        for (std::size_t row = 0; row < stats.rows; ++row) index.i64.push_back(static_cast<std::int64_t>(row));
      out.rows.push_back(std::move(index));
    }
  }
  out.bounds.push_back(stats.start);
  out.bounds.push_back(stats.end);
  out.bad = std::move(stats.bad);
  return out;
}

}  // namespace rask::detail
