// TSQR and the SVD built on it.
//
// Up the tree: each row chunk is factored by LAPACK's Householder QR (dgeqrf); the R
// factors of consecutive pairs are merged by dtpqrt, which exploits that both are
// triangular (about (2/3) n^3 flops a merge, a fifth of refactoring the stack), level by
// level to one R; an odd node out moves up unchanged. The SVD of that small R (dgesdd)
// gives s and v. Down the tree, only when Q or u is wanted: each merge applies its
// reflectors (dtpmqrt) to its share of the root's W (the identity for Q, R's left
// singular vectors for u), and each leaf its own (dormqr). Factor blocks inside the tree
// are column-major, as LAPACK wants them; results are row-major Blocks.
#include <algorithm>
#include <cstring>

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

struct Tree {
  std::vector<std::vector<TaskId>> packed;  // [level][node]: the factor; kNoTask: passed up unchanged
  std::vector<std::vector<TaskId>> r;       // [level][node]: its R
  TaskId root_r() const { return r.back()[0]; }
};

Token role(const ArrayNode& x, std::uint64_t what, std::uint64_t level = 0, std::uint64_t index = 0) {
  return token_combine(token_combine(token_combine(token_combine(x.token, 0x75a7), what), level), index);
}

Tree up(Lowering& low, const ArrayNodePtr& x) {
  Tree t;
  const std::int64_t n = x->cols;
  t.packed.emplace_back();
  t.r.emplace_back();
  for (std::int64_t i = 0; i < x->row_blocks(); ++i) {
    const std::int64_t m = x->row_chunks[i];
    const TaskId f = low.add(
        "tsqr-leaf", role(*x, 1, 0, i), {low.chunk(x, i, 0)},
        [m, n](const Inputs& in) {
          const Block& b = in.get<Block>(0);
          std::vector<double> a(m * n);
          for (std::int64_t row = 0; row < m; ++row)
            for (std::int64_t col = 0; col < n; ++col) a[row + col * m] = b.data[row * n + col];
          return householder(m, n, std::move(a));
        },
        low.owner(*x, i, 0), 2.0 * m * n * n / 1.5e10, 8.0 * (m * n + n));
    t.packed[0].push_back(f);
    t.r[0].push_back(low.add(
        "tsqr-r", role(*x, 2, 0, i), {f}, [](const Inputs& in) { return r_of(in.get<Block>(0)); }, -1, 1e-5,
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
          [](const Inputs& in) { return merge_pair(in.get<Block>(0), in.get<Block>(1)); }, -1,
          (2.0 / 3.0) * n * n * n / 1e10, 8.0 * (2 * n * n + kMergeBlock * n));
      packed.push_back(f);
      rs.push_back(low.add(
          "tsqr-r", role(*x, 2, level, index), {f}, [](const Inputs& in) { return r_of(in.get<Block>(0)); }, -1, 1e-5,
          8.0 * n * n));
    }
    t.packed.push_back(std::move(packed));
    t.r.push_back(std::move(rs));
  }
  return t;
}

// U, s and VT of the root R, one column-major bundle: [U (n*n), s (n), VT (n*n)].
TaskId small_svd(Lowering& low, const ArrayNodePtr& x, const Tree& t) {
  const std::int64_t n = x->cols;
  return low.add(
      "svd-r", role(*x, 3), {t.root_r()},
      [n](const Inputs& in) {
        std::vector<double> a = in.get<Block>(0).data;
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

// Q (want_u false) or u (true) chunk i: the down pass to leaf i.
TaskId q_chunk(Lowering& low, const ArrayNodePtr& x, const ArrayNode& out, std::int64_t i, bool want_u) {
  const std::int64_t n = x->cols;
  Tree t = up(low, x);
  const std::uint64_t kind = want_u ? 10 : 20;
  // The root's W: identity for Q; R's left singular vectors for u.
  TaskId root_w;
  if (want_u) {
    root_w = low.add(
        "svd-u-r", role(*x, kind), {small_svd(low, x, t)},
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
          return merge_apply(in.get<Block>(0), w_block(in.get<Block>(1), position, n));
        },
        -1, (4.0 / 3.0) * n * n * n / 1e10, 16.0 * n * n);
    const std::uint64_t child = static_cast<std::uint64_t>(i) / fan_power(level - 1);
    w = WSource{product, static_cast<std::int64_t>(child % kFanIn)};
  }
  const std::int64_t m = x->row_chunks[i];
  return low.add(
      want_u ? "svd-u" : "qr-q", chunk_token(out, i, 0), {t.packed[0][i], w.task},
      [n, m, position = w.position](const Inputs& in) {
        const Block& f = in.get<Block>(0);
        std::vector<double> c(m * n, 0.0);
        std::vector<double> wb = w_block(in.get<Block>(1), position, n);
        for (std::int64_t col = 0; col < n; ++col) std::copy_n(wb.data() + col * n, n, c.data() + col * m);
        apply_q(f, c);
        Block q{m, n, std::vector<double>(m * n)};
        for (std::int64_t row = 0; row < m; ++row)
          for (std::int64_t col = 0; col < n; ++col) q.data[row * n + col] = c[row + col * m];
        return q;
      },
      low.owner(out, i, 0), 4.0 * m * n * n / 1e10, 8.0 * m * n);
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
      Tree t = up(low, x);
      return low.add(
          "qr-r", chunk_token(*n, 0, 0), {t.root_r()},
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
      Tree t = up(low, x);
      return low.add(
          "svd-s", chunk_token(*n, 0, 0), {small_svd(low, x, t)},
          [cols](const Inputs& in) {
            const Block& b = in.get<Block>(0);
            const double* s = b.data.data() + cols * cols;
            return Block{1, cols, std::vector<double>(s, s + cols)};
          },
          low.owner(*n, 0, 0), 1e-6, 8.0 * cols);
    }
    case LinalgPart::svd_v: {
      Tree t = up(low, x);
      return low.add(
          "svd-v", chunk_token(*n, 0, 0), {small_svd(low, x, t)},
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
