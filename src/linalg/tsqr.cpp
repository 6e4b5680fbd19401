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
// The Householder fallback is in householder_tsqr.cpp, the CholeskyQR passes in
// cholesky_qr2.cpp; this file holds what joins them: where the rows come from, and the
// outputs' tasks that read cond(R1) and take one path's result. The public svd and qr
// are in linalg.cpp.
#include <cblas.h>

#include "linalg/lapack.hpp"
#include "linalg/tsqr.hpp"

namespace rask::detail {
namespace tsqr {

namespace {
// The random array whose rows x's are, made again by a leaf instead of read.
const ArrayNode* random_origin(const ArrayNodePtr& x) {
  if (x->op() == Op::random && x->dtype == DType::float64) return x.get();
  if (x->op() == Op::rechunk && x->args[0]->op() == Op::random && x->args[0]->dtype == DType::float64)
    return x->args[0].get();
  return nullptr;
}
}  // namespace

RowSource row_source(Lowering& low, const ArrayNodePtr& x, std::int64_t i, std::vector<TaskId>& deps) {
  RowSource src;
  src.row0 = offsets(x->row_chunks)[i];
  src.rows = x->row_chunks[i];
  src.cols = x->cols;
  src.index = i;
  if (const ArrayNode* origin = random_origin(x)) {
    src.fill.emplace(*origin);
  } else if (x->op() == Op::persisted) {
    // Read where it lives, no copy: a persisted x costs no memory while the passes that
    // may read it again wait for the first one.
    src.stored = x->as<ops::Persisted>().id;
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

namespace {

// The R whose SVD gives the outputs, column-major n x n: R1 (one pass, s only), R2 R1
// (CholeskyQR2) or Householder's.
TaskId final_r(Lowering& low, const ArrayNodePtr& x, bool s_only) {
  const std::int64_t n = x->cols;
  const TaskId r1 = first_pass(low, x);
  const TaskId r12 = second_pass(low, x, r1, s_only);
  const TaskId rh = householder_r(low, x, r1);
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
}  // namespace tsqr

// TSQR's parts have one column of chunks: bj is 0.
TaskId lower_tsqr_chunk(Lowering& low, const ArrayNodePtr& n, std::int64_t bi, std::int64_t /*bj*/) {
  using namespace tsqr;
  const ArrayNodePtr& x = n->args[0];
  const std::int64_t cols = x->cols;
  switch (n->as<ops::Linalg>().part) {
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

}  // namespace rask::detail
