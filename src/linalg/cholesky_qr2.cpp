// CholeskyQR and CholeskyQR2's passes over the rows of x: per-chunk Grams by dsyrk,
// summed in a fixed tree, factored by Cholesky (see tsqr.cpp for when each runs).
#include <cblas.h>

#include <cmath>
#include <limits>

#include "linalg/lapack.hpp"
#include "linalg/tsqr.hpp"

namespace rask::detail::tsqr {

namespace {

// g += rows^T rows (upper triangle; g column-major n x n). A row-major t x n tile is a
// column-major n x t matrix, so this is dsyrk's C += A A^T.
void gram_add(const double* rows, std::int64_t t, std::int64_t n, double* g) {
  cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, static_cast<int>(n), static_cast<int>(t), 1.0, rows,
              static_cast<int>(n), 1.0, g, static_cast<int>(n));
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

}  // namespace

// rows := rows R^-1 for upper-triangular R (column-major): R^T rows^T = rows^T.
void solve_right(const double* r, std::int64_t n, double* rows, std::int64_t t) {
  cblas_dtrsm(CblasColMajor, CblasLeft, CblasUpper, CblasTrans, CblasNonUnit, static_cast<int>(n),
              static_cast<int>(t), 1.0, r, static_cast<int>(n), rows, static_cast<int>(n));
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

}  // namespace rask::detail::tsqr
