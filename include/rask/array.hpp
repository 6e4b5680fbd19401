#pragma once
/// Array: a lazy, chunked 0-d, 1-d or 2-d array, as dask.array's. An Array is a small
/// expression (operation, operands, shape, chunks, dtype), not a list of chunk tasks;
/// every rank lowers the same expression into the same chunk tasks at compute.
///
///     rask::Array x = rask::random::randint(1, 10, {15, 15}, {5, 5}, /*seed=*/42);
///     rask::Array y = (x.dot(x.T() + 1) - x.mean()).std();
///     rask::ArrayValue v = y.compute();          // collective; values on rank 0
///
/// Layout: chunk (i, j) of a 2-d array lives on rank (i mod Pr) * Pc + (j mod Pc) of a
/// Pr x Pc process grid chosen from the chunk grid and the rank count (ScaLAPACK's
/// block-cyclic layout; one column of chunks gives a P x 1 grid), a 1-d array's chunk j
/// on rank j mod P. Chains of elementwise operations, and a chain feeding a reduction,
/// run as one pass per chunk. Reductions combine per-chunk partials in a fixed tree over
/// chunk indices, so results are bitwise the same at any rank and thread count.
///
/// Values are held as float64 inside chunks whatever the dtype: int64 arrays are exact up
/// to 2^53 in magnitude, bool arrays hold 0 and 1.
///
/// Building an Array is local and cheap (no MPI); compute, persist and to_hdf5 are
/// collective. Every rank must build the same expressions in the same order (SPMD).
#include <Eigen/Core>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "rask/dtype.hpp"
#include "rask/error.hpp"
#include "rask/plan.hpp"
#include "rask/serialize.hpp"

namespace rask {


/// A shape, or chunk sizes given per dimension as dask's `chunks=(500, 500)`.
using Shape = std::vector<std::int64_t>;
/// Explicit chunk sizes per dimension, as dask's `chunks=((5, 5, 2), (4, 4))`; edge
/// chunks may be uneven.
using ChunkSizes = std::vector<std::vector<std::int64_t>>;

/// Shapes or chunks that do not fit together (elementwise, broadcasting, dot, slicing,
/// axes), found when the expression is built, before any work runs. Every rank builds
/// the same expression, so this is collective.
class ShapeError : public Error {
 public:
  explicit ShapeError(const std::string& m) : Error(m, true) {}
};

/// One range of a slice with Python's meaning: start and stop may be negative (counted
/// from the end) and are clipped; step > 0.
struct Slice {
  std::int64_t start = 0;
  std::int64_t stop = std::numeric_limits<std::int64_t>::max();
  std::int64_t step = 1;
};

/// A computed array: its shape, dtype and values in row-major order.
struct ArrayValue {
  Shape shape;
  DType dtype = DType::float64;
  std::vector<double> values;

  using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  /// The values as an Eigen matrix, without a copy: 0-d is 1x1, 1-d is 1 x n.
  Eigen::Map<const RowMajor> matrix() const;
  /// The one value of a 0-d (or one-element) array; throws ShapeError otherwise.
  double item() const;
  std::int64_t size() const noexcept { return static_cast<std::int64_t>(values.size()); }
};

namespace detail {
struct ArrayNode;
using ArrayNodePtr = std::shared_ptr<const ArrayNode>;
}  // namespace detail

/// A lazy chunked array; copying it copies a pointer to an immutable expression.
class Array {
 public:
  /// Wraps an expression node (used by rask's own builders).
  explicit Array(detail::ArrayNodePtr node);

  /// Logical shape: {} for 0-d, {n} for 1-d, {rows, cols} for 2-d. Local.
  Shape shape() const;
  int ndim() const noexcept;
  DType dtype() const noexcept;
  std::int64_t size() const noexcept;
  /// Chunk sizes per dimension, as dask's `.chunks`. Local.
  ChunkSizes chunks() const;
  /// Number of chunks (tasks a materialization of this array makes). Local.
  std::int64_t num_chunks() const noexcept;

  /// Transpose (the identity for 0-d and 1-d arrays, as NumPy's).
  Array T() const;
  /// Matrix product, as NumPy's dot for 1-d and 2-d operands: an owner-computes blocked
  /// GEMM. Inner chunks that differ are unified first, as Dask's (see unify_chunks); inner
  /// lengths that differ throw ShapeError naming both shapes and chunks.
  Array dot(const Array& other) const;

  /// Reductions over all elements (no axis) or along `axis` (0 or 1; negative counts
  /// from the end), as NumPy's; std and var with ddof = 0.
  Array sum(std::optional<int> axis = std::nullopt, bool keepdims = false) const;
  Array prod(std::optional<int> axis = std::nullopt, bool keepdims = false) const;
  Array mean(std::optional<int> axis = std::nullopt, bool keepdims = false) const;
  Array var(std::optional<int> axis = std::nullopt, bool keepdims = false) const;
  Array std(std::optional<int> axis = std::nullopt, bool keepdims = false) const;
  Array min(std::optional<int> axis = std::nullopt, bool keepdims = false) const;
  Array max(std::optional<int> axis = std::nullopt, bool keepdims = false) const;
  /// Index of the first minimum (maximum); with no axis, into the flattened array.
  Array argmin(std::optional<int> axis = std::nullopt, bool keepdims = false) const;
  Array argmax(std::optional<int> axis = std::nullopt, bool keepdims = false) const;

  /// The same values in chunks of the given size per dimension (edges uneven).
  Array rechunk(const Shape& chunks) const;
  /// The same values in exactly these chunks; their sums must equal the shape.
  Array rechunk(const ChunkSizes& chunks) const;

  /// Slicing by ranges and steps: x(rows) on a 1-d array or the rows of a 2-d one;
  /// x(rows, cols) on a 2-d array. Chunks follow the input's, as in dask.
  Array operator()(Slice first) const;
  Array operator()(Slice rows, Slice cols) const;

  /// Collective: computes the chunks where they live and keeps them there; the returned
  /// Array reads them instead of recomputing (dask's persist). The chunks are freed
  /// when the last Array referring to them is destroyed.
  Array persist() const;
  /// Collective: computes the array; the values reach rank 0 (every rank with
  /// Where::all). Other ranks get an ArrayValue with the shape and no values.
  ArrayValue compute(Where where = Where::root) const;

  /// Collective: draws the chunk graph as dask's visualize does (Graphviz; `.dot` text,
  /// or `.svg`, `.png`, `.pdf` through the `dot` program), each task coloured by its
  /// rank. Plans on every rank (no messages) and writes on rank 0.
  void visualize(const std::string& path) const;

  /// The expression as bytes (a few hundred, however many chunks), for sending it to
  /// other ranks; `deserialize` rebuilds an equal expression. Local.
  Bytes serialize() const;
  /// Throws SerializeError on bytes that are not an Array expression.
  static Array deserialize(const Bytes& bytes);

  /// A 64-bit fingerprint of the expression: equal expressions, equal tokens. Local.
  std::uint64_t token() const noexcept;
  /// One line: operation, shape, chunks and dtype, e.g. for error messages. Local.
  std::string describe() const;

  const detail::ArrayNodePtr& node() const noexcept { return node_; }

 private:
  detail::ArrayNodePtr node_;
};

/// Collective: computes several arrays in one graph, sharing their intermediates.
std::vector<ArrayValue> compute(const std::vector<Array>& arrays, Where where = Where::root);

/// A 0-d array holding `value` (float64 for floating `value`, int64 for integers, bool
/// for bool), as NumPy's scalars take part in expressions.
Array scalar(double value, DType dtype = DType::float64);

/// Arrays of one value. `chunks` gives the chunk size per dimension.
Array ones(const Shape& shape, const Shape& chunks, DType dtype = DType::float64);
Array zeros(const Shape& shape, const Shape& chunks, DType dtype = DType::float64);
Array full(const Shape& shape, double value, const Shape& chunks, DType dtype = DType::float64);
/// 1-d int64 values start, start + step, ... below stop (step > 0), in chunks of `chunk`.
Array arange(std::int64_t start, std::int64_t stop, std::int64_t step, std::int64_t chunk);
/// arange(0, stop, 1, chunk).
Array arange(std::int64_t stop, std::int64_t chunk);

/// Elementwise arithmetic with NumPy's broadcasting of 0-d arrays, rows and columns.
/// Operands chunked differently along an axis of the same length are first rechunked
/// to the chunks Dask's unify_chunks gives (see unify_chunks below).
Array operator+(const Array& a, const Array& b);
Array operator-(const Array& a, const Array& b);
Array operator*(const Array& a, const Array& b);
Array operator/(const Array& a, const Array& b);
/// a ** b (std::pow); spelled pow since C++ has no ** operator.
Array pow(const Array& a, const Array& b);
Array operator-(const Array& a);
/// Comparisons give bool arrays.
Array operator<(const Array& a, const Array& b);
Array operator<=(const Array& a, const Array& b);
Array operator>(const Array& a, const Array& b);
Array operator>=(const Array& a, const Array& b);
Array operator==(const Array& a, const Array& b);
Array operator!=(const Array& a, const Array& b);

Array exp(const Array& a);
Array log(const Array& a);
Array sqrt(const Array& a);
Array abs(const Array& a);

// ---------------------------------------------------------------------------------------
// Chunk rules (src/array/chunks.cpp): Dask's normalize_chunks, chunks="auto" and
// unify_chunks. rask's own operations and dask.array under `rask run` both use these, so
// a C++ program gets the chunks a job script gets.

/// Dask's array.chunk-size: chunks="auto" aims at chunks of at most this many bytes.
inline constexpr std::int64_t auto_chunk_bytes = std::int64_t{128} << 20;

/// Chunk sizes per dimension for chunks="auto": whole dimensions while the array's
/// float64 values fit in auto_chunk_bytes; else dimensions shorter than their equal share
/// of that stay whole and the others share what remains equally (Dask's rule, without its
/// rounding to round numbers). Local.
Shape auto_chunks(const Shape& shape);

/// A chunk specification's "auto" (Dask's 'auto' for one dimension).
struct AutoChunks {
  bool operator==(const AutoChunks&) const = default;
};
/// One dimension of a chunk specification, as an entry of Dask's `chunks=`: a chunk size
/// (-1 for the whole dimension, as Dask's -1 and None), explicit sizes, or AutoChunks.
using DimChunks = std::variant<std::int64_t, std::vector<std::int64_t>, AutoChunks>;

/// Dask's normalize_chunks: a specification with one entry per dimension as explicit
/// chunk sizes per dimension. For a 1-d shape, several sizes summing to its length are
/// that dimension's explicit sizes, as in Dask. Throws ShapeError, in Dask's words, for
/// a wrong number of entries, sizes <= 0 (other than -1) and sizes not summing to the
/// dimension. Local.
ChunkSizes normalize_chunks(const std::vector<DimChunks>& chunks, const Shape& shape);

/// The chunk size per dimension when every chunk but the last has that size and the last
/// is no larger (what rask's creation functions take), else std::nullopt. An empty
/// dimension counts as size 1. Local.
std::optional<Shape> regular_chunk_size(const ChunkSizes& chunks);

/// Dask's common_blockdim: the chunks that operands chunked as `a` and `b` along an axis
/// of one length are rechunked to. One of them when the other is a single chunk (or both
/// are equal), else the common refinement of both (every boundary of either). Local.
std::vector<std::int64_t> unify_dim(const std::vector<std::int64_t>& a, const std::vector<std::int64_t>& b);

/// Dask's unify_chunks for an elementwise operation: `a` and `b` rechunked so that each
/// axis they share (same length, not broadcast) has unify_dim's chunks. Shapes that do
/// not broadcast are left for the operation itself to report. Local.
std::pair<Array, Array> unify_chunks(const Array& a, const Array& b);

// ---------------------------------------------------------------------------------------
// Dtype rules beyond each operation's own (src/array/astype.cpp).

/// The values as `dtype` where NumPy's astype needs no rounding: anything to float64, to
/// bool (nonzero) and bool to int64; the same array when it has that dtype already;
/// std::nullopt for float64 to int64, which rounds (src/array/astype.cpp). Local.
std::optional<Array> astype(const Array& a, DType dtype);

namespace detail {
template <class S>
Array scalar_of(S v) {
  if constexpr (std::is_same_v<S, bool>) {
    return scalar(v ? 1.0 : 0.0, DType::boolean);
  } else if constexpr (std::is_integral_v<S>) {
    return scalar(static_cast<double>(v), DType::int64);
  } else {
    return scalar(static_cast<double>(v), DType::float64);
  }
}
}  // namespace detail

/// Scalars on either side, as `x + 1`, `2 * a`, `x - 0.5`, `x < 3`: an integer scalar
/// keeps an int64 array int64, a floating one makes float64 (NumPy's promotion).
#define RASK_ARRAY_SCALAR_OP(op)                                                                                \
  template <class S>                                                                                            \
  requires std::is_arithmetic_v<S> Array operator op(const Array& a, S s) { return a op detail::scalar_of(s); } \
  template <class S>                                                                                            \
  requires std::is_arithmetic_v<S> Array operator op(S s, const Array& a) { return detail::scalar_of(s) op a; }
RASK_ARRAY_SCALAR_OP(+)
RASK_ARRAY_SCALAR_OP(-)
RASK_ARRAY_SCALAR_OP(*)
RASK_ARRAY_SCALAR_OP(/)
RASK_ARRAY_SCALAR_OP(<)
RASK_ARRAY_SCALAR_OP(<=)
RASK_ARRAY_SCALAR_OP(>)
RASK_ARRAY_SCALAR_OP(>=)
RASK_ARRAY_SCALAR_OP(==)
RASK_ARRAY_SCALAR_OP(!=)
#undef RASK_ARRAY_SCALAR_OP

template <class S>
requires std::is_arithmetic_v<S> Array pow(const Array& a, S s) { return pow(a, detail::scalar_of(s)); }
template <class S>
requires std::is_arithmetic_v<S> Array pow(S s, const Array& a) { return pow(detail::scalar_of(s), a); }

}  // namespace rask
