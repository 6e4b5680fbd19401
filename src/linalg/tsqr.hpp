#pragma once
// What the parts of TSQR share: the run-time choice of method, where a leaf's rows come
// from, and the passes each method file makes (cholesky_qr2.cpp, householder_tsqr.cpp).
// tsqr.cpp describes the whole.
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "array/lower.hpp"
#include "rask/token.hpp"

namespace rask::detail::tsqr {

constexpr TaskId kNoTask = static_cast<TaskId>(-1);

// A token for one of the tasks TSQR makes for x.
inline Token role(const ArrayNode& x, std::uint64_t what, std::uint64_t level = 0, std::uint64_t index = 0) {
  return token_combine(token_combine(token_combine(token_combine(x.token, 0x75a7), what), level), index);
}

// Which method runs, decided at run time from cond(R1), R1 the Cholesky factor of the
// Gram matrix X^T X (the singular values of R1 are those of X as long as the Cholesky
// succeeds; they are computed exactly by dgesdd, n^3 flops, nothing next to m n^2).
//
// s alone from R1 (one pass, CholeskyQR): the Gram's rounding error dG ~ c u |X|^2
// moves s_i by about dG / (2 s_i), an error relative to s_max of c u cond(X) / 2.
// Measured (NumPy on the same OpenBLAS, 200,000 x 500 inputs of known singular values,
// Gram summed by chunks of 10,000 rows): 7e-15 at cond 1e3, 4e-14 at 1e4, 5e-13 at 1e5,
// 4e-12 at 1e6, growing with cond as the model says. The contract is 1e-12 of s_max:
// up to cond 1e4 keeps 25x margin.
constexpr double kOnePassLimit = 1e4;
// CholeskyQR2 (Q1 = X R1^-1, R2 from Q1's Gram, R = R2 R1, Q = Q1 R2^-1): Q1 loses
// orthogonality like cond(X)^2 u, which must stay well below 1 for the second Cholesky
// to succeed and Q to come out orthogonal to O(u) (the roundoff analysis of Yamamoto,
// Nakatsukasa, Yanagisawa and Fukaya, ETNA 2015). At 1e6 that is 1e-4. Measured: s
// within 1e-15 of s_max up to cond 1e7 (the NumPy experiment above); in rask,
// ||U^T U - I||_F 2e-14 and ||X - U S V||/||X|| 2e-15 at cond 3e5 (30,000 x 100).
// Above it (or if the Cholesky fails: cond(X) ~ 1e8 or more, or NaN in X),
// Householder TSQR, which is accurate at any condition.
constexpr double kCholQR2Limit = 1e6;

enum class Method { cholesky_qr, cholesky_qr2, householder };

// `s_only`: only singular values are wanted, so one pass may do.
inline Method choose(double cond, bool s_only) {
  if (s_only && cond <= kOnePassLimit) return Method::cholesky_qr;
  if (cond <= kCholQR2Limit) return Method::cholesky_qr2;
  return Method::householder;  // also when cond is NaN or +inf (Cholesky failed)
}

// The R1 bundle: [R1 (n*n, column-major, upper), cond(R1), s(R1) (n)] in an n x n Block.
inline double cond_of(const Block& r1) { return r1.data[r1.rows * r1.cols]; }
inline const double* singular_values_of(const Block& r1) { return r1.data.data() + r1.rows * r1.cols + 1; }

// A task of a path not chosen returns an empty Block.
inline bool empty(const Block& b) { return b.data.empty(); }
inline Block nothing() { return Block{0, 0, {}}; }

// Where a leaf's rows come from: its chunk task, or made again from the random
// generator (x is random, or a rechunk of random): then no chunk of x ever lives whole,
// only a tile of rows at a time.
struct RowSource {
  std::optional<RandomFill> fill;
  std::int64_t row0 = 0, rows = 0, cols = 0;
  std::uint64_t stored = 0;  // x persisted: its id; the chunk is read in place from the store
  std::int64_t index = 0;    // the chunk's row-block index (for the store)
  int input = -1;            // otherwise the chunk task's input index

  // The chunk as a block (not for `fill`); `held` keeps a stored one alive.
  const Block& chunk(const Inputs& in, std::shared_ptr<const Block>& held) const {
    if (!stored) return in.get<Block>(input);
    held = store_get(stored, index, 0);
    if (!held)
      throw Error("persisted chunk (" + std::to_string(index) +
                  ", 0) is not on this rank: persist and compute must run with the same ranks");
    return *held;
  }
};

constexpr std::int64_t kTileRows = 512;  // 512 x 500 doubles: 2 MB, in L2/L3

/// The source of chunk i's rows; appends the chunk task to deps unless made again.
RowSource row_source(Lowering& low, const ArrayNodePtr& x, std::int64_t i, std::vector<TaskId>& deps);

/// Where a leaf over chunk i runs (see tsqr.cpp).
int leaf_owner(const Lowering& low, const ArrayNodePtr& x, std::int64_t i, const RowSource& src);

// Calls f(tile, t) for consecutive tiles of at most kTileRows rows, row-major t x cols,
// writable (a copy or freshly made).
template <class F>
void each_tile(const RowSource& src, const Inputs& in, F f) {
  const std::int64_t n = src.cols;
  std::vector<double> tile(std::min(kTileRows, src.rows) * n);
  std::shared_ptr<const Block> held;
  const Block* chunk = src.fill ? nullptr : &src.chunk(in, held);
  for (std::int64_t r = 0; r < src.rows; r += kTileRows) {
    const std::int64_t t = std::min(kTileRows, src.rows - r);
    if (chunk)
      std::copy_n(chunk->data.data() + r * n, t * n, tile.data());
    else
      (*src.fill)(src.row0 + r, 0, t, n, tile.data());
    f(tile.data(), t);
  }
}

// CholeskyQR (cholesky_qr2.cpp).

/// rows := rows R^-1 for upper-triangular R (column-major), t rows of n.
void solve_right(const double* r, std::int64_t n, double* rows, std::int64_t t);
/// Throws the SVD's error for NaN or Inf in `a`.
void check_finite(const std::vector<double>& a);
/// Singular values of a column-major n x n matrix (descending); throws if dgesdd fails.
std::vector<double> singular_values(std::vector<double> a, std::int64_t n);
/// The first pass, shared by every output: the R1 bundle.
TaskId first_pass(Lowering& low, const ArrayNodePtr& x);
/// CholeskyQR2's second pass: [R = R2 R1, R2], or an empty Block when not chosen.
TaskId second_pass(Lowering& low, const ArrayNodePtr& x, TaskId r1, bool s_only);

// Householder TSQR (householder_tsqr.cpp), every task empty unless cond(R1) chooses it.

/// The R of x (column-major n x n) at the root of the merge tree.
TaskId householder_r(Lowering& low, const ArrayNodePtr& x, TaskId r1);
/// Q (want_u false) or u (true) chunk i by the down pass from the root; `svd_r` is the
/// small SVD bundle (for u).
TaskId householder_q_chunk(Lowering& low, const ArrayNodePtr& x, TaskId r1, TaskId svd_r, std::int64_t i,
                           bool want_u);

}  // namespace rask::detail::tsqr
