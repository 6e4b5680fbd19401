// Building array expressions: shapes, chunks, dtypes and the checks that reject what
// does not fit, all before any work runs.
#include "rask/array.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

#include "array/chunks.hpp"
#include "array/node.hpp"

namespace rask {
namespace detail {

std::vector<std::int64_t> regular_chunks(std::int64_t extent, std::int64_t size, const char* what) {
  if (size <= 0) throw ShapeError(std::string(what) + ": chunk size must be positive, got " + std::to_string(size));
  std::vector<std::int64_t> out;
  for (std::int64_t start = 0; start < extent; start += size) out.push_back(std::min(size, extent - start));
  if (out.empty()) out.push_back(0);  // an empty axis still has one (empty) chunk, as dask's
  return out;
}

namespace {
std::string join(const std::vector<std::int64_t>& v) {
  std::string s;
  for (std::size_t k = 0; k < v.size(); ++k) s += (k ? ", " : "") + std::to_string(v[k]);
  return v.size() == 1 ? s + "," : s;
}
}  // namespace

std::string shape_str(const ArrayNode& n) {
  std::string out = "(";
  if (n.ndim == 1) out.append(std::to_string(n.cols)).append(",");
  if (n.ndim == 2) out.append(std::to_string(n.rows)).append(", ").append(std::to_string(n.cols));
  return out.append(")");
}

std::string chunks_str(const ArrayNode& n) {
  if (n.ndim == 0) return "()";
  if (n.ndim == 1) return "((" + join(n.col_chunks) + "),)";
  return "((" + join(n.row_chunks) + "), (" + join(n.col_chunks) + "))";
}

std::vector<std::int64_t> offsets(const std::vector<std::int64_t>& chunks) {
  std::vector<std::int64_t> out(chunks.size() + 1, 0);
  std::partial_sum(chunks.begin(), chunks.end(), out.begin() + 1);
  return out;
}

std::pair<int, int> process_grid(std::int64_t row_blocks, std::int64_t col_blocks, int nranks) {
  if (col_blocks == 1) return {nranks, 1};
  if (row_blocks == 1) return {1, nranks};
  // Among the factorizations Pr x Pc = P, the one that spreads the chunks most evenly,
  // then the squarest (ScaLAPACK's usual choice).
  std::pair<int, int> best{nranks, 1};
  std::int64_t best_load = -1;
  int best_skew = 0;
  for (int pr = 1; pr <= nranks; ++pr) {
    if (nranks % pr) continue;
    const int pc = nranks / pr;
    const std::int64_t load = ((row_blocks + pr - 1) / pr) * ((col_blocks + pc - 1) / pc);
    const int skew = std::abs(pr - pc);
    if (best_load < 0 || load < best_load || (load == best_load && skew < best_skew)) {
      best = {pr, pc};
      best_load = load;
      best_skew = skew;
    }
  }
  return best;
}

int chunk_owner(const ArrayNode& n, std::int64_t bi, std::int64_t bj, int nranks) {
  const auto [pr, pc] = process_grid(n.row_blocks(), n.col_blocks(), nranks);
  return static_cast<int>((bi % pr) * pc + (bj % pc));
}

namespace {

std::shared_ptr<ArrayNode> make(OpParams params, DType dtype, int ndim, std::int64_t rows, std::int64_t cols,
                                std::vector<std::int64_t> row_chunks, std::vector<std::int64_t> col_chunks) {
  auto n = std::make_shared<ArrayNode>();
  n->params = std::move(params);
  n->dtype = dtype;
  n->ndim = ndim;
  n->rows = rows;
  n->cols = cols;
  n->row_chunks = std::move(row_chunks);
  n->col_chunks = std::move(col_chunks);
  return n;
}

std::string shape_of(const Shape& s) {
  std::string out = "(";
  for (std::size_t k = 0; k < s.size(); ++k) out += (k ? ", " : "") + std::to_string(s[k]);
  return out + (s.size() == 1 ? ",)" : ")");
}

}  // namespace

/// A node of the given logical shape in regular chunks (creation functions).
std::shared_ptr<ArrayNode> make_source(OpParams op, DType dtype, const Shape& shape, const Shape& chunks,
                                       const char* what) {
  if (shape.size() > 2)
    throw ShapeError(std::string(what) + ": shape " + shape_of(shape) +
                     " has more than 2 dimensions; rask arrays are 0-d, 1-d or 2-d");
  if (chunks.size() != shape.size())
    throw ShapeError(std::string(what) + ": chunks " + shape_of(chunks) + " do not match shape " + shape_of(shape) +
                     ": give one chunk size per dimension");
  for (auto extent : shape)
    if (extent < 0) throw ShapeError(std::string(what) + ": negative dimension in shape " + shape_of(shape));
  if (shape.empty()) return make(std::move(op), dtype, 0, 1, 1, {1}, {1});
  if (shape.size() == 1)
    return make(std::move(op), dtype, 1, 1, shape[0], {1}, regular_chunks(shape[0], chunks[0], what));
  return make(std::move(op), dtype, 2, shape[0], shape[1], regular_chunks(shape[0], chunks[0], what),
              regular_chunks(shape[1], chunks[1], what));
}

namespace {

DType arithmetic_dtype(DType a, DType b, BinaryOp op) {
  switch (op) {
    case BinaryOp::lt:
    case BinaryOp::le:
    case BinaryOp::gt:
    case BinaryOp::ge:
    case BinaryOp::eq:
    case BinaryOp::ne:
      return DType::boolean;
    case BinaryOp::div:
      return DType::float64;
    default:
      break;
  }
  if (a == DType::float64 || b == DType::float64) return DType::float64;
  return DType::int64;  // int or bool with int or bool: NumPy gives int for + - * **
}

const char* binary_name(BinaryOp op) {
  static const char* names[] = {"add",        "subtract", "multiply",      "divide", "power",    "less",
                                "less_equal", "greater",  "greater_equal", "equal",  "not_equal"};
  return names[static_cast<int>(op)];
}

Array binary(const Array& a_in, const Array& b_in, BinaryOp op) {
  const auto [a, b] = unify_chunks(a_in, b_in);
  const ArrayNode& x = *a.node();
  const ArrayNode& y = *b.node();
  auto fail = [&](const std::string& why) -> ShapeError {
    return ShapeError(std::string(binary_name(op)) + ": " + why + ": shape " + shape_str(x) + " chunks " +
                      chunks_str(x) + " and shape " + shape_str(y) + " chunks " + chunks_str(y) +
                      "; rechunk one operand to the other's chunks (x.rechunk(...)) or fix the shapes");
  };
  // NumPy's rule on the internal 2-d forms: each axis equal, or 1 on one side.
  auto axis = [&](std::int64_t ex, std::int64_t ey, const std::vector<std::int64_t>& cx,
                  const std::vector<std::int64_t>& cy, std::int64_t& extent, std::vector<std::int64_t>& chunks) {
    if (ex == ey) {  // unify_chunks made the chunks equal
      extent = ex;
      chunks = cx;
    } else if (ey == 1) {
      extent = ex;
      chunks = cx;
    } else if (ex == 1) {
      extent = ey;
      chunks = cy;
    } else {
      throw fail("shapes cannot be broadcast together");
    }
  };
  // A 2-d operand's rows cannot broadcast against a 1-d operand (which has none),
  // except as NumPy does: the 1-d one is a row.
  std::int64_t rows, cols;
  std::vector<std::int64_t> rc, cc;
  axis(x.rows, y.rows, x.row_chunks, y.row_chunks, rows, rc);
  axis(x.cols, y.cols, x.col_chunks, y.col_chunks, cols, cc);
  // NumPy's bool arithmetic: or for +, and for *, and no - at all. rask's kernels count
  // bools as 0 and 1, so the sum or product is compared with 0.
  const bool both_bool = x.dtype == DType::boolean && y.dtype == DType::boolean;
  if (both_bool && op == BinaryOp::sub)
    throw DTypeError("numpy boolean subtract, the `-` operator, is not supported, "
                     "use the bitwise_xor, the `^` operator, or the logical_xor function instead.");
  auto n = make(ops::Binary{op}, arithmetic_dtype(x.dtype, y.dtype, op), std::max(x.ndim, y.ndim), rows, cols,
                std::move(rc), std::move(cc));
  n->args = {a.node(), b.node()};
  Array out(finish(n));
  if (both_bool && (op == BinaryOp::add || op == BinaryOp::mul))
    return binary(out, scalar(0.0, DType::int64), BinaryOp::ne);
  return out;
}

Array unary(const Array& a, UnaryOp op) {
  const ArrayNode& x = *a.node();
  DType dtype = x.dtype;
  if (op == UnaryOp::exp || op == UnaryOp::log || op == UnaryOp::sqrt) dtype = DType::float64;
  if (op == UnaryOp::neg && dtype == DType::boolean)
    throw DTypeError("The numpy boolean negative, the `-` operator, is not supported, "
                     "use the `~` operator or the logical_not function instead.");
  if (op == UnaryOp::abs && dtype == DType::boolean) dtype = DType::boolean;
  auto n = make(ops::Unary{op}, dtype, x.ndim, x.rows, x.cols, x.row_chunks, x.col_chunks);
  n->args = {a.node()};
  return Array(finish(n));
}

const char* reduce_name(ReduceOp op) {
  static const char* names[] = {"sum", "prod", "mean", "var", "std", "min", "max", "argmin", "argmax"};
  return names[static_cast<int>(op)];
}

}  // namespace

DType reduced_dtype(ReduceOp op, DType dtype) {
  switch (op) {
    case ReduceOp::sum:
    case ReduceOp::prod:
      return dtype == DType::boolean ? DType::int64 : dtype;
    case ReduceOp::mean:
    case ReduceOp::var:
    case ReduceOp::std:
      return DType::float64;
    case ReduceOp::argmin:
    case ReduceOp::argmax:
      return DType::int64;
    default:
      return dtype;
  }
}

namespace {

Array reduce(const Array& a, ReduceOp op, std::optional<int> axis, bool keepdims) {
  const ArrayNode& x = *a.node();
  const DType dtype = reduced_dtype(op, x.dtype);
  int internal_axis = -1;  // all
  if (axis) {
    int ax = *axis < 0 ? *axis + x.ndim : *axis;
    if (ax < 0 || ax >= x.ndim)
      throw ShapeError(std::string(reduce_name(op)) + ": axis " + std::to_string(*axis) +
                       " is out of bounds for an array of dimension " + std::to_string(x.ndim) + " (shape " +
                       shape_str(x) + ")");
    internal_axis = x.ndim == 1 ? 1 : ax;
  }
  if (x.rows * x.cols == 0 &&
      (op == ReduceOp::min || op == ReduceOp::max || op == ReduceOp::argmin || op == ReduceOp::argmax))
    throw ShapeError(std::string(reduce_name(op)) + ": zero-size array (shape " + shape_str(x) +
                     ") has no identity for this reduction");
  std::shared_ptr<ArrayNode> n;
  if (internal_axis == -1 || (x.ndim == 1 && internal_axis == 1)) {
    // Everything reduces to one value: 0-d, or all-ones dims with keepdims.
    n = make(ops::Reduce{}, dtype, keepdims ? x.ndim : 0, 1, 1, {1}, {1});
    internal_axis = -1;
  } else if (internal_axis == 0) {
    // Rows reduce: a row of the column chunks.
    n = make(ops::Reduce{}, dtype, keepdims ? 2 : 1, 1, x.cols, {1}, x.col_chunks);
  } else if (keepdims) {
    n = make(ops::Reduce{}, dtype, 2, x.rows, 1, x.row_chunks, {1});
  } else {
    // Columns reduce: a 1-d result, held as a row of the row chunks.
    n = make(ops::Reduce{}, dtype, 1, 1, x.rows, {1}, x.row_chunks);
  }
  n->params = ops::Reduce{op, internal_axis, keepdims};
  n->args = {a.node()};
  return Array(finish(n));
}

std::vector<std::int64_t> check_chunks(const std::vector<std::int64_t>& chunks, std::int64_t extent,
                                       const std::string& what) {
  std::int64_t total = 0;
  for (auto c : chunks) {
    if (c < 0) throw ShapeError(what + ": negative chunk size " + std::to_string(c));
    total += c;
  }
  if (total != extent || chunks.empty())
    throw ShapeError(what + ": chunks sum to " + std::to_string(total) + " but the axis has " + std::to_string(extent) +
                     " elements");
  return chunks;
}

}  // namespace
}  // namespace detail

using detail::ArrayNode;
using detail::BinaryOp;
using detail::Op;
using detail::ReduceOp;
using detail::UnaryOp;


Eigen::Map<const ArrayValue::RowMajor> ArrayValue::matrix() const {
  Eigen::Index rows = shape.size() == 2 ? shape[0] : 1;
  Eigen::Index cols = shape.empty() ? 1 : shape.back();
  return Eigen::Map<const RowMajor>(values.data(), rows, cols);
}

double ArrayValue::item() const {
  if (values.size() != 1)
    throw ShapeError("item(): the array has " + std::to_string(values.size()) +
                     " values here; item() wants exactly one (on ranks other than 0 compute with "
                     "rask::Where::all to have the values)");
  return values[0];
}

Array::Array(detail::ArrayNodePtr node) : node_(std::move(node)) {}

Shape Array::shape() const {
  if (node_->ndim == 0) return {};
  if (node_->ndim == 1) return {node_->cols};
  return {node_->rows, node_->cols};
}
int Array::ndim() const noexcept { return node_->ndim; }
DType Array::dtype() const noexcept { return node_->dtype; }
std::int64_t Array::size() const noexcept { return node_->rows * node_->cols; }
std::int64_t Array::num_chunks() const noexcept { return node_->row_blocks() * node_->col_blocks(); }
std::uint64_t Array::token() const noexcept { return node_->token; }

ChunkSizes Array::chunks() const {
  if (node_->ndim == 0) return {};
  if (node_->ndim == 1) return {node_->col_chunks};
  return {node_->row_chunks, node_->col_chunks};
}

std::string Array::describe() const {
  return std::string("rask.Array<shape=") + detail::shape_str(*node_) + ", chunks=" + detail::chunks_str(*node_) +
         ", dtype=" + dtype_name(node_->dtype) + ">";
}

Array Array::T() const {
  if (node_->ndim < 2) return *this;
  if (node_->op() == Op::transpose) return Array(node_->args[0]);
  auto n = detail::make(detail::ops::Transpose{}, node_->dtype, 2, node_->cols, node_->rows, node_->col_chunks, node_->row_chunks);
  n->args = {node_};
  return Array(detail::finish(n));
}

Array Array::dot(const Array& other) const {
  if (auto [l, r] = detail::unify_inner_chunks(*this, other); l.node() != node_ || r.node() != other.node())
    return l.dot(r);
  const ArrayNode& a = *node_;
  const ArrayNode& b = *other.node();
  auto fail = [&](const std::string& why) -> ShapeError {
    return ShapeError("dot: " + why + ": shape " + detail::shape_str(a) + " chunks " + detail::chunks_str(a) +
                      " and shape " + detail::shape_str(b) + " chunks " + detail::chunks_str(b) +
                      "; the left operand's last axis must match the right operand's first axis "
                      "in length and chunks (rechunk one of them)");
  };
  if (a.ndim == 0 || b.ndim == 0) throw fail("0-d operands are not supported (multiply instead)");
  // The inner axis: a's columns; b's rows, or its only axis when 1-d.
  const std::int64_t inner_b = b.ndim == 1 ? b.cols : b.rows;
  if (a.cols != inner_b) throw fail("shapes are not aligned");
  DType dtype = (a.dtype == DType::float64 || b.dtype == DType::float64) ? DType::float64 : DType::int64;
  std::shared_ptr<ArrayNode> n;
  if (a.ndim == 2 && b.ndim == 2) {
    n = detail::make(detail::ops::Dot{}, dtype, 2, a.rows, b.cols, a.row_chunks, b.col_chunks);
  } else if (a.ndim == 2) {  // matrix . vector: a vector of a's rows
    n = detail::make(detail::ops::Dot{}, dtype, 1, 1, a.rows, {1}, a.row_chunks);
  } else if (b.ndim == 2) {  // vector . matrix
    n = detail::make(detail::ops::Dot{}, dtype, 1, 1, b.cols, {1}, b.col_chunks);
  } else {
    n = detail::make(detail::ops::Dot{}, dtype, 0, 1, 1, {1}, {1});
  }
  n->args = {node_, other.node()};
  return Array(detail::finish(n));
}

Array Array::sum(std::optional<int> axis, bool keepdims) const {
  return detail::reduce(*this, ReduceOp::sum, axis, keepdims);
}
Array Array::prod(std::optional<int> axis, bool keepdims) const {
  return detail::reduce(*this, ReduceOp::prod, axis, keepdims);
}
Array Array::mean(std::optional<int> axis, bool keepdims) const {
  return detail::reduce(*this, ReduceOp::mean, axis, keepdims);
}
Array Array::var(std::optional<int> axis, bool keepdims) const {
  return detail::reduce(*this, ReduceOp::var, axis, keepdims);
}
Array Array::std(std::optional<int> axis, bool keepdims) const {
  return detail::reduce(*this, ReduceOp::std, axis, keepdims);
}
Array Array::min(std::optional<int> axis, bool keepdims) const {
  return detail::reduce(*this, ReduceOp::min, axis, keepdims);
}
Array Array::max(std::optional<int> axis, bool keepdims) const {
  return detail::reduce(*this, ReduceOp::max, axis, keepdims);
}
Array Array::argmin(std::optional<int> axis, bool keepdims) const {
  return detail::reduce(*this, ReduceOp::argmin, axis, keepdims);
}
Array Array::argmax(std::optional<int> axis, bool keepdims) const {
  return detail::reduce(*this, ReduceOp::argmax, axis, keepdims);
}

Array Array::rechunk(const Shape& chunks) const {
  const ArrayNode& x = *node_;
  if (static_cast<int>(chunks.size()) != x.ndim)
    throw ShapeError("rechunk: " + std::to_string(chunks.size()) + " chunk sizes given for an array of shape " +
                     detail::shape_str(x) + "; give one per dimension");
  ChunkSizes explicit_chunks;
  if (x.ndim == 1) explicit_chunks = {detail::regular_chunks(x.cols, chunks[0], "rechunk")};
  if (x.ndim == 2)
    explicit_chunks = {detail::regular_chunks(x.rows, chunks[0], "rechunk"),
                       detail::regular_chunks(x.cols, chunks[1], "rechunk")};
  return rechunk(explicit_chunks);
}

Array Array::rechunk(const ChunkSizes& chunks) const {
  const ArrayNode& x = *node_;
  if (static_cast<int>(chunks.size()) != x.ndim)
    throw ShapeError("rechunk: chunks for " + std::to_string(chunks.size()) + " dimensions given for shape " +
                     detail::shape_str(x));
  std::vector<std::int64_t> rc = x.row_chunks, cc = x.col_chunks;
  if (x.ndim == 1) cc = detail::check_chunks(chunks[0], x.cols, "rechunk of " + describe());
  if (x.ndim == 2) {
    rc = detail::check_chunks(chunks[0], x.rows, "rechunk of " + describe());
    cc = detail::check_chunks(chunks[1], x.cols, "rechunk of " + describe());
  }
  if (rc == x.row_chunks && cc == x.col_chunks) return *this;
  auto n = detail::make(detail::ops::Rechunk{}, x.dtype, x.ndim, x.rows, x.cols, std::move(rc), std::move(cc));
  n->args = {node_};
  return Array(detail::finish(n));
}

namespace {
// Python's slice.indices: the first index, the count, for a positive step.
std::pair<std::int64_t, std::int64_t> resolve(Slice s, std::int64_t extent, const std::string& what) {
  if (s.step <= 0) throw ShapeError(what + ": slice step must be positive, got " + std::to_string(s.step));
  auto clip = [&](std::int64_t v) {
    if (v < 0) v += extent;
    return std::clamp<std::int64_t>(v, 0, extent);
  };
  std::int64_t start = clip(s.start), stop = clip(s.stop);
  std::int64_t count = stop > start ? (stop - start + s.step - 1) / s.step : 0;
  return {start, count};
}

// Output chunks of a slice along one axis: the selected elements grouped by the input
// chunk they come from (empty groups dropped), as dask does.
std::vector<std::int64_t> sliced_chunks(const std::vector<std::int64_t>& chunks, std::int64_t start, std::int64_t count,
                                        std::int64_t step) {
  std::vector<std::int64_t> out;
  auto offs = detail::offsets(chunks);
  for (std::size_t chunk_idx = 0; chunk_idx < chunks.size(); ++chunk_idx) {
    // Selected indices start + k*step within [offs[c], offs[c+1]).
    auto first_k = [&](std::int64_t lo) { return lo <= start ? 0 : (lo - start + step - 1) / step; };
    std::int64_t k0 = std::min(first_k(offs[chunk_idx]), count);
    std::int64_t k1 = std::min(first_k(offs[chunk_idx + 1]), count);
    if (k1 > k0) out.push_back(k1 - k0);
  }
  if (out.empty()) out.push_back(0);
  return out;
}
}  // namespace

Array Array::operator()(Slice first) const {
  const ArrayNode& x = *node_;
  if (x.ndim == 0) throw ShapeError("slicing: a 0-d array has no axis to slice");
  if (x.ndim == 1) {
    auto [start, count] = resolve(first, x.cols, "slicing " + describe());
    auto n = detail::make(detail::ops::Slice{0, 1, start, first.step}, x.dtype, 1, 1, count, {1},
                          sliced_chunks(x.col_chunks, start, count, first.step));
    n->args = {node_};
    return Array(detail::finish(n));
  }
  return (*this)(first, Slice{});
}

Array Array::operator()(Slice rows, Slice cols) const {
  const ArrayNode& x = *node_;
  if (x.ndim != 2)
    throw ShapeError("slicing: two slices given for an array of shape " + detail::shape_str(x) + " (dimension " +
                     std::to_string(x.ndim) + ")");
  auto [r0, rn] = resolve(rows, x.rows, "slicing rows of " + describe());
  auto [c0, cn] = resolve(cols, x.cols, "slicing columns of " + describe());
  auto n = detail::make(detail::ops::Slice{r0, rows.step, c0, cols.step}, x.dtype, 2, rn, cn,
                        sliced_chunks(x.row_chunks, r0, rn, rows.step), sliced_chunks(x.col_chunks, c0, cn, cols.step));
  n->args = {node_};
  return Array(detail::finish(n));
}

Array scalar(double value, DType dtype) {
  auto n = detail::make(detail::ops::Full{value}, dtype, 0, 1, 1, {1}, {1});
  return Array(detail::finish(n));
}

Array full(const Shape& shape, double value, const Shape& chunks, DType dtype) {
  auto n = detail::make_source(detail::ops::Full{value}, dtype, shape, chunks, "full");
  return Array(detail::finish(n));
}
Array ones(const Shape& shape, const Shape& chunks, DType dtype) { return full(shape, 1.0, chunks, dtype); }
Array zeros(const Shape& shape, const Shape& chunks, DType dtype) { return full(shape, 0.0, chunks, dtype); }

Array arange(std::int64_t start, std::int64_t stop, std::int64_t step, std::int64_t chunk) {
  if (step <= 0) throw ShapeError("arange: step must be positive, got " + std::to_string(step));
  std::int64_t count = stop > start ? (stop - start + step - 1) / step : 0;
  auto n = detail::make_source(detail::ops::Arange{start, step}, DType::int64, {count}, {chunk}, "arange");
  return Array(detail::finish(n));
}
Array arange(std::int64_t stop, std::int64_t chunk) { return arange(0, stop, 1, chunk); }

Array operator+(const Array& a, const Array& b) { return detail::binary(a, b, BinaryOp::add); }
Array operator-(const Array& a, const Array& b) { return detail::binary(a, b, BinaryOp::sub); }
Array operator*(const Array& a, const Array& b) { return detail::binary(a, b, BinaryOp::mul); }
Array operator/(const Array& a, const Array& b) { return detail::binary(a, b, BinaryOp::div); }
Array pow(const Array& a, const Array& b) { return detail::binary(a, b, BinaryOp::pow); }
Array operator<(const Array& a, const Array& b) { return detail::binary(a, b, BinaryOp::lt); }
Array operator<=(const Array& a, const Array& b) { return detail::binary(a, b, BinaryOp::le); }
Array operator>(const Array& a, const Array& b) { return detail::binary(a, b, BinaryOp::gt); }
Array operator>=(const Array& a, const Array& b) { return detail::binary(a, b, BinaryOp::ge); }
Array operator==(const Array& a, const Array& b) { return detail::binary(a, b, BinaryOp::eq); }
Array operator!=(const Array& a, const Array& b) { return detail::binary(a, b, BinaryOp::ne); }
Array operator-(const Array& a) { return detail::unary(a, UnaryOp::neg); }
Array exp(const Array& a) { return detail::unary(a, UnaryOp::exp); }
Array log(const Array& a) { return detail::unary(a, UnaryOp::log); }
Array sqrt(const Array& a) { return detail::unary(a, UnaryOp::sqrt); }
Array abs(const Array& a) { return detail::unary(a, UnaryOp::abs); }

}  // namespace rask
