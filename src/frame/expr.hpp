#pragma once
// The frame expression: what DataFrame and Series hold. Immutable nodes shared by
// pointer, each one typed struct per kind in a std::variant (as Taskflow's Node holds
// its task kinds), so evaluation switches on enums decoded once, when the node is made.
// A structural token says when two nodes mean the same thing, so that a frame built
// twice (`df[df["close"] > 50]` in two places) is recognized as one.
//
// Every kind lists its fields once, in `fields()`: serialization, the token and
// equality all go through that list, so a field added to a kind reaches all three.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <variant>
#include <vector>

#include "rask/frame.hpp"
#include "rask/token.hpp"

namespace rask::detail {

/// Row-by-row or aligned operators, pandas' names in `binary_op_name`.
enum class BinaryOp : std::uint8_t { add, sub, mul, div, gt, ge, lt, le, eq, ne, logical_and, logical_or };
enum class UnaryOp : std::uint8_t { neg, invert };
/// Series.dt fields. floor rounds down to `Dt::unit_ns`; date and normalize are midnight
/// of the day (date computes as a timestamp, and pandas shows it as datetime.date).
enum class DtField : std::uint8_t { year, month, day, hour, minute, second, dayofweek, floor, date };
/// Aggregations: per group (GroupAgg) or over a whole column (Reduce).
enum class Agg : std::uint8_t { sum, mean, min, max, count, std, var, first, last, size };

// ---- the node kinds; args (in FrameNode) are noted per kind ----

/// read_csv over paths and glob patterns. No args.
struct ReadCsv {
  std::vector<std::string> paths;
  ReadCsvOptions options;
  auto fields() { return std::tie(paths, options); }
  auto fields() const { return std::tie(paths, options); }
};
/// The rows of args[0] (a frame) where args[1] (a bool row series of it) is true.
struct Filter {
  auto fields() { return std::tie(); }
  auto fields() const { return std::tie(); }
};
/// These columns of args[0] (a frame).
struct Select {
  std::vector<std::string> columns;
  auto fields() { return std::tie(columns); }
  auto fields() const { return std::tie(columns); }
};
/// One column of args[0] (a frame), as a row series.
struct GetColumn {
  std::string column;
  auto fields() { return std::tie(column); }
  auto fields() const { return std::tie(column); }
};
/// A number, as an operand of Binary. No args.
struct Scalar {
  double value = 0;
  auto fields() { return std::tie(value); }
  auto fields() const { return std::tie(value); }
};
/// args[0] op args[1]: row series of one frame, groupby results, or either with a Scalar.
struct Binary {
  BinaryOp op = BinaryOp::add;
  auto fields() { return std::tie(op); }
  auto fields() const { return std::tie(op); }
};
/// op args[0].
struct Unary {
  UnaryOp op = UnaryOp::neg;
  auto fields() { return std::tie(op); }
  auto fields() const { return std::tie(op); }
};
/// A field of args[0] (a timestamp row series).
struct Dt {
  DtField field = DtField::year;
  std::int64_t unit_ns = 0;  // floor: the unit; 0 otherwise
  auto fields() { return std::tie(field, unit_ns); }
  auto fields() const { return std::tie(field, unit_ns); }
};
/// A groupby aggregation: args[0] the frame, args[1..] the keys (row series of it).
/// `column` is the value column ("" for size); value_counts is size with the keys in
/// order of frequency, then of first appearance.
struct GroupAgg {
  Agg agg = Agg::size;
  std::string column;
  bool value_counts = false;
  auto fields() { return std::tie(agg, column, value_counts); }
  auto fields() const { return std::tie(agg, column, value_counts); }
};
/// A whole-column reduction of args[0] (a row series; a frame for size: its rows).
struct Reduce {
  Agg agg = Agg::size;
  auto fields() { return std::tie(agg); }
  auto fields() const { return std::tie(agg); }
};

/// One alternative per kind; the index is the kind's tag in serialized expressions, so
/// new kinds go at the end.
using NodeKind = std::variant<ReadCsv, Filter, Select, GetColumn, Scalar, Binary, Unary, Dt, GroupAgg, Reduce>;

// What a node evaluates to: a frame, a row-by-row series of a frame, a groupby result
// (indexed by keys), or a scalar.
enum class Level : std::uint8_t { frame, row, agg, scalar };

struct FrameNode {
  NodeKind kind;
  std::vector<FramePtr> args;
  // Derived when made (never serialized):
  Level level = Level::scalar;
  Token token = 0;          // structural fingerprint
  Token frame = 0;          // frame: its own token; row series: its frame's token
  std::string series_name;  // pandas' Series.name

  template <class Kind>
  bool is() const noexcept {
    return std::holds_alternative<Kind>(kind);
  }
  /// The node's kind as `Kind`; the caller has checked is<Kind>().
  template <class Kind>
  const Kind& as() const {
    return std::get<Kind>(kind);
  }
};

/// Makes a node: checks its operands (InputError on misuse) and derives level, token,
/// frame and name.
FramePtr make_node(NodeKind kind, std::vector<FramePtr> args = {});

/// The read_csv node a frame or row series descends from.
const FrameNode& source_of(const FrameNode& node);
/// The frame node a row series takes its rows from (a frame gives itself).
const FrameNode& frame_of(const FrameNode& node);

/// Operator, field and aggregation names, both ways: one table each, used by the C++
/// API, the job scripts' binding and error messages alike. Parsing throws InputError
/// naming the accepted names.
const char* binary_op_name(BinaryOp op);
BinaryOp parse_binary_op(std::string_view name);
bool is_comparison(BinaryOp op);
const char* unary_op_name(UnaryOp op);
UnaryOp parse_unary_op(std::string_view name);
const char* agg_name(Agg agg);
Agg parse_agg(std::string_view name);
/// A dt accessor by pandas' name ("hour", "weekday", "date", "normalize", ...).
Dt parse_dt_field(std::string_view name);
/// The accessors parse_dt_field takes that pandas spells as properties (`s.dt.hour`).
std::vector<std::string> dt_property_names();
/// dt.floor(freq): "D", "h"/"H", "min"/"T", "s"/"S".
Dt parse_floor_freq(std::string_view freq);
/// The accessor's name in messages ("hour", "floor").
const char* dt_field_name(DtField field);

/// The expression DAG as bytes (each shared node once) and back.
void write_expr(Writer& w, const FramePtr& root);
FramePtr read_expr(Reader& r);
/// The expression behind a frame or a series as bytes, and back: one format for both
/// (DataFrame/Series::serialize, and the job scripts' payloads).
Bytes expr_bytes(const FramePtr& node);
FramePtr expr_from_bytes(const Bytes& bytes);

}  // namespace rask::detail

namespace rask::detail {

/// The one door between the public handles and their expressions: DataFrame, Series
/// and DatetimeAccessor keep their expression-taking constructors private.
struct FrameAccess {
  static DataFrame frame(FramePtr node) { return DataFrame(std::move(node)); }
  static Series series(FramePtr node) { return Series(std::move(node)); }
  static const FramePtr& node(const DataFrame& frame) noexcept { return frame.node_; }
  static const FramePtr& node(const Series& series) noexcept { return series.node_; }
};

}  // namespace rask::detail
