// Householder TSQR, the fallback: each row chunk is factored by LAPACK's Householder QR
// (dgeqrf); the R factors of consecutive pairs are merged by dtpqrt, which exploits that
// both are triangular (about (2/3) n^3 flops a merge, a fifth of refactoring the stack),
// level by level to one R; an odd node out moves up unchanged. Down the tree, only when Q
// or u is wanted: each merge applies its reflectors (dtpmqrt) to its share of the root's
// W (the identity for Q, R's left singular vectors for u), and each leaf its own (dormqr).
// Factor blocks inside the tree are column-major, as LAPACK wants them; results are
// row-major Blocks. Every task runs only when the R1 bundle says so (its leaves take the
// bundle as input 0) and gives an empty Block otherwise.
#include "linalg/lapack.hpp"
#include "linalg/tsqr.hpp"

namespace rask::detail::tsqr {

namespace {

constexpr std::size_t kFanIn = 2;         // pairs: dtpqrt merges two triangles
constexpr std::int64_t kMergeBlock = 32;  // dtpqrt's inner block size

std::uint64_t fan_power(std::size_t level) {
  std::uint64_t p = 1;
  for (std::size_t k = 0; k < level; ++k) p *= kFanIn;
  return p;
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


}  // namespace

TaskId householder_r(Lowering& low, const ArrayNodePtr& x, TaskId r1) { return up(low, x, r1).root_r(); }

namespace {
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

}  // namespace

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

}  // namespace rask::detail::tsqr
