// QR and SVD of tall-skinny arrays: CholeskyQR2 where its condition-number limit holds,
// Householder TSQR otherwise, decided at run time.
//
// First pass (always): each row chunk's Gram X_i^T X_i by dsyrk (half the flops of a
// Householder QR), made tile by tile as the chunk is generated when x is random, so a
// random x never lives whole; the Grams summed in a fixed tree over chunk indices, then
// Cholesky -> R1 and cond(R1) from its singular values. The outputs' tasks read cond(R1)
// and run one of (see choose()):
//   cond <= 1e4, s alone: CholeskyQR, s from R1;
//   cond <= 1e6: CholeskyQR2, a second pass Q1 = X R1^-1 (tile by tile, never kept) ->
//     its Gram -> R2, R = R2 R1; Q = Q1 R2^-1 and u = Q1 R2^-1 U_R, made from x's rows again;
//   above, or when the Cholesky fails: Householder TSQR.
// Every path is in the graph (the plan is static); a path not chosen returns empty
// Blocks at once.
//
// Householder TSQR: each row chunk is factored by LAPACK's Householder QR (dgeqrf); the R
// factors of consecutive pairs are merged by dtpqrt, which exploits that both are
// triangular (about (2/3) n^3 flops a merge, a fifth of refactoring the stack), level by
// level to one R; an odd node out moves up unchanged. Down the tree, only when Q or u is
// wanted: each merge applies its reflectors (dtpmqrt) to its share of the root's W (the
// identity for Q, R's left singular vectors for u), and each leaf its own (dormqr).
// Factor blocks inside the tree are column-major, as LAPACK wants them; results are
// row-major Blocks.
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

#include "array/lower.hpp"
#include "rask/linalg.hpp"
#include "rask/random.hpp"
#include "rask/token.hpp"

extern "C" {
void dgeqrf_(const int* m, const int* n, double* a, const int* lda, double* tau, double* work, const int* lwork,
             int* info);
void dormqr_(const char* side, const char* trans, const int* m, const int* n, const int* k, const double* a,
             const int* lda, const double* tau, double* c, const int* ldc, double* work, const int* lwork, int* info,
             std::size_t side_len, std::size_t trans_len);
void dtpqrt_(const int* m, const int* n, const int* l, const int* nb, double* a, const int* lda, double* b,
             const int* ldb, double* t, const int* ldt, double* work, int* info);
void dtpmqrt_(const char* side, const char* trans, const int* m, const int* n, const int* k, const int* l,
              const int* nb, const double* v, const int* ldv, const double* t, const int* ldt, double* a,
              const int* lda, double* b, const int* ldb, double* work, int* info, std::size_t side_len,
              std::size_t trans_len);
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info, std::size_t uplo_len);
void dgesdd_(const char* jobz, const int* m, const int* n, double* a, const int* lda, double* s, double* u,
             const int* ldu, double* vt, const int* ldvt, double* work, const int* lwork, int* iwork, int* info,
             std::size_t jobz_len);
}

namespace rask {
namespace detail {
namespace {

constexpr std::size_t kFanIn = 2;         // pairs: dtpqrt merges two triangles
constexpr std::int64_t kMergeBlock = 32;  // dtpqrt's inner block size

std::uint64_t fan_power(std::size_t level) {
  std::uint64_t p = 1;
  for (std::size_t k = 0; k < level; ++k) p *= kFanIn;
  return p;
}

[[noreturn]] void lapack_failed(const char* routine, int info) {
  throw Error(std::string("LAPACK ") + routine + " failed with info = " + std::to_string(info) +
              (info > 0 ? " (the SVD did not converge; the input may hold NaN or Inf)" : " (an argument was invalid)"));
}

// Householder QR in place of a column-major m x n block (m >= n); returns the packed
// factor with its tau appended.
Block householder(std::int64_t m, std::int64_t n, std::vector<double> a) {
  const int mi = static_cast<int>(m), ni = static_cast<int>(n);
  a.resize(m * n + n);
  double* tau = a.data() + m * n;
  int lwork = -1, info = 0;
  double query = 0;
  dgeqrf_(&mi, &ni, a.data(), &mi, tau, &query, &lwork, &info);
  lwork = std::max(1, static_cast<int>(query));
  std::vector<double> work(lwork);
  dgeqrf_(&mi, &ni, a.data(), &mi, tau, work.data(), &lwork, &info);
  if (info != 0) lapack_failed("dgeqrf", info);
  return Block{m, n, std::move(a)};
}

// Q * c for the packed factor `f` (rows x n, tau after), c column-major rows x n.
void apply_q(const Block& f, std::vector<double>& c) {
  const int m = static_cast<int>(f.rows), n = static_cast<int>(f.cols);
  const double* tau = f.data.data() + f.rows * f.cols;
  int lwork = -1, info = 0;
  double query = 0;
  dormqr_("L", "N", &m, &n, &n, f.data.data(), &m, tau, c.data(), &m, &query, &lwork, &info, 1, 1);
  lwork = std::max(1, static_cast<int>(query));
  std::vector<double> work(lwork);
  dormqr_("L", "N", &m, &n, &n, f.data.data(), &m, tau, c.data(), &m, work.data(), &lwork, &info, 1, 1);
  if (info != 0) lapack_failed("dormqr", info);
}

// The n x n upper triangle of a packed factor, column-major.
Block r_of(const Block& f) {
  const std::int64_t n = f.cols;
  Block r{n, n, std::vector<double>(n * n, 0.0)};
  for (std::int64_t col = 0; col < n; ++col)
    for (std::int64_t row = 0; row <= col; ++row) r.data[row + col * n] = f.data[row + col * f.rows];
  return r;
}

// Merges two n x n upper-triangular R factors (column-major): returns [R (n*n), V (n*n),
// T (nb*n)] as an n x n Block, so that r_of() reads the merged R from its front.
Block merge_pair(const Block& top, const Block& bottom) {
  const int n = static_cast<int>(top.cols), nb = static_cast<int>(std::min<std::int64_t>(kMergeBlock, top.cols));
  Block out{top.cols, top.cols, std::vector<double>(2 * n * n + nb * n)};
  double* a = out.data.data();
  double* v = a + n * n;
  double* t = v + n * n;
  std::copy_n(top.data.data(), n * n, a);
  std::copy_n(bottom.data.data(), n * n, v);
  std::vector<double> work(static_cast<std::size_t>(nb) * n);
  int info = 0;
  dtpqrt_(&n, &n, &n, &nb, a, &n, v, &n, t, &nb, work.data(), &info);
  if (info != 0) lapack_failed("dtpqrt", info);
  return out;
}

// The two children's shares of Q_merge [W; 0], stacked: a 2n x n column-major Block.
Block merge_apply(const Block& merged, const std::vector<double>& w) {
  const int n = static_cast<int>(merged.cols), nb = static_cast<int>(std::min<std::int64_t>(kMergeBlock, merged.cols));
  const double* v = merged.data.data() + n * n;
  const double* t = v + n * n;
  std::vector<double> top(w), bottom(static_cast<std::size_t>(n) * n, 0.0), work(static_cast<std::size_t>(nb) * n);
  int info = 0;
  dtpmqrt_("L", "N", &n, &n, &n, &n, &nb, v, &n, t, &nb, top.data(), &n, bottom.data(), &n, work.data(), &info, 1, 1);
  if (info != 0) lapack_failed("dtpmqrt", info);
  Block out{2 * merged.cols, merged.cols, std::vector<double>(2 * n * n)};
  for (int col = 0; col < n; ++col) {
    std::copy_n(top.data() + col * n, n, out.data.data() + col * 2 * n);
    std::copy_n(bottom.data() + col * n, n, out.data.data() + col * 2 * n + n);
  }
  return out;
}

constexpr TaskId kNoTask = static_cast<TaskId>(-1);

Token role(const ArrayNode& x, std::uint64_t what, std::uint64_t level = 0, std::uint64_t index = 0) {
  return token_combine(token_combine(token_combine(token_combine(x.token, 0x75a7), what), level), index);
}

// ---------------------------------------------------------------------------------------
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
Method choose(double cond, bool s_only) {
  if (s_only && cond <= kOnePassLimit) return Method::cholesky_qr;
  if (cond <= kCholQR2Limit) return Method::cholesky_qr2;
  return Method::householder;  // also when cond is NaN or +inf (Cholesky failed)
}

// The R1 bundle: [R1 (n*n, column-major, upper), cond(R1), s(R1) (n)] in an n x n Block.
double cond_of(const Block& r1) { return r1.data[r1.rows * r1.cols]; }
const double* singular_values_of(const Block& r1) { return r1.data.data() + r1.rows * r1.cols + 1; }

bool empty(const Block& b) { return b.data.empty(); }
Block nothing() { return Block{0, 0, {}}; }

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

const ArrayNode* random_origin(const ArrayNodePtr& x) {
  if (x->op == Op::random && x->dtype == DType::float64) return x.get();
  if (x->op == Op::rechunk && x->args[0]->op == Op::random && x->args[0]->dtype == DType::float64)
    return x->args[0].get();
  return nullptr;
}

// The source of chunk i's rows; appends the chunk task to deps unless made again.
RowSource row_source(Lowering& low, const ArrayNodePtr& x, std::int64_t i, std::vector<TaskId>& deps) {
  RowSource src;
  src.row0 = offsets(x->row_chunks)[i];
  src.rows = x->row_chunks[i];
  src.cols = x->cols;
  src.index = i;
  if (const ArrayNode* origin = random_origin(x)) {
    src.fill.emplace(*origin);
  } else if (x->op == Op::persisted) {
    // Read where it lives, no copy: a persisted x costs no memory while the passes that
    // may read it again wait for the first one.
    src.stored = static_cast<std::uint64_t>(x->ints[0]);
  } else {
    src.input = static_cast<int>(deps.size());
    deps.push_back(low.chunk(x, i, 0));
  }
  return src;
}

// Where a leaf over chunk i runs: with its chunk, or, when the rows are made again, on
// ranks in contiguous runs of chunks, so that the fixed pairwise tree above the leaves
// stays on one rank until its last log2(ranks) levels (the chunks themselves are
// block-cyclic: neighbours on different ranks would send every first-level Gram).
int leaf_owner(const Lowering& low, const ArrayNodePtr& x, std::int64_t i, const RowSource& src) {
  if (!src.fill) return low.owner(*x, i, 0);
  return static_cast<int>(i * low.nranks() / x->row_blocks());
}

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

// g += rows^T rows (upper triangle; g column-major n x n). A row-major t x n tile is a
// column-major n x t matrix, so this is dsyrk's C += A A^T.
void gram_add(const double* rows, std::int64_t t, std::int64_t n, double* g) {
  cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, static_cast<int>(n), static_cast<int>(t), 1.0, rows,
              static_cast<int>(n), 1.0, g, static_cast<int>(n));
}

// rows := rows R^-1 for upper-triangular R (column-major): R^T rows^T = rows^T.
void solve_right(const double* r, std::int64_t n, double* rows, std::int64_t t) {
  cblas_dtrsm(CblasColMajor, CblasLeft, CblasUpper, CblasTrans, CblasNonUnit, static_cast<int>(n),
              static_cast<int>(t), 1.0, r, static_cast<int>(n), rows, static_cast<int>(n));
}

// Sums leaf Grams pairwise in a fixed tree over chunk indices (bitwise the same at any
// rank and thread count); an empty leaf (a skipped pass) makes an empty sum.
TaskId gram_tree(Lowering& low, const ArrayNodePtr& x, std::uint64_t what, std::vector<TaskId> level) {
  const std::int64_t n = x->cols;
  for (std::uint64_t depth = 1; level.size() > 1; ++depth) {
    std::vector<TaskId> up;
    for (std::size_t k = 0; k < level.size(); k += 2) {
      if (k + 1 == level.size()) {
        up.push_back(level[k]);
        continue;
      }
      up.push_back(low.add(
          "gram-sum", role(*x, what, depth, k / 2), {level[k], level[k + 1]},
          [](const Inputs& in) {
            const Block& a = in.get<Block>(0);
            const Block& b = in.get<Block>(1);
            if (empty(a) || empty(b)) return nothing();
            Block sum = a;
            for (std::size_t e = 0; e < sum.data.size(); ++e) sum.data[e] += b.data[e];
            return sum;
          },
          -1, n * n / 2e9, 8.0 * n * n));
    }
    level = std::move(up);
  }
  return level[0];
}

// Upper Cholesky factor of a Gram (column-major), lower part zeroed; false if it is not
// numerically positive definite.
bool cholesky(std::vector<double>& g, std::int64_t n) {
  const int ni = static_cast<int>(n);
  int info = 0;
  dpotrf_("U", &ni, g.data(), &ni, &info, 1);
  if (info < 0) lapack_failed("dpotrf", info);
  for (std::int64_t col = 0; col < n; ++col)
    for (std::int64_t row = col + 1; row < n; ++row) g[row + col * n] = 0.0;
  return info == 0;
}

// LAPACK's SVD refuses NaN and Inf (as NumPy's svd raises); say so plainly.
void check_finite(const std::vector<double>& a) {
  if (!std::all_of(a.begin(), a.end(), [](double v) { return std::isfinite(v); }))
    throw Error("svd: the input holds NaN or Inf, so its SVD is undefined (NumPy raises LinAlgError too); "
                "remove or replace them (e.g. where(isfinite(x), x, 0)) before calling svd");
}

// Singular values of a column-major n x n matrix (descending); throws if dgesdd fails.
std::vector<double> singular_values(std::vector<double> a, std::int64_t n) {
  check_finite(a);
  const int ni = static_cast<int>(n);
  std::vector<double> s(n);
  std::vector<int> iwork(8 * n);
  int lwork = -1, info = 0, one = 1;
  double query = 0, dummy = 0;
  dgesdd_("N", &ni, &ni, a.data(), &ni, s.data(), &dummy, &one, &dummy, &one, &query, &lwork, iwork.data(), &info,
          1);
  lwork = std::max(1, static_cast<int>(query));
  std::vector<double> work(lwork);
  dgesdd_("N", &ni, &ni, a.data(), &ni, s.data(), &dummy, &one, &dummy, &one, work.data(), &lwork, iwork.data(),
          &info, 1);
  if (info != 0) lapack_failed("dgesdd", info);
  return s;
}

// CholeskyQR's first pass, shared by every output: per-chunk Grams by dsyrk (fused with
// the chunk's generation when x is random), summed, factored. Returns the R1 bundle.
TaskId first_pass(Lowering& low, const ArrayNodePtr& x) {
  const std::int64_t n = x->cols;
  std::vector<TaskId> leaves;
  for (std::int64_t i = 0; i < x->row_blocks(); ++i) {
    std::vector<TaskId> deps;
    RowSource src = row_source(low, x, i, deps);
    const std::int64_t m = src.rows;
    const int owner = leaf_owner(low, x, i, src);
    leaves.push_back(low.add(
        "gram", role(*x, 30, 0, i), std::move(deps),
        [src = std::move(src)](const Inputs& in) {
          const std::int64_t n = src.cols;
          Block g{n, n, std::vector<double>(n * n, 0.0)};
          if (src.fill) {
            each_tile(src, in, [&](double* tile, std::int64_t t) { gram_add(tile, t, n, g.data.data()); });
          } else {  // the chunk as it is: one dsyrk, no copy
            std::shared_ptr<const Block> held;
            gram_add(src.chunk(in, held).data.data(), src.rows, n, g.data.data());
          }
          return g;
        },
        owner, 1.0 * m * n * n / 4e10, 8.0 * n * n));
  }
  const TaskId gram = gram_tree(low, x, 30, std::move(leaves));
  return low.add(
      "cholqr-r1", role(*x, 31), {gram},
      [n](const Inputs& in) {
        Block r1{n, n, in.get<Block>(0).data};
        r1.data.resize(n * n + 1 + n, 0.0);
        double cond = std::numeric_limits<double>::infinity();
        const bool finite =
            std::all_of(r1.data.begin(), r1.data.begin() + n * n, [](double v) { return std::isfinite(v); });
        if (!finite) {
          cond = std::numeric_limits<double>::quiet_NaN();  // NaN or Inf in x: Householder, as LAPACK would
        } else if (cholesky(r1.data, n)) {
          const std::vector<double> s =
              singular_values(std::vector<double>(r1.data.begin(), r1.data.begin() + n * n), n);
          cond = s[0] / s[n - 1];  // +inf for a zero s, NaN for NaN: both fail every test
          std::copy(s.begin(), s.end(), r1.data.begin() + n * n + 1);
        }
        r1.data[n * n] = cond;
        return r1;
      },
      -1, 2.0 * n * n * n / 1e10, 8.0 * n * n);
}

// CholeskyQR2's second pass when `when` holds for cond(R1): per chunk, Q1 = X R1^-1 a tile
// at a time and its Gram (Q1 is never kept), summed, factored. Returns [R = R2 R1 (n*n),
// R2 (n*n)] as an n x n Block, or an empty Block when skipped.
TaskId second_pass(Lowering& low, const ArrayNodePtr& x, TaskId r1, bool s_only) {
  const std::int64_t n = x->cols;
  const std::uint64_t what = s_only ? 41 : 40;
  std::vector<TaskId> leaves;
  for (std::int64_t i = 0; i < x->row_blocks(); ++i) {
    std::vector<TaskId> deps{r1};
    RowSource src = row_source(low, x, i, deps);
    const int owner = leaf_owner(low, x, i, src);
    leaves.push_back(low.add(
        "gram2", role(*x, what, 0, i), std::move(deps),
        [src = std::move(src), s_only](const Inputs& in) {
          const Block& r1b = in.get<Block>(0);
          if (choose(cond_of(r1b), s_only) != Method::cholesky_qr2) return nothing();
          const std::int64_t n = src.cols;
          Block g{n, n, std::vector<double>(n * n, 0.0)};
          each_tile(src, in, [&](double* tile, std::int64_t t) {
            solve_right(r1b.data.data(), n, tile, t);
            gram_add(tile, t, n, g.data.data());
          });
          return g;
        },
        owner, 1e-6, 8.0 * n * n));
  }
  const TaskId gram = gram_tree(low, x, what, std::move(leaves));
  return low.add(
      "cholqr2-r", role(*x, what + 10), {gram, r1},
      [n](const Inputs& in) {
        const Block& g = in.get<Block>(0);
        if (empty(g)) return nothing();
        std::vector<double> r2 = g.data;
        if (!cholesky(r2, n))
          throw Error("CholeskyQR2: the second Cholesky factorization failed although cond(R1) = " +
                      std::to_string(cond_of(in.get<Block>(1))) + " is within the limit " +
                      std::to_string(kCholQR2Limit) + "; this is a bug in rask's choice of method, please report it");
        // R = R2 R1 (both upper triangular).
        Block out{n, n, std::vector<double>(2 * n * n)};
        std::copy_n(in.get<Block>(1).data.data(), n * n, out.data.data());
        cblas_dtrmm(CblasColMajor, CblasLeft, CblasUpper, CblasNoTrans, CblasNonUnit, static_cast<int>(n),
                    static_cast<int>(n), 1.0, r2.data(), static_cast<int>(n), out.data.data(), static_cast<int>(n));
        std::copy_n(r2.data(), n * n, out.data.data() + n * n);
        return out;
      },
      -1, 2.0 * n * n * n / 1e10, 16.0 * n * n);
}

// ---------------------------------------------------------------------------------------
// Householder TSQR, the fallback: every task runs only when the R1 bundle says so (its
// leaves take the bundle as input 0) and gives an empty Block otherwise.
struct Tree {
  std::vector<std::vector<TaskId>> packed;  // [level][node]: the factor; kNoTask: passed up unchanged
  std::vector<std::vector<TaskId>> r;       // [level][node]: its R
  TaskId root_r() const { return r.back()[0]; }
};

Tree up(Lowering& low, const ArrayNodePtr& x, TaskId r1) {
  Tree t;
  const std::int64_t n = x->cols;
  t.packed.emplace_back();
  t.r.emplace_back();
  for (std::int64_t i = 0; i < x->row_blocks(); ++i) {
    const std::int64_t m = x->row_chunks[i];
    std::vector<TaskId> deps{r1};
    RowSource src = row_source(low, x, i, deps);
    const int owner = leaf_owner(low, x, i, src);
    const TaskId f = low.add(
        "tsqr-leaf", role(*x, 1, 0, i), std::move(deps),
        [m, n, src = std::move(src)](const Inputs& in) {
          if (choose(cond_of(in.get<Block>(0)), false) != Method::householder) return nothing();
          std::vector<double> a(m * n);
          std::int64_t row = 0;
          each_tile(src, in, [&](const double* tile, std::int64_t rows) {
            for (std::int64_t r = 0; r < rows; ++r, ++row)
              for (std::int64_t col = 0; col < n; ++col) a[row + col * m] = tile[r * n + col];
          });
          return householder(m, n, std::move(a));
        },
        owner, 1e-6, 8.0 * n * n);
    t.packed[0].push_back(f);
    t.r[0].push_back(low.add(
        "tsqr-r", role(*x, 2, 0, i), {f},
        [](const Inputs& in) { return empty(in.get<Block>(0)) ? nothing() : r_of(in.get<Block>(0)); }, -1, 1e-6,
        8.0 * n * n));
  }
  for (std::uint64_t level = 1; t.r.back().size() > 1; ++level) {
    const auto& below = t.r.back();
    std::vector<TaskId> packed, rs;
    for (std::size_t start = 0; start < below.size(); start += kFanIn) {
      std::vector<TaskId> deps(below.begin() + start, below.begin() + std::min(below.size(), start + kFanIn));
      const std::uint64_t index = start / kFanIn;
      if (deps.size() == 1) {  // the odd node out moves up as it is
        packed.push_back(kNoTask);
        rs.push_back(deps[0]);
        continue;
      }
      const TaskId f = low.add(
          "tsqr-merge", role(*x, 1, level, index), deps,
          [](const Inputs& in) {
            if (empty(in.get<Block>(0))) return nothing();
            return merge_pair(in.get<Block>(0), in.get<Block>(1));
          },
          -1, 1e-6, 8.0 * n * n);
      packed.push_back(f);
      rs.push_back(low.add(
          "tsqr-r", role(*x, 2, level, index), {f},
          [](const Inputs& in) { return empty(in.get<Block>(0)) ? nothing() : r_of(in.get<Block>(0)); }, -1, 1e-6,
          8.0 * n * n));
    }
    t.packed.push_back(std::move(packed));
    t.r.push_back(std::move(rs));
  }
  return t;
}

// The R whose SVD gives the outputs, column-major n x n: R1 (one pass, s only), R2 R1
// (CholeskyQR2) or Householder's.
TaskId final_r(Lowering& low, const ArrayNodePtr& x, bool s_only) {
  const std::int64_t n = x->cols;
  const TaskId r1 = first_pass(low, x);
  const TaskId r12 = second_pass(low, x, r1, s_only);
  const TaskId rh = up(low, x, r1).root_r();
  return low.add(
      "tsqr-final-r", role(*x, s_only ? 61 : 60), {r1, r12, rh},
      [n, s_only](const Inputs& in) {
        const Block& r1b = in.get<Block>(0);
        switch (choose(cond_of(r1b), s_only)) {
          case Method::cholesky_qr:
            return Block{n, n, std::vector<double>(r1b.data.begin(), r1b.data.begin() + n * n)};
          case Method::cholesky_qr2: {
            const Block& b = in.get<Block>(1);
            return Block{n, n, std::vector<double>(b.data.begin(), b.data.begin() + n * n)};
          }
          case Method::householder:
            break;
        }
        return in.get<Block>(2);
      },
      -1, 1e-5, 8.0 * n * n);
}

// U, s and VT of the final R (as Q or u need it), one column-major bundle:
// [U (n*n), s (n), VT (n*n)].
TaskId small_svd(Lowering& low, const ArrayNodePtr& x) {
  const std::int64_t n = x->cols;
  return low.add(
      "svd-r", role(*x, 3), {final_r(low, x, false)},
      [n](const Inputs& in) {
        std::vector<double> a = in.get<Block>(0).data;
        check_finite(a);
        Block out{n, n, std::vector<double>(2 * n * n + n)};
        double* u = out.data.data();
        double* s = u + n * n;
        double* vt = s + n;
        const int ni = static_cast<int>(n);
        std::vector<int> iwork(8 * n);
        int lwork = -1, info = 0;
        double query = 0;
        dgesdd_("A", &ni, &ni, a.data(), &ni, s, u, &ni, vt, &ni, &query, &lwork, iwork.data(), &info, 1);
        lwork = std::max(1, static_cast<int>(query));
        std::vector<double> work(lwork);
        dgesdd_("A", &ni, &ni, a.data(), &ni, s, u, &ni, vt, &ni, work.data(), &lwork, iwork.data(), &info, 1);
        if (info != 0) lapack_failed("dgesdd", info);
        return out;
      },
      -1, 10.0 * n * n * n / 1e10, 8.0 * (2 * n * n + n));
}

// Where a node's n x n share of W is: rows [position * n, +n) of a column-major block.
struct WSource {
  TaskId task;
  std::int64_t position;
};

std::vector<double> w_block(const Block& from, std::int64_t position, std::int64_t n) {
  std::vector<double> w(n * n);
  for (std::int64_t col = 0; col < n; ++col)
    std::copy_n(from.data.data() + position * n + col * from.rows, n, w.data() + col * n);
  return w;
}

// Householder's Q (want_u false) or u (true) chunk i, empty unless Householder runs:
// the down pass from the root's W to leaf i.
TaskId householder_q_chunk(Lowering& low, const ArrayNodePtr& x, TaskId r1, TaskId svd_r, std::int64_t i,
                           bool want_u) {
  const std::int64_t n = x->cols;
  Tree t = up(low, x, r1);
  const std::uint64_t kind = want_u ? 10 : 20;
  // The root's W: identity for Q; R's left singular vectors for u.
  TaskId root_w;
  if (want_u) {
    root_w = low.add(
        "svd-u-r", role(*x, kind), {svd_r},
        [n](const Inputs& in) {
          const Block& b = in.get<Block>(0);
          return Block{n, n, std::vector<double>(b.data.begin(), b.data.begin() + n * n)};
        },
        -1, 1e-5, 8.0 * n * n);
  } else {
    root_w = low.add(
        "qr-identity", role(*x, kind), {},
        [n](const Inputs&) {
          Block w{n, n, std::vector<double>(n * n, 0.0)};
          for (std::int64_t d = 0; d < n; ++d) w.data[d + d * n] = 1.0;
          return w;
        },
        -1, 1e-6, 8.0 * n * n);
  }
  // Walk down from the root to leaf i, making each node's product on the way.
  const std::size_t top = t.packed.size() - 1;
  WSource w{root_w, 0};
  for (std::size_t level = top; level >= 1; --level) {
    const std::uint64_t node = static_cast<std::uint64_t>(i) / fan_power(level);
    if (t.packed[level][node] == kNoTask) continue;  // passed up unchanged: W passes down unchanged
    const TaskId product = low.add(
        "tsqr-down", role(*x, kind + 1, level, node), {t.packed[level][node], w.task},
        [n, position = w.position](const Inputs& in) {
          if (empty(in.get<Block>(0))) return nothing();
          return merge_apply(in.get<Block>(0), w_block(in.get<Block>(1), position, n));
        },
        -1, 1e-6, 16.0 * n * n);
    const std::uint64_t child = static_cast<std::uint64_t>(i) / fan_power(level - 1);
    w = WSource{product, static_cast<std::int64_t>(child % kFanIn)};
  }
  const std::int64_t m = x->row_chunks[i];
  return low.add(
      want_u ? "tsqr-u" : "tsqr-q", role(*x, kind + 2, 0, i), {t.packed[0][i], w.task},
      [n, m, position = w.position](const Inputs& in) {
        const Block& f = in.get<Block>(0);
        if (empty(f)) return nothing();
        std::vector<double> c(m * n, 0.0);
        std::vector<double> wb = w_block(in.get<Block>(1), position, n);
        for (std::int64_t col = 0; col < n; ++col) std::copy_n(wb.data() + col * n, n, c.data() + col * m);
        apply_q(f, c);
        Block q{m, n, std::vector<double>(m * n)};
        for (std::int64_t row = 0; row < m; ++row)
          for (std::int64_t col = 0; col < n; ++col) q.data[row * n + col] = c[row + col * m];
        return q;
      },
      low.owner(*x, i, 0), 1e-6, 8.0 * m * n);
}

// Q (want_u false) or u (true) chunk i. CholeskyQR2: Q = X R1^-1 R2^-1 and u = Q U_R,
// both made from x's rows again (or the chunk), a tile at a time, so Q1 is never kept;
// Householder: its down pass.
TaskId q_chunk(Lowering& low, const ArrayNodePtr& x, const ArrayNode& out, std::int64_t i, bool want_u) {
  const std::int64_t n = x->cols;
  const TaskId r1 = first_pass(low, x);
  const TaskId r12 = second_pass(low, x, r1, false);
  const TaskId svd_r = want_u ? small_svd(low, x) : kNoTask;  // Q needs no SVD
  const TaskId hh = householder_q_chunk(low, x, r1, svd_r, i, want_u);
  std::vector<TaskId> deps{r1, r12, hh};
  if (want_u) deps.push_back(svd_r);
  RowSource src = row_source(low, x, i, deps);
  const std::int64_t m = src.rows;
  return low.add(
      want_u ? "svd-u" : "qr-q", chunk_token(out, i, 0), std::move(deps),
      [n, m, want_u, src = std::move(src)](const Inputs& in) {
        const Block& r1b = in.get<Block>(0);
        if (choose(cond_of(r1b), false) == Method::householder) return in.get<Block>(2);
        const double* r2 = in.get<Block>(1).data.data() + n * n;
        // u: Q1 (R2^-1 U_R), the small product once per chunk (R2 is as well
        // conditioned as Q1, so its inverse applied by a product loses nothing).
        std::vector<double> w;
        if (want_u) {
          const double* ur = in.get<Block>(3).data.data();
          w.assign(ur, ur + n * n);
          cblas_dtrsm(CblasColMajor, CblasLeft, CblasUpper, CblasNoTrans, CblasNonUnit, static_cast<int>(n),
                      static_cast<int>(n), 1.0, r2, static_cast<int>(n), w.data(), static_cast<int>(n));
        }
        Block q{m, n, std::vector<double>(m * n)};
        std::int64_t row = 0;
        each_tile(src, in, [&](double* tile, std::int64_t t) {
          solve_right(r1b.data.data(), n, tile, t);
          double* dst = q.data.data() + row * n;
          if (want_u) {
            // Row-major tile (t x n) times W: column-major, dst^T = W^T tile^T.
            cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, static_cast<int>(n), static_cast<int>(t),
                        static_cast<int>(n), 1.0, w.data(), static_cast<int>(n), tile, static_cast<int>(n), 0.0, dst,
                        static_cast<int>(n));
          } else {
            solve_right(r2, n, tile, t);
            std::copy_n(tile, t * n, dst);
          }
          row += t;
        });
        return q;
      },
      low.owner(out, i, 0), 4.0 * m * n * n / 4e10, 8.0 * m * n);
}

}  // namespace

TaskId lower_linalg_chunk(Lowering& low, const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj) {
  if (n->ints[0] == 1) return low.chunk(low.prepared(n->token), bi, bj);  // ScaLAPACK, done before
  const ArrayNodePtr& x = n->args[0];
  const std::int64_t cols = x->cols;
  switch (static_cast<LinalgPart>(n->sub)) {
    case LinalgPart::qr_q:
      return q_chunk(low, x, *n, bi, false);
    case LinalgPart::svd_u:
      return q_chunk(low, x, *n, bi, true);
    case LinalgPart::qr_r: {
      return low.add(
          "qr-r", chunk_token(*n, 0, 0), {final_r(low, x, false)},
          [cols](const Inputs& in) {
            const Block& r = in.get<Block>(0);
            Block out{cols, cols, std::vector<double>(cols * cols)};
            for (std::int64_t row = 0; row < cols; ++row)
              for (std::int64_t col = 0; col < cols; ++col) out.data[row * cols + col] = r.data[row + col * cols];
            return out;
          },
          low.owner(*n, 0, 0), 1e-5, 8.0 * cols * cols);
    }
    case LinalgPart::svd_s: {
      // Values only, from the R of the cheapest accurate method for s alone; CholeskyQR's
      // are those of R1, computed already for its condition number.
      return low.add(
          "svd-s", chunk_token(*n, 0, 0), {first_pass(low, x), final_r(low, x, true)},
          [cols](const Inputs& in) {
            const Block& r1 = in.get<Block>(0);
            if (choose(cond_of(r1), true) == Method::cholesky_qr) {
              const double* s = singular_values_of(r1);
              return Block{1, cols, std::vector<double>(s, s + cols)};
            }
            return Block{1, cols, singular_values(in.get<Block>(1).data, cols)};
          },
          low.owner(*n, 0, 0), 4.0 * cols * cols * cols / 1e10, 8.0 * cols);
    }
    case LinalgPart::svd_v: {
      return low.add(
          "svd-v", chunk_token(*n, 0, 0), {small_svd(low, x)},
          [cols](const Inputs& in) {
            const Block& b = in.get<Block>(0);
            const double* vt = b.data.data() + cols * cols + cols;
            Block out{cols, cols, std::vector<double>(cols * cols)};
            for (std::int64_t row = 0; row < cols; ++row)
              for (std::int64_t col = 0; col < cols; ++col) out.data[row * cols + col] = vt[row + col * cols];
            return out;
          },
          low.owner(*n, 0, 0), 1e-6, 8.0 * cols * cols);
    }
  }
  throw Error("internal: unknown linalg part");
}

namespace {

// x with one column of chunks and every row chunk at least as tall as x is wide, as
// TSQR needs; `what` names the caller in errors.
ArrayNodePtr tall_skinny(const Array& x, const char* what) {
  const ArrayNode& n = *x.node();
  if (n.ndim != 2) throw ShapeError(std::string(what) + ": needs a 2-d array, got shape " + shape_str(n));
  if (n.cols > n.rows)
    throw ShapeError(std::string(what) + ": shape " + shape_str(n) + " chunks " + chunks_str(n) +
                     " has more columns than rows; TSQR factors tall-skinny arrays (factor x.T() instead)");
  std::vector<std::int64_t> rows = n.row_chunks;
  const bool short_chunk = std::any_of(rows.begin(), rows.end(), [&](std::int64_t r) { return r < n.cols; });
  if (!short_chunk && n.col_blocks() == 1) return x.node();
  if (short_chunk) {
    // Regular chunks at least n.cols tall, a short remainder merged into the last.
    rows = regular_chunks(n.rows, std::max(n.cols, n.row_chunks[0]), what);
    if (rows.size() > 1 && rows.back() < n.cols) {
      rows[rows.size() - 2] += rows.back();
      rows.pop_back();
    }
  }
  return x.rechunk(ChunkSizes{rows, {n.cols}}).node();
}

Array part(const ArrayNodePtr& x, LinalgPart which, std::int64_t rows, std::int64_t cols, int ndim,
           std::vector<std::int64_t> row_chunks, std::vector<std::int64_t> col_chunks) {
  auto n = std::make_shared<ArrayNode>();
  n->op = Op::linalg;
  n->sub = static_cast<std::uint8_t>(which);
  n->dtype = DType::float64;
  n->ndim = ndim;
  n->rows = rows;
  n->cols = cols;
  n->row_chunks = std::move(row_chunks);
  n->col_chunks = std::move(col_chunks);
  n->args = {x};
  return Array(finish(n));
}

}  // namespace
}  // namespace detail

namespace linalg {

using detail::LinalgPart;

QR tsqr(const Array& x) {
  auto t = detail::tall_skinny(x, "tsqr");
  const std::int64_t n = t->cols;
  return QR{detail::part(t, LinalgPart::qr_q, t->rows, n, 2, t->row_chunks, {n}),
            detail::part(t, LinalgPart::qr_r, n, n, 2, {n}, {n})};
}

QR qr(const Array& x) { return tsqr(x); }

SVD svd(const Array& x) {
  const detail::ArrayNode& in = *x.node();
  if (in.ndim == 2 && (in.col_blocks() > 1 || in.cols > in.rows)) {
    // Square or wide, or more than one column of chunks: ScaLAPACK on square blocks.
    const std::int64_t block = in.row_chunks[0];
    auto regular = [&](const std::vector<std::int64_t>& c, std::int64_t extent) {
      return c == detail::regular_chunks(extent, block, "svd");
    };
    detail::ArrayNodePtr a = x.node();
    if (!regular(in.row_chunks, in.rows) || !regular(in.col_chunks, in.cols)) a = x.rechunk({block, block}).node();
    const std::int64_t m = a->rows, n = a->cols, k = std::min(m, n);
    auto part = [&](LinalgPart which, std::int64_t rows, std::int64_t cols, int ndim, std::vector<std::int64_t> rc,
                    std::vector<std::int64_t> cc) {
      Array p = detail::part(a, which, rows, cols, ndim, std::move(rc), std::move(cc));
      auto node = std::make_shared<detail::ArrayNode>(*p.node());
      node->ints[0] = 1;
      return Array(detail::finish(node));
    };
    auto chunks = [&](std::int64_t extent) { return detail::regular_chunks(extent, block, "svd"); };
    return SVD{part(LinalgPart::svd_u, m, k, 2, chunks(m), chunks(k)), part(LinalgPart::svd_s, 1, k, 1, {1}, {k}),
               part(LinalgPart::svd_v, k, n, 2, chunks(k), chunks(n))};
  }
  auto t = detail::tall_skinny(x, "svd");
  const std::int64_t n = t->cols;
  return SVD{detail::part(t, LinalgPart::svd_u, t->rows, n, 2, t->row_chunks, {n}),
             detail::part(t, LinalgPart::svd_s, 1, n, 1, {1}, {n}),
             detail::part(t, LinalgPart::svd_v, n, n, 2, {n}, {n})};
}

SVD svd_compressed(const Array& x, std::int64_t k, int n_power_iter, std::uint64_t seed) {
  const detail::ArrayNode& n = *x.node();
  if (n.ndim != 2 || k <= 0 || k > std::min(n.rows, n.cols))
    throw ShapeError("svd_compressed: rank k = " + std::to_string(k) +
                     " must be from 1 to min(rows, columns) of shape " + detail::shape_str(n));
  if (n_power_iter < 0) throw ShapeError("svd_compressed: n_power_iter must be >= 0");
  // The Gaussian test matrix, chunked to match x's columns.
  Array omega =
      random::normal(0.0, 1.0, {n.cols, k}, {n.col_chunks[0], k}, seed).rechunk(ChunkSizes{n.col_chunks, {k}});
  Array y = x.dot(omega);
  for (int iter = 0; iter < n_power_iter; ++iter) {
    Array z = qr(x.T().dot(qr(y).q)).q;
    y = x.dot(z);
  }
  Array q = qr(y).q;
  Array b = q.T().dot(x);  // k x columns
  SVD small = svd(b.T());  // b^T = u2 s v2, so b = v2^T s u2^T
  return SVD{q.dot(small.v.T()), small.s, small.u.T()};
}

}  // namespace linalg
}  // namespace rask
