#pragma once
// Fused elementwise programs.
//
// A chain of elementwise operations over one output chunk compiles to a list of
// instructions; the chunk is evaluated one row tile at a time (at most kTile values), each
// instruction filling one small register, so a chain makes no intermediate chunk and its
// registers stay in cache. Leaves are chunks made by other tasks (read in place when
// contiguous), constants and aranges. Reductions (reduce.cpp) stream their input chunks
// through the same programs.
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "array/lower.hpp"

namespace rask::detail {

constexpr std::int64_t kTile = 512;

struct Instr {
  enum Kind : std::uint8_t { leaf, constant, arange, unary, binary } kind;
  UnaryOp unary_op{};
  BinaryOp binary_op{};
  int a = -1, b = -1;           // operand registers
  int input = -1;               // leaf: index into the task's inputs
  std::int64_t sr = 0, sc = 0;  // leaf: strides of output row and column in the input block
  double v0 = 0, v1 = 0;        // constant value; arange first value and step
};

// Leaves read from this rank's store of persisted chunks, in place (no task, no copy).
constexpr int kStored = 1 << 24;  // Instr::input at or above this: stored[input - kStored]
struct StoredRef {
  std::uint64_t id;
  std::int64_t bi, bj;
};

struct Program {
  std::vector<Instr> code;
  std::vector<StoredRef> stored;
  std::int64_t rows = 0, cols = 0;  // the output block
  bool strided = false;             // a leaf is read across (transposed): walk in square tiles
};

/// Whether `op` joins a fused program (elementwise) rather than being one of its leaves.
bool fusable(Op op);

/// The program producing chunk (bi, bj) of `m` (fused when elementwise), appending the
/// tasks it reads to `deps`; `owner` is the rank the program runs on (-1: unknown).
Program compile_chunk(Lowering& lowering, const ArrayNodePtr& m, std::int64_t bi, std::int64_t bj,
                      std::vector<TaskId>& deps, int owner);

/// The task name of an elementwise node, as dask names its layer.
const char* op_name(const ArrayNode& n);

inline double apply_unary(UnaryOp op, double x) {
  switch (op) {
    case UnaryOp::neg:
      return -x;
    case UnaryOp::exp:
      return std::exp(x);
    case UnaryOp::log:
      return std::log(x);
    case UnaryOp::sqrt:
      return std::sqrt(x);
    case UnaryOp::abs:
      return std::fabs(x);
  }
  return x;
}

template <class F>
inline void binary_loop(const double* a, const double* b, double* out, std::int64_t len, F f) {
  for (std::int64_t k = 0; k < len; ++k) out[k] = f(a[k], b[k]);
}

inline void apply_binary(BinaryOp op, const double* a, const double* b, double* out, std::int64_t len) {
  switch (op) {
    case BinaryOp::add:
      return binary_loop(a, b, out, len, [](double x, double y) { return x + y; });
    case BinaryOp::sub:
      return binary_loop(a, b, out, len, [](double x, double y) { return x - y; });
    case BinaryOp::mul:
      return binary_loop(a, b, out, len, [](double x, double y) { return x * y; });
    case BinaryOp::div:
      return binary_loop(a, b, out, len, [](double x, double y) { return x / y; });
    case BinaryOp::pow:
      return binary_loop(a, b, out, len, [](double x, double y) { return std::pow(x, y); });
    case BinaryOp::lt:
      return binary_loop(a, b, out, len, [](double x, double y) { return double(x < y); });
    case BinaryOp::le:
      return binary_loop(a, b, out, len, [](double x, double y) { return double(x <= y); });
    case BinaryOp::gt:
      return binary_loop(a, b, out, len, [](double x, double y) { return double(x > y); });
    case BinaryOp::ge:
      return binary_loop(a, b, out, len, [](double x, double y) { return double(x >= y); });
    case BinaryOp::eq:
      return binary_loop(a, b, out, len, [](double x, double y) { return double(x == y); });
    case BinaryOp::ne:
      return binary_loop(a, b, out, len, [](double x, double y) { return double(x != y); });
  }
}

// Runs `p` over its output block, calling sink(row, col, len, values) per row tile.
template <class Sink>
void run_program(const Program& p, const Inputs& in, Sink&& sink) {
  const std::size_t n = p.code.size();
  std::vector<double> storage(n * kTile);
  std::vector<const double*> reg(n);
  std::vector<std::shared_ptr<const Block>> held;
  for (const StoredRef& ref : p.stored) {
    held.push_back(store_get(ref.id, ref.bi, ref.bj));
    if (!held.back())
      throw Error("persisted chunk (" + std::to_string(ref.bi) + ", " + std::to_string(ref.bj) +
                  ") is not on this rank: persist and compute must run with the same ranks");
  }
  std::vector<const Block*> blocks(n, nullptr);
  for (std::size_t k = 0; k < n; ++k)
    if (p.code[k].kind == Instr::leaf)
      blocks[k] = p.code[k].input >= kStored ? held[p.code[k].input - kStored].get() : &in.get<Block>(p.code[k].input);
  // Constants never change: fill their registers once.
  for (std::size_t k = 0; k < n; ++k)
    if (p.code[k].kind == Instr::constant) std::fill_n(&storage[k * kTile], kTile, p.code[k].v0);
  // Row tiles, or square tiles when a leaf is read across, so that its cache lines and
  // pages are reused by the next rows. Either way each column sees its rows in order.
  const std::int64_t tile_cols = p.strided ? 64 : kTile, tile_rows = p.strided ? 64 : 1;
  for (std::int64_t row0 = 0; row0 < p.rows; row0 += tile_rows)
    for (std::int64_t col = 0; col < p.cols; col += tile_cols)
      for (std::int64_t row = row0; row < std::min(p.rows, row0 + tile_rows); ++row) {
        const std::int64_t len = std::min(tile_cols, p.cols - col);
        for (std::size_t k = 0; k < n; ++k) {
          const Instr& ins = p.code[k];
          double* out = &storage[k * kTile];
          switch (ins.kind) {
            case Instr::constant:
              reg[k] = out;
              break;
            case Instr::leaf: {
              const double* base = blocks[k]->data.data() + row * ins.sr + col * ins.sc;
              if (ins.sc == 1) {
                reg[k] = base;  // contiguous: read in place
              } else if (ins.sc == 0) {
                std::fill_n(out, len, *base);
                reg[k] = out;
              } else {
                for (std::int64_t t = 0; t < len; ++t) out[t] = base[t * ins.sc];
                reg[k] = out;
              }
              break;
            }
            case Instr::arange:
              for (std::int64_t t = 0; t < len; ++t) out[t] = ins.v0 + ins.v1 * static_cast<double>(col + t);
              reg[k] = out;
              break;
            case Instr::unary: {
              const double* a = reg[ins.a];
              for (std::int64_t t = 0; t < len; ++t) out[t] = apply_unary(ins.unary_op, a[t]);
              reg[k] = out;
              break;
            }
            case Instr::binary:
              apply_binary(ins.binary_op, reg[ins.a], reg[ins.b], out, len);
              reg[k] = out;
              break;
          }
        }
        sink(row, col, len, reg[n - 1]);
      }
}

}  // namespace rask::detail
