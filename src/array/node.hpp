#pragma once
// The expression behind rask::Array, and the chunk value its tasks pass around.
//
// Inside, every array is 2-d: a 1-d array of n is 1 x n (a row, which is how NumPy
// broadcasts it against a matrix) and a 0-d array is 1 x 1. `ndim` keeps the logical
// rank for shapes, axes and results.
#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

#include "rask/array.hpp"
#include "rask/serialize.hpp"

namespace rask::detail {

/// One chunk: rows x cols float64 values, row-major, contiguous. Reduction partials use
/// the same type with `fields` values per element, interleaved.
struct Block {
  std::int64_t rows = 0, cols = 0;
  std::vector<double> data;
};

/// The operation of a node: the index of its parameters in ArrayNode::params.
enum class Op : std::uint8_t {
  full,
  arange,
  random,
  hdf5,
  persisted,
  unary,
  binary,
  transpose,
  dot,
  reduce,
  rechunk,
  slice,
  linalg,
  literal,
};

enum class RandomKind : std::uint8_t { uniform, normal, randint };
enum class UnaryOp : std::uint8_t { neg, exp, log, sqrt, abs };
enum class BinaryOp : std::uint8_t { add, sub, mul, div, pow, lt, le, gt, ge, eq, ne };
enum class ReduceOp : std::uint8_t { sum, prod, mean, var, std, min, max, argmin, argmax };
enum class LinalgPart : std::uint8_t { qr_q, qr_r, svd_u, svd_s, svd_v };
/// Which factorization makes a linalg part.
enum class LinalgMethod : std::uint8_t {
  tsqr,       // tall-skinny: CholeskyQR, CholeskyQR2 or Householder TSQR, chosen at run time
  scalapack,  // square or wide SVD: one collective PDGESVD (or symmetric eigensolver) task
};

/// The largest value of each enum a node parameter holds, so that a wire form naming
/// another is rejected.
constexpr RandomKind last_value(RandomKind) { return RandomKind::randint; }
constexpr UnaryOp last_value(UnaryOp) { return UnaryOp::abs; }
constexpr BinaryOp last_value(BinaryOp) { return BinaryOp::ne; }
constexpr ReduceOp last_value(ReduceOp) { return ReduceOp::argmax; }
constexpr LinalgPart last_value(LinalgPart) { return LinalgPart::svd_v; }
constexpr LinalgMethod last_value(LinalgMethod) { return LinalgMethod::scalapack; }

/// Removes a persisted array's chunks from this rank's store when the last expression
/// using them goes.
struct PersistHandle {
  std::uint64_t id;
  explicit PersistHandle(std::uint64_t id_) : id(id_) {}
  ~PersistHandle();
  PersistHandle(const PersistHandle&) = delete;
  PersistHandle& operator=(const PersistHandle&) = delete;
};

/// The parameters of each operation, one struct per Op. `fields` lists every member
/// that defines the expression, once: the token (finish) and the wire form
/// (Array::serialize) both walk it, so a member left out of it would make two different
/// expressions equal.
namespace ops {

/// `value` everywhere: ones, zeros, full, scalars.
struct Full {
  double value = 0;
  static constexpr auto fields = std::tuple{&Full::value};
};

/// start + step * (column index): a 1-d arange.
struct Arange {
  std::int64_t start = 0, step = 1;
  static constexpr auto fields = std::tuple{&Arange::start, &Arange::step};
};

/// Philox random numbers keyed by (seed, kind) and the global element index.
struct Random {
  RandomKind kind{};
  std::uint64_t seed = 0;
  double p0 = 0, p1 = 0;  // (low, high) for uniform and randint; (loc, scale) for normal
  static constexpr auto fields = std::tuple{&Random::kind, &Random::seed, &Random::p0, &Random::p1};
};

/// A dataset of an HDF5 file, read chunk by chunk.
struct Hdf5 {
  std::string file, dataset;
  static constexpr auto fields = std::tuple{&Hdf5::file, &Hdf5::dataset};
};

/// Chunks computed earlier and kept in each rank's store under `id`.
struct Persisted {
  std::uint64_t id = 0;
  // Keeps the chunks alive while this node lives; not part of the expression's identity.
  std::shared_ptr<PersistHandle> handle;
  static constexpr auto fields = std::tuple{&Persisted::id};
};

struct Unary {
  UnaryOp op{};
  static constexpr auto fields = std::tuple{&Unary::op};
};

struct Binary {
  BinaryOp op{};
  static constexpr auto fields = std::tuple{&Binary::op};
};

struct Transpose {
  static constexpr std::tuple<> fields{};
};

struct Dot {
  static constexpr std::tuple<> fields{};
};

/// A reduction of args[0] along an internal axis.
struct Reduce {
  ReduceOp op{};
  int axis = -1;  // internal: -1 all, 0 rows, 1 columns
  bool keepdims = false;
  static constexpr auto fields = std::tuple{&Reduce::op, &Reduce::axis, &Reduce::keepdims};
};

struct Rechunk {
  static constexpr std::tuple<> fields{};
};

/// Every step-th element from start, along the internal axes of args[0].
struct Slice {
  std::int64_t row_start = 0, row_step = 1, col_start = 0, col_step = 1;
  static constexpr auto fields = std::tuple{&Slice::row_start, &Slice::row_step, &Slice::col_start, &Slice::col_step};
};

/// One part of the QR or SVD of args[0].
struct Linalg {
  LinalgPart part{};
  LinalgMethod method{};
  static constexpr auto fields = std::tuple{&Linalg::part, &Linalg::method};
};

/// Values the expression carries: a NumPy array a job script gave (`values`, float64
/// row-major bytes), or da.from_delayed's one chunk, whose values the Delayed under
/// `delayed_key` gives at compute (`values` empty until filled in).
struct Literal {
  std::string values, delayed_key;
  static constexpr auto fields = std::tuple{&Literal::values, &Literal::delayed_key};
};

}  // namespace ops

/// One alternative per Op, in Op's order.
using OpParams = std::variant<ops::Full, ops::Arange, ops::Random, ops::Hdf5, ops::Persisted, ops::Unary, ops::Binary,
                              ops::Transpose, ops::Dot, ops::Reduce, ops::Rechunk, ops::Slice, ops::Linalg,
                              ops::Literal>;
template <Op op, class T>
constexpr bool params_of = std::is_same_v<std::variant_alternative_t<static_cast<std::size_t>(op), OpParams>, T>;
static_assert(std::variant_size_v<OpParams> == static_cast<std::size_t>(Op::literal) + 1);
static_assert(params_of<Op::full, ops::Full> && params_of<Op::arange, ops::Arange> &&
              params_of<Op::random, ops::Random> && params_of<Op::hdf5, ops::Hdf5> &&
              params_of<Op::persisted, ops::Persisted> && params_of<Op::unary, ops::Unary> &&
              params_of<Op::binary, ops::Binary> && params_of<Op::transpose, ops::Transpose> &&
              params_of<Op::dot, ops::Dot> && params_of<Op::reduce, ops::Reduce> &&
              params_of<Op::rechunk, ops::Rechunk> && params_of<Op::slice, ops::Slice> &&
              params_of<Op::linalg, ops::Linalg> && params_of<Op::literal, ops::Literal>);

/// Calls f(member) on every field of operation parameters `p`, in declaration order.
template <class P, class F>
void each_field(P& p, F&& f) {
  std::apply([&](auto... member) { (f(p.*member), ...); }, std::remove_const_t<P>::fields);
}

struct ArrayNode {
  OpParams params;  // the operation and its parameters
  DType dtype = DType::float64;
  int ndim = 2;
  std::int64_t rows = 1, cols = 1;
  std::vector<std::int64_t> row_chunks{1}, col_chunks{1};
  std::vector<ArrayNodePtr> args;
  std::uint64_t token = 0;  // structural fingerprint, set by finish()

  Op op() const noexcept { return static_cast<Op>(params.index()); }
  /// The parameters of this node's operation, which must be T's.
  template <class T>
  const T& as() const {
    return std::get<T>(params);
  }
  template <class T>
  T& as() {
    return std::get<T>(params);
  }
  std::int64_t row_blocks() const noexcept { return static_cast<std::int64_t>(row_chunks.size()); }
  std::int64_t col_blocks() const noexcept { return static_cast<std::int64_t>(col_chunks.size()); }
};

/// The dtype of a reduction's result over values of `dtype`, as NumPy's: sum and prod
/// of bools count (int64), mean, var and std are float64, argmin and argmax int64.
DType reduced_dtype(ReduceOp op, DType dtype);

/// Computes node.token from everything that defines the expression; call last.
ArrayNodePtr finish(std::shared_ptr<ArrayNode> node);

/// A node of the given logical shape in regular chunks (creation functions); checks the
/// shape and chunks, naming `what` in errors.
std::shared_ptr<ArrayNode> make_source(OpParams params, DType dtype, const Shape& shape, const Shape& chunks,
                                       const char* what);

/// Chunk sizes covering `extent` in pieces of `size` (the last one smaller). Throws
/// ShapeError for size <= 0.
std::vector<std::int64_t> regular_chunks(std::int64_t extent, std::int64_t size, const char* what);

/// "(15, 15)" and "((5, 5, 5), (5, 5, 5))": shapes and chunks as dask prints them.
std::string shape_str(const ArrayNode& n);
std::string chunks_str(const ArrayNode& n);

/// Offsets of the chunks along one axis (size + 1 entries, the last the extent).
std::vector<std::int64_t> offsets(const std::vector<std::int64_t>& chunks);

/// The rank owning chunk (bi, bj) of a node's chunk grid on `nranks` ranks: a 2-D
/// block-cyclic process grid (see array.hpp).
int chunk_owner(const ArrayNode& n, std::int64_t bi, std::int64_t bj, int nranks);
/// The process grid (rows, cols) chosen for a chunk grid on `nranks` ranks.
std::pair<int, int> process_grid(std::int64_t row_blocks, std::int64_t col_blocks, int nranks);

}  // namespace rask::detail

template <>
struct rask::Serializer<rask::detail::Block> {
  static void write(Writer& w, const detail::Block& b) {
    w.write(b.rows);
    w.write(b.cols);
    w.write(b.data);
  }
  static detail::Block read(Reader& r) {
    detail::Block b;
    b.rows = r.read<std::int64_t>();
    b.cols = r.read<std::int64_t>();
    b.data = r.read<std::vector<double>>();
    return b;
  }
};

// A chunk's values cross ranks as a block, from the sending chunk's storage into the
// receiving one's (see rask::Contiguous): no serialization copy for chunks of 64 KiB
// and more.
template <>
struct rask::Contiguous<rask::detail::Block> {
  static void header(Writer& w, const detail::Block& b) {
    w.write(b.rows);
    w.write(b.cols);
    w.write(static_cast<std::uint64_t>(b.data.size()));
  }
  static std::span<const std::byte> bytes(const detail::Block& b) { return std::as_bytes(std::span(b.data)); }
  static detail::Block make(Reader& r) {
    detail::Block b;
    b.rows = r.read<std::int64_t>();
    b.cols = r.read<std::int64_t>();
    b.data.resize(r.read<std::uint64_t>());
    return b;
  }
  static std::span<std::byte> storage(detail::Block& b) { return std::as_writable_bytes(std::span(b.data)); }
};
