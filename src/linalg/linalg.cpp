// The public QR and SVD: tall-skinny arrays to TSQR, square and wide ones to ScaLAPACK.
#include <algorithm>

#include "array/lower.hpp"
#include "rask/linalg.hpp"
#include "rask/random.hpp"

namespace rask {
namespace detail {
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

Array part(const ArrayNodePtr& x, LinalgPart which, LinalgMethod method, std::int64_t rows, std::int64_t cols,
           int ndim, std::vector<std::int64_t> row_chunks, std::vector<std::int64_t> col_chunks) {
  auto n = std::make_shared<ArrayNode>();
  n->params = ops::Linalg{which, method};
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

using detail::LinalgMethod;
using detail::LinalgPart;

QR tsqr(const Array& x) {
  auto t = detail::tall_skinny(x, "tsqr");
  const std::int64_t n = t->cols;
  return QR{detail::part(t, LinalgPart::qr_q, LinalgMethod::tsqr, t->rows, n, 2, t->row_chunks, {n}),
            detail::part(t, LinalgPart::qr_r, LinalgMethod::tsqr, n, n, 2, {n}, {n})};
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
      return detail::part(a, which, LinalgMethod::scalapack, rows, cols, ndim, std::move(rc), std::move(cc));
    };
    auto chunks = [&](std::int64_t extent) { return detail::regular_chunks(extent, block, "svd"); };
    return SVD{part(LinalgPart::svd_u, m, k, 2, chunks(m), chunks(k)), part(LinalgPart::svd_s, 1, k, 1, {1}, {k}),
               part(LinalgPart::svd_v, k, n, 2, chunks(k), chunks(n))};
  }
  auto t = detail::tall_skinny(x, "svd");
  const std::int64_t n = t->cols;
  return SVD{detail::part(t, LinalgPart::svd_u, LinalgMethod::tsqr, t->rows, n, 2, t->row_chunks, {n}),
             detail::part(t, LinalgPart::svd_s, LinalgMethod::tsqr, 1, n, 1, {1}, {n}),
             detail::part(t, LinalgPart::svd_v, LinalgMethod::tsqr, n, n, 2, {n}, {n})};
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
