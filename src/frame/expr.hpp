#pragma once
// The frame expression: what DataFrame and Series hold. Immutable nodes shared by
// pointer; a structural token says when two nodes mean the same thing, so that a frame
// built twice (`df[df["close"] > 50]` in two places) is recognized as one.
#include <memory>
#include <string>
#include <vector>

#include "rask/frame.hpp"
#include "rask/token.hpp"

namespace rask::detail {

// reduce: a whole-column reduction (one group), or a frame's row count (`size`).
enum class NodeOp : std::uint8_t { read_csv, filter, select, column, scalar, binary, unary, dt, agg, reduce };

// What a node evaluates to: a frame, a row-by-row series of a frame, a groupby result
// (indexed by keys), or a scalar.
enum class Level : std::uint8_t { frame, row, agg, scalar };

struct FrameNode {
  NodeOp op = NodeOp::scalar;
  Level level = Level::scalar;
  std::string name;                // column, operator, dt field or aggregation
  std::string column;              // agg: the value column ("" for size)
  double value = 0;                // scalar
  std::vector<std::string> names;  // read_csv: paths and patterns; select: columns
  ReadCsvOptions options;          // read_csv
  std::vector<FramePtr> args;
  // Derived when made (never serialized):
  Token token = 0;          // structural fingerprint
  Token frame = 0;          // frame: its own token; row series: its frame's token
  std::string series_name;  // pandas' Series.name
};

/// Makes a node: checks its operands (InputError on misuse) and derives token, frame
/// and name.
FramePtr make_node(FrameNode node);

/// The read_csv node a frame or row series descends from.
const FrameNode& source_of(const FrameNode& node);

/// The expression DAG as bytes (each shared node once) and back.
void write_expr(Writer& w, const FramePtr& root);
FramePtr read_expr(Reader& r);
/// The expression behind a frame or a series as bytes, and back: one format for both
/// (DataFrame/Series::serialize, and the job scripts' payloads).
Bytes expr_bytes(const FramePtr& node);
FramePtr expr_from_bytes(const Bytes& bytes);

}  // namespace rask::detail
