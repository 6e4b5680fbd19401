#pragma once
// The expression behind rask::Array, and the chunk value its tasks pass around.
//
// Inside, every array is 2-d: a 1-d array of n is 1 x n (a row, which is how NumPy
// broadcasts it against a matrix) and a 0-d array is 1 x 1. `ndim` keeps the logical
// rank for shapes, axes and results.
#include <array>
#include <cstdint>
#include <memory>
#include <string>
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

enum class Op : std::uint8_t {
  full,       // reals[0] everywhere (ones, zeros, scalars)
  arange,     // reals[0] + reals[1] * column index
  random,     // sub = RandomKind; ints[0] = seed; reals = (low, high) or (loc, scale)
  hdf5,       // text[0] = file, text[1] = dataset
  persisted,  // ints[0] = persist id; chunks live in the rank-local store; ints[1..2]: a
              // process grid (rows, cols) overriding the usual one, when > 0
  unary,      // sub = UnaryOp
  binary,     // sub = BinaryOp
  transpose,
  dot,
  reduce,  // sub = ReduceOp; ints[0] = internal axis (-1: all); ints[1] = keepdims
  rechunk,
  slice,   // ints = (row start, row step, col start, col step), internal axes
  linalg,  // sub = LinalgPart; args[0] = the factored array; ints[0] = 1: by ScaLAPACK
           // (computed before the graph, see Prepared), else by TSQR
  literal,  // text[0] = the values as float64, row-major: a NumPy array a job script gave
};

enum class RandomKind : std::uint8_t { uniform, normal, randint };
enum class UnaryOp : std::uint8_t { neg, exp, log, sqrt, abs };
enum class BinaryOp : std::uint8_t { add, sub, mul, div, pow, lt, le, gt, ge, eq, ne };
enum class ReduceOp : std::uint8_t { sum, prod, mean, var, std, min, max, argmin, argmax };
enum class LinalgPart : std::uint8_t { qr_q, qr_r, svd_u, svd_s, svd_v };

/// Removes a persisted array's chunks from this rank's store when the last expression
/// using them goes.
struct PersistHandle {
  std::uint64_t id;
  explicit PersistHandle(std::uint64_t id_) : id(id_) {}
  ~PersistHandle();
  PersistHandle(const PersistHandle&) = delete;
  PersistHandle& operator=(const PersistHandle&) = delete;
};

struct ArrayNode {
  Op op{};
  std::uint8_t sub = 0;
  DType dtype = DType::float64;
  int ndim = 2;
  std::int64_t rows = 1, cols = 1;
  std::vector<std::int64_t> row_chunks{1}, col_chunks{1};
  std::vector<ArrayNodePtr> args;
  std::array<std::int64_t, 4> ints{};
  std::array<double, 2> reals{};
  std::array<std::string, 2> text;
  std::shared_ptr<PersistHandle> persisted;  // set for Op::persisted
  std::uint64_t token = 0;                   // structural fingerprint, set by finish()

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
std::shared_ptr<ArrayNode> make_source(Op op, DType dtype, const Shape& shape, const Shape& chunks, const char* what);

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
