// Lowering: a frame expression becomes, on every rank alike,
//
//   block 0   block 1   ...   block n-1     parse the wanted columns, filter, reduce
//   (pinned to ranks by a byte-balanced split of all files)
//       \       |       /
//        merge (fan-in 8)   ...              fixed tree over block indices
//              |
//            final                            finish aggregations, align, check quotes
//
// Only the partial tables (a few keys each) cross ranks for an aggregation; a row
// output (a frame or a column) travels whole to rank 0.
#include "frame/lower.hpp"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>
#include <map>
#include <numeric>
#include <unordered_map>

#include "frame/csv.hpp"
#include "frame/groupby.hpp"
#include "rask/graph.hpp"
#include "rask/runtime.hpp"

namespace rask {


std::size_t Column::size() const noexcept {
  return dtype == DType::float64 ? f64.size() : dtype == DType::string ? str.size() : i64.size();
}

const Column& Table::operator[](std::string_view name) const {
  std::string names;
  for (const auto& c : columns) {
    if (c.name == name) return c;
    names += (names.empty() ? "" : ", ") + c.name;
  }
  throw InputError("the table has no column '" + std::string(name) + "' (it has: " + names + ")");
}

namespace detail {

namespace {

constexpr std::int64_t kMissingInt = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kDay = 86400LL * 1000000000LL;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

bool is_comparison(const std::string& op) {
  return op == ">" || op == ">=" || op == "<" || op == "<=" || op == "==" || op == "!=";
}
bool int_like(DType d) { return d == DType::int64 || d == DType::boolean; }

std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// ---- Type checking (every rank, before any task runs: errors are collective) ----

struct Checker {
  const CsvSource& src;

  std::vector<std::string> columns(const FrameNode& frame) {
    switch (frame.op) {
      case NodeOp::read_csv:
        return src.names;
      case NodeOp::select: {
        const auto parent = columns(*frame.args[0]);
        for (const auto& n : frame.names) need(parent, n);
        return frame.names;
      }
      case NodeOp::filter: {
        const DType mask = dtype(*frame.args[1]);
        if (mask != DType::boolean)
          throw InputError("df[mask]: the mask '" + frame.args[1]->series_name + "' is " + dtype_name(mask) +
                           ", not bool\nPossible fixes:\n  * use a comparison, e.g. df[df[\"close\"] > 50.0]");
        return columns(*frame.args[0]);
      }
      default:
        return {};
    }
  }

  void need(const std::vector<std::string>& have, const std::string& name) {
    if (std::find(have.begin(), have.end(), name) == have.end())
      throw InputError("column '" + name + "' not found in " + src.description +
                       "; the frame has columns: " + quoted_list(have) +
                       "\nPossible fixes:\n  * check the spelling (names match the header "
                       "exactly, case included)\n  * if usecols= or a column selection left it out, add it there");
  }

  DType dtype(const FrameNode& n) {
    switch (n.op) {
      case NodeOp::column: {
        need(columns(*n.args[0]), n.name);
        return src.dtypes[src.column(n.name)];
      }
      case NodeOp::scalar:
        return DType::float64;
      case NodeOp::dt: {
        const DType in = dtype(*n.args[0]);
        if (in != DType::timestamp)
          throw InputError(".dt()." + n.name + "(): '" + n.args[0]->series_name + "' is " + dtype_name(in) +
                           ", not a timestamp\nPossible fixes:\n  * read_csv(..., {.parse_dates = {\"" +
                           n.args[0]->series_name + "\"}})");
        return n.name.rfind("floor_", 0) == 0 ? DType::timestamp : DType::int64;
      }
      case NodeOp::unary: {
        const DType in = dtype(*n.args[0]);
        if (n.name == "~") {
          if (in != DType::boolean)
            throw InputError("~ needs a bool series; '" + n.args[0]->series_name + "' is " + dtype_name(in));
          return DType::boolean;
        }
        if (in == DType::string || in == DType::timestamp)
          throw InputError("cannot negate '" + n.args[0]->series_name + "' (" + dtype_name(in) + ")");
        return in == DType::boolean ? DType::int64 : in;
      }
      case NodeOp::binary: {
        const DType a = dtype(*n.args[0]), b = dtype(*n.args[1]);
        return binary_dtype(n, a, b);
      }
      default:
        throw InputError("internal: a frame used as a series");
    }
  }

  static DType binary_dtype(const FrameNode& n, DType a, DType b) {
    const bool scalar_a = n.args[0]->op == NodeOp::scalar, scalar_b = n.args[1]->op == NodeOp::scalar;
    const std::string where = "'" + n.args[0]->series_name + "' " + n.name + " '" + n.args[1]->series_name + "'";
    if (a == DType::string || b == DType::string)
      throw InputError("cannot apply " + n.name + " to a string column (" + where + ")");
    if (n.name == "&" || n.name == "|") {
      if (a != DType::boolean || b != DType::boolean)
        throw InputError(n.name + " needs two bool series (" + where + ")");
      return DType::boolean;
    }
    if (is_comparison(n.name)) return DType::boolean;
    if (a == DType::timestamp || b == DType::timestamp) {
      if (n.name == "-" && a == DType::timestamp && b == DType::timestamp) return DType::int64;
      throw InputError("arithmetic on timestamps supports only timestamp - timestamp (nanoseconds); got " + where);
    }
    if (n.name != "/" && !scalar_a && !scalar_b && int_like(a) && int_like(b)) return DType::int64;
    return DType::float64;
  }
};

// ---- Evaluation inside one block ----

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
    if (frame.op == NodeOp::read_csv) return nullptr;
    if (frame.op == NodeOp::select) return rows_of(*frame.args[0]);
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
    switch (n.op) {
      case NodeOp::column:
        return column(*n.args[0], n.name);
      case NodeOp::dt:
        return dt(n.name, *series(*n.args[0]));
      case NodeOp::unary: {
        const ColPtr in = series(*n.args[0]);
        auto c = std::make_shared<BlockColumn>();
        if (n.name == "~") {
          c->dtype = DType::boolean;
          for (std::int64_t v : in->i) c->i.push_back(!v);
        } else if (in->dtype == DType::float64) {
          for (double v : in->f) c->f.push_back(-v);
        } else {
          c->dtype = DType::int64;
          for (std::int64_t v : in->i) c->i.push_back(v == kMissingInt ? v : -v);
        }
        return c;
      }
      case NodeOp::binary:
        return binary(n);
      default:
        throw Error("internal: cannot evaluate this node per row");
    }
  }

  ColPtr dt(const std::string& field, const BlockColumn& in) {
    auto c = std::make_shared<BlockColumn>();
    c->dtype = field.rfind("floor_", 0) == 0 ? DType::timestamp : DType::int64;
    c->i.resize(in.i.size());
    std::int64_t unit = kDay;
    if (field == "floor_h")
      unit = 3600LL * 1000000000LL;
    else if (field == "floor_min")
      unit = 60LL * 1000000000LL;
    else if (field == "floor_s")
      unit = 1000000000LL;
    // Decoded once, not per row.
    enum class Field { floor, hour, minute, second, dayofweek, year, month, day };
    const Field kind = c->dtype == DType::timestamp ? Field::floor
                       : field == "hour"            ? Field::hour
                       : field == "minute"          ? Field::minute
                       : field == "second"          ? Field::second
                       : field == "dayofweek"       ? Field::dayofweek
                       : field == "year"            ? Field::year
                       : field == "month"           ? Field::month
                                                    : Field::day;
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
      switch (kind) {
        case Field::floor:
          v = floor_div(ns, unit) * unit;
          break;
        case Field::hour:
          v = in_day / 3600000000000LL;
          break;
        case Field::minute:
          v = in_day / 60000000000LL % 60;
          break;
        case Field::second:
          v = in_day / 1000000000LL % 60;
          break;
        case Field::dayofweek:
          v = ((day + 3) % 7 + 7) % 7;
          break;  // 1970-01-01 was a Thursday (3)
        default:
          if (day != cached_day) {
            civil_from_days(day, y, m, d);
            cached_day = day;
          }
          v = kind == Field::year ? y : kind == Field::month ? m : d;
      }
      c->i[row] = v;
    }
    return c;
  }

  ColPtr binary(const FrameNode& n) {
    const FrameNode& fa = *n.args[0];
    const FrameNode& fb = *n.args[1];
    const bool sa = fa.op == NodeOp::scalar, sb = fb.op == NodeOp::scalar;
    ColPtr a = sa ? nullptr : series(fa);
    ColPtr b = sb ? nullptr : series(fb);
    const std::size_t rows = a ? a->size() : b->size();
    const DType da = a ? a->dtype : DType::float64, db = b ? b->dtype : DType::float64;
    auto c = std::make_shared<BlockColumn>();
    c->dtype = Checker::binary_dtype(n, da, db);
    const std::string& op = n.name;
    if (c->dtype == DType::int64 || (c->dtype == DType::boolean && (op == "&" || op == "|"))) {
      c->i.resize(rows);
      const char code = op == "&" ? '&' : op == "|" ? '|' : op[0];
      for (std::size_t row = 0; row < rows; ++row) {
        const std::int64_t x = a->i[row], y = b->i[row];
        if (code == '&')
          c->i[row] = x & y;
        else if (code == '|')
          c->i[row] = x | y;
        else if (x == kMissingInt || y == kMissingInt)
          c->i[row] = kMissingInt;
        else
          c->i[row] = code == '+' ? x + y : code == '-' ? x - y : x * y;
      }
      return c;
    }
    auto value = [&](const ColPtr& col, double scalar, std::size_t row) { return col ? as_double(*col, row) : scalar; };
    const double xa = fa.value, xb = fb.value;
    if (c->dtype == DType::boolean) {
      c->i.resize(rows);
      int kind = op == ">" ? 0 : op == ">=" ? 1 : op == "<" ? 2 : op == "<=" ? 3 : op == "==" ? 4 : 5;
      for (std::size_t row = 0; row < rows; ++row) {
        const double x = value(a, xa, row), y = value(b, xb, row);
        bool r;
        switch (kind) {
          case 0:
            r = x > y;
            break;
          case 1:
            r = x >= y;
            break;
          case 2:
            r = x < y;
            break;
          case 3:
            r = x <= y;
            break;
          case 4:
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
    const int kind = op == "+" ? 0 : op == "-" ? 1 : op == "*" ? 2 : 3;
    for (std::size_t row = 0; row < rows; ++row) {
      const double x = value(a, xa, row), y = value(b, xb, row);
      c->f[row] = kind == 0 ? x + y : kind == 1 ? x - y : kind == 2 ? x * y : x / y;
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

Column to_column(const BlockColumn& b, std::string name) {
  Column c;
  c.name = std::move(name);
  c.dtype = b.dtype;
  c.f64 = b.f;
  c.i64 = b.i;
  if (b.dtype == DType::string) {
    c.str.reserve(b.codes.size());
    for (std::int32_t code : b.codes)
      c.str.push_back(code < 0 ? std::string() : b.dict[static_cast<std::size_t>(code)]);
  }
  return c;
}

void append_column(Column& out, Column&& in) {
  out.f64.insert(out.f64.end(), in.f64.begin(), in.f64.end());
  out.i64.insert(out.i64.end(), in.i64.begin(), in.i64.end());
  out.str.insert(out.str.end(), std::make_move_iterator(in.str.begin()), std::make_move_iterator(in.str.end()));
}

}  // namespace

// What a block task returns, and a merge task too (a subtree of blocks, in order).
struct BlockResult {
  std::vector<Partial> partials;     // one per aggregation of this source
  std::vector<Column> rows;          // a row output's columns (empty otherwise)
  std::vector<std::int64_t> bounds;  // start and end of each block, in block order
  BadLines bad;
};

}  // namespace detail

template <>
struct Serializer<detail::BlockResult> {
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

namespace detail {

namespace {

struct SourcePlan {
  std::shared_ptr<const CsvSource> src;
  std::vector<CsvBlock> blocks;
  std::vector<int> wanted;
  std::vector<FramePtr> aggs;
  std::vector<AggSpec> specs;
  FramePtr rows_output;                   // a frame or row series, or null
  std::vector<std::string> output_names;  // its columns
  std::string root_key;                   // the merge tree's root task
  bool block_index = false;               // index rows by their place in their block
};

// The frame a row series takes its rows from.
const FrameNode& frame_of(const FrameNode& n) {
  if (n.level == Level::frame) return n;
  for (const auto& a : n.args)
    if (a->level == Level::frame || a->level == Level::row) return frame_of(*a);
  throw InputError("internal: a row series without a frame");
}

void collect_aggs(const FramePtr& n, std::vector<FramePtr>& out) {
  if (n->op == NodeOp::agg || n->op == NodeOp::reduce) {
    if (std::none_of(out.begin(), out.end(), [&](const FramePtr& o) { return o->token == n->token; })) out.push_back(n);
    return;
  }
  for (const auto& a : n->args) collect_aggs(a, out);
}

// Source columns a row node needs.
void collect_columns(const FrameNode& n, const CsvSource& src, std::vector<int>& wanted) {
  auto add = [&](const std::string& name) {
    const int col = src.column(name);
    if (col >= 0 && std::find(wanted.begin(), wanted.end(), col) == wanted.end()) wanted.push_back(col);
  };
  if (n.op == NodeOp::column) add(n.name);
  if (n.op == NodeOp::agg && !n.column.empty()) add(n.column);
  for (const auto& a : n.args) collect_columns(*a, src, wanted);
}

std::string hex(Token t) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, t);
  return buf;
}

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
    if (leaf.op == NodeOp::reduce) {
      const FrameNode& in = *leaf.args[0];
      if (in.level == Level::row) values = eval.series(in);
      auto zeros = std::make_shared<BlockColumn>();
      zeros->dtype = DType::int64;
      zeros->i.assign(values ? values->size() : eval.frame_rows(in), 0);
      keys = std::move(zeros);
    } else if (leaf.args.size() > 2) {
      std::vector<ColPtr> parts;
      std::vector<const BlockColumn*> raw;
      for (std::size_t key_idx = 1; key_idx < leaf.args.size(); ++key_idx) {
        parts.push_back(eval.series(*leaf.args[key_idx]));
        raw.push_back(parts.back().get());
      }
      keys = std::make_shared<const BlockColumn>(encode_keys(raw));
      values = leaf.column.empty() ? nullptr : eval.column(*leaf.args[0], leaf.column);
    } else {
      keys = eval.series(*leaf.args[1]);
      values = leaf.column.empty() ? nullptr : eval.column(*leaf.args[0], leaf.column);
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

double apply_op(const std::string& op, double x, double y) {
  if (op == "+") return x + y;
  if (op == "-") return x - y;
  if (op == "*") return x * y;
  if (op == "/") return x / y;
  if (op == ">") return x > y;
  if (op == ">=") return x >= y;
  if (op == "<") return x < y;
  if (op == "<=") return x <= y;
  if (op == "==") return x == y;
  if (op == "!=") return x != y;
  if (op == "&") return (x != 0) && (y != 0);
  return (x != 0) || (y != 0);
}

AggValues eval_agg(const FrameNode& n, const std::map<Token, AggValues>& leaves) {
  if (n.op == NodeOp::agg || n.op == NodeOp::reduce) return leaves.at(n.token);
  if (n.op == NodeOp::unary) {
    AggValues r = eval_agg(*n.args[0], leaves);
    if (n.name == "~") {
      for (auto& v : r.values.i64) v = !v;
    } else {
      for (auto& v : r.values.f64) v = -v;
      for (auto& v : r.values.i64)
        if (v != kMissingInt) v = -v;
    }
    return r;
  }
  // binary
  const FrameNode& fa = *n.args[0];
  const FrameNode& fb = *n.args[1];
  const std::string& op = n.name;
  const bool to_bool = is_comparison(op) || op == "&" || op == "|";
  AggValues out;
  out.values.dtype = to_bool ? DType::boolean : DType::float64;
  auto put = [&](double v) {
    if (to_bool)
      out.values.i64.push_back(static_cast<std::int64_t>(v));
    else
      out.values.f64.push_back(v);
  };
  if (fa.op == NodeOp::scalar || fb.op == NodeOp::scalar) {
    AggValues s = eval_agg(fa.op == NodeOp::scalar ? fb : fa, leaves);
    out.index = std::move(s.index);
    for (std::size_t g = 0; g < out.index.size(); ++g)
      put(fa.op == NodeOp::scalar ? apply_op(op, fa.value, value_at(s.values, g))
                                  : apply_op(op, value_at(s.values, g), fb.value));
    return out;
  }
  const AggValues a = eval_agg(fa, leaves), b = eval_agg(fb, leaves);
  out.index.dtype = a.index.dtype;
  const bool ints = !to_bool && op != "/" && a.values.dtype == DType::int64 && b.values.dtype == DType::int64;
  const double nan = std::numeric_limits<double>::quiet_NaN();
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
  if (ints && aligned) {
    // Both int64 with the same keys: pandas keeps int64.
    out.values.dtype = DType::int64;
    out.values.i64.clear();
    for (std::size_t g = 0; g < nx; ++g) {
      const std::int64_t p = a.values.i64[g], q = b.values.i64[g];
      out.values.i64.push_back(op == "+" ? p + q : op == "-" ? p - q : p * q);
    }
    out.values.f64.clear();
  }
  return out;
}

// The type of a groupby result's keys, as text ("int64", or "(object, int64)" for several).
std::string agg_key_dtype(const FrameNode& n, const std::map<Token, AggSpec>& specs) {
  if (n.op == NodeOp::agg || n.op == NodeOp::reduce) {
    const AggSpec& spec = specs.at(n.token);
    if (spec.levels.empty()) return dtype_name(spec.key_dtype);
    std::string out;
    for (DType d : spec.levels) out += (out.empty() ? "(" : ", ") + dtype_name(d);
    return out + ")";
  }
  std::string found;
  for (const auto& a : n.args) {
    if (a->level != Level::agg) continue;
    const std::string d = agg_key_dtype(*a, specs);
    if (!found.empty() && d != found)
      throw InputError("cannot align groupby results keyed by " + found + " and by " + d + " in '" + n.name + "'");
    found = d;
  }
  return found;
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
      Checker check{*p.src};
      AggSpec spec;
      spec.agg = parse_agg(leaf->name == "value_counts" ? "size" : leaf->name);
      spec.first_seen = leaf->name == "value_counts";
      if (leaf->op == NodeOp::reduce) {
        // One group (key 0) over the whole column, or the frame's rows for size.
        spec.key_dtype = DType::int64;
        if (leaf->args[0]->level == Level::frame)
          check.columns(*leaf->args[0]);
        else
          spec.value_dtype = check.dtype(*leaf->args[0]);
        if (spec.value_dtype == DType::string && spec.agg == Agg::count)
          spec.value_dtype = DType::int64;  // counted by their codes; see run_block
        else if (spec.value_dtype == DType::string ||
                 (spec.value_dtype == DType::timestamp &&
                  (spec.agg == Agg::sum || spec.agg == Agg::mean || spec.agg == Agg::std || spec.agg == Agg::var)))
          throw InputError("'" + leaf->series_name + "'." + leaf->name + "(): the column is " +
                           dtype_name(spec.value_dtype) + "; " + leaf->name + " needs numbers");
      } else if (leaf->args.size() > 2) {
        spec.key_dtype = DType::string;  // encoded tuples, decoded into Table::levels at the end
        for (std::size_t key_idx = 1; key_idx < leaf->args.size(); ++key_idx)
          spec.levels.push_back(check.dtype(*leaf->args[key_idx]));
      } else {
        spec.key_dtype = check.dtype(*leaf->args[1]);
      }
      if (leaf->op == NodeOp::agg && !leaf->column.empty()) {
        check.need(check.columns(*leaf->args[0]), leaf->column);
        spec.value_dtype = p.src->dtypes[p.src->column(leaf->column)];
        const bool numeric = spec.value_dtype != DType::string && spec.value_dtype != DType::timestamp;
        if (spec.value_dtype == DType::string && spec.agg == Agg::count)
          spec.value_dtype = DType::int64;  // counted by their codes; see run_block
        else if (!numeric && (spec.agg == Agg::sum || spec.agg == Agg::mean || spec.agg == Agg::std ||
                              spec.agg == Agg::var || spec.value_dtype == DType::string))
          throw InputError("groupby(...)[\"" + leaf->column + "\"]." + leaf->name + "(): the column is " +
                           dtype_name(spec.value_dtype) + "; " + leaf->name + " needs numbers");
      }
      p.aggs.push_back(leaf);
      p.specs.push_back(spec);
      spec_of.emplace(leaf->token, spec);
      collect_columns(*leaf, *p.src, p.wanted);
    }
    agg_key_dtype(*root, spec_of);
  } else {
    SourcePlan& p = plan_for(*root);
    Checker check{*p.src};
    p.rows_output = root;
    p.block_index = block_index;
    if (root->level == Level::frame) {
      p.output_names = check.columns(*root);
      for (const auto& name : p.output_names) p.wanted.push_back(p.src->column(name));
    } else {
      check.dtype(*root);
    }
    collect_columns(*root, *p.src, p.wanted);
  }
  // Masks of filters along every frame chain need their columns too.
  for (auto& p : plans) {
    for (const auto& a : p.aggs) {
      Checker{*p.src}.columns(*a->args[0]);
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
  const TaskId final_id = graph.add<Table>(
      "frame-" + hex(root->token), roots,
      [shared_plans, root, spec_of](const Inputs& in) {
        Table table;
        std::map<Token, AggValues> leaves;
        for (std::size_t plan_idx = 0; plan_idx < shared_plans->size(); ++plan_idx) {
          const SourcePlan& plan = (*shared_plans)[plan_idx];
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
        if (root->level == Level::agg) {
          AggValues v = eval_agg(*root, leaves);
          table.index = std::move(v.index);
          table.index.name = [&] {
            std::vector<FramePtr> aggs;
            collect_aggs(root, aggs);
            return aggs[0]->op == NodeOp::agg ? aggs[0]->args[1]->series_name : std::string();
          }();
          v.values.name = root->series_name;
          table.columns.push_back(std::move(v.values));
          std::vector<FramePtr> aggs;
          collect_aggs(root, aggs);
          const AggSpec& first_spec = spec_of.at(aggs[0]->token);
          if (!first_spec.levels.empty()) {
            // Several keys: the encoded tuples become one column per key.
            table.levels = decode_keys(table.index.str, first_spec.levels);
            for (std::size_t level = 0; level < table.levels.size(); ++level)
              table.levels[level].name = aggs[0]->args[level + 1]->series_name;
            table.index = Column{};
            table.index.dtype = DType::int64;
            for (std::size_t row = 0; row < table.columns[0].size(); ++row)
              table.index.i64.push_back(static_cast<std::int64_t>(row));
          }
          if (root->op == NodeOp::agg && root->name == "value_counts") {
            // pandas 1.5's order: most frequent first, ties in order of first appearance.
            const Partial* partial = nullptr;
            for (std::size_t plan_idx = 0; plan_idx < shared_plans->size(); ++plan_idx)
              for (std::size_t agg_idx = 0; agg_idx < (*shared_plans)[plan_idx].aggs.size(); ++agg_idx)
                if ((*shared_plans)[plan_idx].aggs[agg_idx]->token == root->token)
                  partial = &in.get<BlockResult>(plan_idx).partials[agg_idx];
            std::vector<std::size_t> order(partial->groups());
            std::iota(order.begin(), order.end(), 0);
            std::sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
              return partial->n[x] != partial->n[y] ? partial->n[x] > partial->n[y] : partial->ia[x] < partial->ia[y];
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
        }
        return table;
      },
      TaskOptions{.cost = 1e-4});
  return final_id;
}

void warn_bad_lines(const FramePtr& root, const Table& table) {
  if (!table.bad_lines.count) return;
  std::vector<const FrameNode*> stack{root.get()};
  bool warn = false;
  while (!stack.empty() && !warn) {
    const FrameNode* n = stack.back();
    stack.pop_back();
    warn = n->op == NodeOp::read_csv && n->options.on_bad_lines == "warn";
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

Schema describe(const FramePtr& root, const CsvSource& source) {
  Checker check{source};
  Schema schema;
  if (root->level == Level::frame) {
    schema.names = check.columns(*root);
    for (const auto& name : schema.names) schema.dtypes.push_back(source.dtypes[source.column(name)]);
  } else if (root->level == Level::row) {
    schema.names.push_back(root->series_name);
    schema.dtypes.push_back(check.dtype(*root));
  } else {
    throw InputError("internal: describe() takes a frame or a row series");
  }
  return schema;
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

}  // namespace detail

std::optional<Table> DataFrame::compute(Where where) const { return detail::compute_table(node_, where); }
std::optional<Table> Series::compute(Where where) const { return detail::compute_table(node_, where); }

namespace {
void keep_rows(Table& t, std::size_t n) {
  const std::size_t keep = std::min(n, t.rows());
  auto cut = [&](Column& c) {
    c.f64.resize(std::min(c.f64.size(), keep));
    c.i64.resize(std::min(c.i64.size(), keep));
    c.str.resize(std::min(c.str.size(), keep));
  };
  cut(t.index);
  for (auto& c : t.columns) cut(c);
}

// Dask's head reads the first partition only; this reads the first block, then 4, 16, ...
// blocks until it has n rows or has read everything (every rank learns the count, so all
// agree when to stop).
std::optional<Table> head_table(const detail::FramePtr& root, std::size_t n, Where where) {
  if (root->level == detail::Level::agg) {
    auto t = detail::compute_table(root, where);
    if (t) keep_rows(*t, n);
    return t;
  }
  for (std::size_t blocks = 1;; blocks *= 4) {
    bool all = false;
    auto t = detail::compute_table(root, Where::all, blocks, &all);
    if (t->rows() >= n || all) {
      keep_rows(*t, n);
      if (where == Where::root && Runtime::current().rank() != 0) return std::nullopt;
      return t;
    }
  }
}
}  // namespace

std::optional<Table> DataFrame::head(std::size_t n, Where where) const { return head_table(node_, n, where); }
std::optional<Table> Series::head(std::size_t n, Where where) const { return head_table(node_, n, where); }

}  // namespace rask
