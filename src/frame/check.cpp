// Type checking (every rank, before any task runs: errors are collective), and the
// result types the job scripts ask for.
#include "frame/check.hpp"

#include <algorithm>

namespace rask::detail {

namespace {

bool int_like(DType d) { return d == DType::int64 || d == DType::boolean; }

std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

bool numeric_agg(Agg agg) { return agg == Agg::sum || agg == Agg::mean || agg == Agg::std || agg == Agg::var; }

}  // namespace

std::vector<std::string> frame_columns(const FrameNode& frame, const CsvSource& src) {
  if (frame.is<ReadCsv>()) return src.names;
  if (frame.is<Select>()) {
    const auto parent = frame_columns(*frame.args[0], src);
    const auto& names = frame.as<Select>().columns;
    for (const auto& n : names) need_column(parent, n, src);
    return names;
  }
  if (frame.is<Filter>()) {
    const DType mask = row_dtype(*frame.args[1], src);
    if (mask != DType::boolean)
      throw InputError("df[mask]: the mask '" + frame.args[1]->series_name + "' is " + dtype_name(mask) +
                       ", not bool\nPossible fixes:\n  * use a comparison, e.g. df[df[\"close\"] > 50.0]");
    return frame_columns(*frame.args[0], src);
  }
  return {};
}

void need_column(const std::vector<std::string>& have, const std::string& name, const CsvSource& src) {
  if (std::find(have.begin(), have.end(), name) == have.end())
    throw InputError("column '" + name + "' not found in " + src.description +
                     "; the frame has columns: " + quoted_list(have) +
                     "\nPossible fixes:\n  * check the spelling (names match the header "
                     "exactly, case included)\n  * if usecols= or a column selection left it out, add it there");
}

DType row_dtype(const FrameNode& n, const CsvSource& src) {
  if (n.is<GetColumn>()) {
    const std::string& column = n.as<GetColumn>().column;
    need_column(frame_columns(*n.args[0], src), column, src);
    return src.dtypes[src.column(column)];
  }
  if (n.is<Scalar>()) return DType::float64;
  if (n.is<Dt>()) {
    const DType in = row_dtype(*n.args[0], src);
    const Dt& dt = n.as<Dt>();
    if (in != DType::timestamp)
      throw InputError(".dt()." + std::string(dt_field_name(dt.field)) + "(): '" + n.args[0]->series_name + "' is " +
                       dtype_name(in) + ", not a timestamp\nPossible fixes:\n  * read_csv(..., {.parse_dates = {\"" +
                       n.args[0]->series_name + "\"}})");
    return dt.field == DtField::floor || dt.field == DtField::date ? DType::timestamp : DType::int64;
  }
  if (n.is<Unary>()) return unary_dtype(n, row_dtype(*n.args[0], src));
  if (n.is<Binary>()) return binary_dtype(n, row_dtype(*n.args[0], src), row_dtype(*n.args[1], src));
  throw InputError("internal: a frame used as a series");
}

DType unary_dtype(const FrameNode& n, DType in) {
  if (n.as<Unary>().op == UnaryOp::invert) {
    if (in != DType::boolean)
      throw InputError("~ needs a bool series; '" + n.args[0]->series_name + "' is " + dtype_name(in));
    return DType::boolean;
  }
  if (in == DType::string || in == DType::timestamp)
    throw InputError("cannot negate '" + n.args[0]->series_name + "' (" + dtype_name(in) + ")");
  return in == DType::boolean ? DType::int64 : in;
}

DType binary_dtype(const FrameNode& n, DType a, DType b) {
  const BinaryOp op = n.as<Binary>().op;
  const std::string name = binary_op_name(op);
  const bool scalar_a = n.args[0]->is<Scalar>(), scalar_b = n.args[1]->is<Scalar>();
  const std::string where = "'" + n.args[0]->series_name + "' " + name + " '" + n.args[1]->series_name + "'";
  if (a == DType::string || b == DType::string)
    throw InputError("cannot apply " + name + " to a string column (" + where + ")");
  if (op == BinaryOp::logical_and || op == BinaryOp::logical_or) {
    if (a != DType::boolean || b != DType::boolean) throw InputError(name + " needs two bool series (" + where + ")");
    return DType::boolean;
  }
  if (is_comparison(op)) return DType::boolean;
  if (a == DType::timestamp || b == DType::timestamp) {
    if (op == BinaryOp::sub && a == DType::timestamp && b == DType::timestamp) return DType::int64;
    throw InputError("arithmetic on timestamps supports only timestamp - timestamp (nanoseconds); got " + where);
  }
  if (op != BinaryOp::div && !scalar_a && !scalar_b && int_like(a) && int_like(b)) return DType::int64;
  return DType::float64;
}

AggSpec agg_spec(const FrameNode& leaf, const CsvSource& src) {
  AggSpec spec;
  if (leaf.is<Reduce>()) {
    // One group (key 0) over the whole column, or the frame's rows for size.
    spec.agg = leaf.as<Reduce>().agg;
    spec.key_dtype = DType::int64;
    const FrameNode& in = *leaf.args[0];
    if (in.level == Level::frame)
      frame_columns(in, src);
    else
      spec.value_dtype = row_dtype(in, src);
    if (spec.value_dtype == DType::string && spec.agg == Agg::count)
      spec.value_dtype = DType::int64;  // counted by their codes; see run_block
    else if (spec.value_dtype == DType::string || (spec.value_dtype == DType::timestamp && numeric_agg(spec.agg)))
      throw InputError("'" + leaf.series_name + "'." + agg_name(spec.agg) + "(): the column is " +
                       dtype_name(spec.value_dtype) + "; " + agg_name(spec.agg) + " needs numbers");
    return spec;
  }
  const GroupAgg& g = leaf.as<GroupAgg>();
  spec.agg = g.agg;
  spec.first_seen = g.value_counts;
  if (leaf.args.size() > 2) {
    spec.key_dtype = DType::string;  // encoded tuples, decoded into Table::levels at the end
    for (std::size_t key_idx = 1; key_idx < leaf.args.size(); ++key_idx)
      spec.levels.push_back(row_dtype(*leaf.args[key_idx], src));
  } else {
    spec.key_dtype = row_dtype(*leaf.args[1], src);
  }
  if (!g.column.empty()) {
    need_column(frame_columns(*leaf.args[0], src), g.column, src);
    spec.value_dtype = src.dtypes[src.column(g.column)];
    const bool numeric = spec.value_dtype != DType::string && spec.value_dtype != DType::timestamp;
    if (spec.value_dtype == DType::string && spec.agg == Agg::count)
      spec.value_dtype = DType::int64;  // counted by their codes; see run_block
    else if (!numeric && (numeric_agg(spec.agg) || spec.value_dtype == DType::string))
      throw InputError("groupby(...)[\"" + g.column + "\"]." + agg_name(spec.agg) + "(): the column is " +
                       dtype_name(spec.value_dtype) + "; " + agg_name(spec.agg) + " needs numbers");
  }
  return spec;
}

void collect_aggs(const FramePtr& n, std::vector<FramePtr>& out) {
  if (n->is<GroupAgg>() || n->is<Reduce>()) {
    if (std::none_of(out.begin(), out.end(), [&](const FramePtr& o) { return o->token == n->token; })) out.push_back(n);
    return;
  }
  for (const auto& a : n->args) collect_aggs(a, out);
}

namespace {
// The type of a groupby result's keys, as text ("int64", or "(object, int64)" for several).
std::string key_dtype_text(const FrameNode& n, const std::map<Token, AggSpec>& specs) {
  if (n.is<GroupAgg>() || n.is<Reduce>()) {
    const AggSpec& spec = specs.at(n.token);
    if (spec.levels.empty()) return dtype_name(spec.key_dtype);
    std::string out;
    for (DType d : spec.levels) out += (out.empty() ? "(" : ", ") + dtype_name(d);
    return out + ")";
  }
  std::string found;
  for (const auto& a : n.args) {
    if (a->level != Level::agg) continue;
    const std::string d = key_dtype_text(*a, specs);
    if (!found.empty() && d != found)
      throw InputError("cannot align groupby results keyed by " + found + " and by " + d + " in '" +
                       (n.is<Binary>() ? binary_op_name(n.as<Binary>().op) : "?") + "'");
    found = d;
  }
  return found;
}
}  // namespace

void check_alignment(const FrameNode& root, const std::map<Token, AggSpec>& specs) { key_dtype_text(root, specs); }

DType result_dtype(const FramePtr& root, const SourceOf& source_of_read) {
  const FrameNode& n = *root;
  if (n.level == Level::row) return row_dtype(n, source_of_read(source_of(n)));
  if (n.level != Level::agg) throw InputError("internal: the dtype of a frame (ask for its schema)");
  if (n.is<GroupAgg>() || n.is<Reduce>()) return agg_result_dtype(agg_spec(n, source_of_read(source_of(n))));
  if (n.is<Unary>()) return unary_dtype(n, result_dtype(n.args[0], source_of_read));
  auto side = [&](const FramePtr& a) {
    return a->level == Level::scalar ? DType::float64 : result_dtype(a, source_of_read);
  };
  return binary_dtype(n, side(n.args[0]), side(n.args[1]));
}

Schema describe(const FramePtr& root, const CsvSource& source) {
  Schema schema;
  if (root->level == Level::frame) {
    schema.names = frame_columns(*root, source);
    for (const auto& name : schema.names) schema.dtypes.push_back(source.dtypes[source.column(name)]);
  } else if (root->level == Level::row) {
    schema.names.push_back(root->series_name);
    schema.dtypes.push_back(row_dtype(*root, source));
  } else {
    throw InputError("internal: describe() takes a frame or a row series");
  }
  return schema;
}

bool is_date(const FrameNode& n) { return n.is<Dt>() && n.as<Dt>().field == DtField::date; }

}  // namespace rask::detail
