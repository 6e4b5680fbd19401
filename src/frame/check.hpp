#pragma once
// Type checking a frame expression against its files' schema: which columns a frame
// has, what type each series and result has, and what is refused. Every rank runs it
// alike before any task, so its errors are collective (InputError). The same rules
// answer the job scripts' questions (dtypes and schemas for Dask's meta), so Python
// holds none of its own.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "frame/csv.hpp"
#include "frame/groupby.hpp"

namespace rask::detail {

/// The source of a read_csv node (resolve_source, cached or not, as the caller likes).
using SourceOf = std::function<const CsvSource&(const FrameNode& read_csv)>;

/// The columns of a frame node, in order; InputError for a selection of a missing
/// column or a filter whose mask is not bool.
std::vector<std::string> frame_columns(const FrameNode& frame, const CsvSource& source);

/// InputError unless `have` holds `name`: the message names the frame's columns and the fixes.
void need_column(const std::vector<std::string>& have, const std::string& name, const CsvSource& source);

/// The type of a row series; InputError for a missing column or a mistyped operand.
DType row_dtype(const FrameNode& series, const CsvSource& source);

/// The result type of `n` (a Binary node) on operands of types a and b (a Scalar operand
/// counts as float64); InputError for operands the operator refuses.
DType binary_dtype(const FrameNode& n, DType a, DType b);
/// The result type of `n` (a Unary node) on an operand of type `in`.
DType unary_dtype(const FrameNode& n, DType in);

/// What aggregation leaf `leaf` (GroupAgg or Reduce) needs to know about its key and
/// value columns; InputError for a value column the aggregation cannot take.
AggSpec agg_spec(const FrameNode& leaf, const CsvSource& source);

/// The distinct aggregation leaves under `root`, in first-seen order.
void collect_aggs(const FramePtr& root, std::vector<FramePtr>& out);

/// InputError when groupby results combined by `root` are keyed by different types
/// (they could not be aligned); `specs` holds each leaf's spec by token.
void check_alignment(const FrameNode& root, const std::map<Token, AggSpec>& specs);

/// The type of any series (a row series or a groupby result): the dtype compute gives,
/// as Dask's meta says it. Groupby results combined by arithmetic keep int64 when both
/// sides are int64 (compute gives float64 if their keys then differ, as pandas does).
DType result_dtype(const FramePtr& root, const SourceOf& source_of_read);

/// True when the values of `series` are calendar dates (dt.date): computed as midnight
/// timestamps, shown by pandas as datetime.date objects (dtype object).
bool is_date(const FrameNode& series);

/// The columns of a frame, or the one value of a row series, with their types.
struct Schema {
  std::vector<std::string> names;
  std::vector<DType> dtypes;
};

/// Local: the schema of `root` (a frame or a row series) over `source` (resolve_source
/// of its read_csv node), checking the expression as compute does: InputError naming a
/// missing column or a mistyped operand.
Schema describe(const FramePtr& root, const CsvSource& source);

}  // namespace rask::detail
