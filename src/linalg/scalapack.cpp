// The SVD of square and wide arrays through ScaLAPACK's PDGESVD, on the chunks where
// they already live: rask's block-cyclic layout is ScaLAPACK's, so each rank hands its
// own chunks to the library and keeps its own pieces of u and v, with no redistribution.
//
// PDGESVD runs as one collective task of the array's graph (TaskOptions::collective):
// its inputs are x's chunks, each made on (or moved to) the rank the BLACS grid gives it;
// every rank enters it together over the core's collective communicator, while its
// other threads keep running other chunk tasks; its value on each rank is that rank's
// pieces of u and v (and s), which small tasks on the same rank cut into chunks. A Gram
// product's SVD is its eigendecomposition, by the symmetric solvers (symmetric_svd).
#include <mpi.h>

#include <algorithm>
#include <limits>
#include <map>
#include <unordered_set>

#include "array/lower.hpp"
#include "linalg/lapack.hpp"
#include "rask/linalg.hpp"
#include "rask/execute.hpp"
#include "rask/runtime.hpp"
#include "rask/token.hpp"

extern "C" {
int Csys2blacs_handle(MPI_Comm comm);
void Cfree_blacs_system_handle(int handle);
void Cblacs_gridinit(int* icontxt, const char* order, int nprow, int npcol);
void Cblacs_gridinfo(int icontxt, int* nprow, int* npcol, int* myrow, int* mycol);
void Cblacs_gridexit(int icontxt);
void Cblacs_set(int icontxt, int what, const int* val);
int numroc_(const int* n, const int* nb, const int* iproc, const int* isrcproc, const int* nprocs);
void descinit_(int* desc, const int* m, const int* n, const int* mb, const int* nb, const int* irsrc, const int* icsrc,
               const int* ictxt, const int* lld, int* info);
void pdgemr2d_(const int* m, const int* n, const double* a, const int* ia, const int* ja, const int* desca, double* b,
               const int* ib, const int* jb, const int* descb, const int* ictxt);
void pdsyev_(const char* jobz, const char* uplo, const int* n, double* a, const int* ia, const int* ja, const int* desca,
             double* w, double* z, const int* iz, const int* jz, const int* descz, double* work, const int* lwork,
             int* info);
void pdsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* ia, const int* ja,
              const int* desca, double* w, double* z, const int* iz, const int* jz, const int* descz, double* work,
              const int* lwork, int* iwork, const int* liwork, int* info);
void pdtran_(const int* m, const int* n, const double* alpha, const double* a, const int* ia, const int* ja,
             const int* desca, const double* beta, double* c, const int* ic, const int* jc, const int* descc);
void pdgesvd_(const char* jobu, const char* jobvt, const int* m, const int* n, double* a, const int* ia, const int* ja,
              const int* desca, double* s, double* u, const int* iu, const int* ju, const int* descu, double* vt,
              const int* ivt, const int* jvt, const int* descvt, double* work, const int* lwork, int* info);
}

namespace rask::detail {

namespace {

constexpr int kBlacsTopsRepeat = 15;  // BLACS's SGET_TOPSREPEAT

// A BLACS process grid over the ranks of `comm`, in row-major rank order (rank = row *
// cols + col, as chunk_owner places chunks), released at scope exit. Construction and
// destruction are collective over `comm`.
class BlacsGrid {
 public:
  BlacsGrid(MPI_Comm comm, int rows, int cols) : rows_(rows), cols_(cols) {
    handle_ = Csys2blacs_handle(comm);
    context_ = handle_;
    Cblacs_gridinit(&context_, "Row", rows, cols);
    // BLACS's default combines add partial sums in the order messages arrive, so two
    // runs of one SVD could differ in the last bits and pick other signs for singular
    // vectors (seen at 3 and 4 ranks: u from one run and v from another no longer gave
    // x back). Repeatable topologies fix the order.
    const int repeatable = 1;
    Cblacs_set(context_, kBlacsTopsRepeat, &repeatable);
    int r = 0, c = 0;
    Cblacs_gridinfo(context_, &r, &c, &my_row_, &my_col_);
  }
  ~BlacsGrid() {
    Cblacs_gridexit(context_);
    Cfree_blacs_system_handle(handle_);
  }
  BlacsGrid(const BlacsGrid&) = delete;
  BlacsGrid& operator=(const BlacsGrid&) = delete;
  int context() const noexcept { return context_; }
  int rows() const noexcept { return rows_; }
  int cols() const noexcept { return cols_; }
  int my_row() const noexcept { return my_row_; }
  int my_col() const noexcept { return my_col_; }

 private:
  int handle_ = -1, context_ = -1, rows_, cols_, my_row_ = -1, my_col_ = -1;
};

// A distributed matrix's local part: column-major, with its ScaLAPACK descriptor.
struct Local {
  int rows = 0, cols = 0;  // local extents
  int desc[9]{};
  std::vector<double> data;
};

Local local_matrix(const BlacsGrid& grid, int m, int n, int block) {
  Local l;
  const int zero = 0, prow = grid.rows(), pcol = grid.cols();
  const int my_row = grid.my_row(), my_col = grid.my_col();
  l.rows = numroc_(&m, &block, &my_row, &zero, &prow);
  l.cols = numroc_(&n, &block, &my_col, &zero, &pcol);
  const int lld = std::max(1, l.rows), context = grid.context();
  int info = 0;
  descinit_(l.desc, &m, &n, &block, &block, &zero, &zero, &context, &lld, &info);
  if (info != 0) throw Error("ScaLAPACK descinit failed with info = " + std::to_string(info));
  l.data.assign(static_cast<std::size_t>(lld) * std::max(1, l.cols), 0.0);
  return l;
}

// Chunk (bi, bj) of a matrix in `block`-sized chunks, from this rank's local part.
Block chunk_of(const Local& l, const BlacsGrid& grid, std::int64_t bi, std::int64_t bj, std::int64_t rows,
               std::int64_t cols, std::int64_t block) {
  Block b{rows, cols, std::vector<double>(rows * cols)};
  const std::int64_t lr = (bi / grid.rows()) * block, lc = (bj / grid.cols()) * block, lld = std::max(1, l.rows);
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < cols; ++c) b.data[r * cols + c] = l.data[(lr + r) + (lc + c) * lld];
  return b;
}

// PDGESVD's bidiagonal reduction is fast with blocks of about this size and slow with
// chunk-sized ones (500: 5-10x slower here), so it runs on a copy redistributed by
// PDGEMR2D over the same process grid; u and v come back to the chunks' blocks.
constexpr int kSvdBlock = 64;

// `from` redistributed to blocks of `block` on the same grid.
Local redistribute(const BlacsGrid& grid, const Local& from, int m, int n, int block) {
  Local to = local_matrix(grid, m, n, block);
  const int one = 1, context = grid.context();
  pdgemr2d_(&m, &n, from.data.data(), &one, &one, from.desc, to.data.data(), &one, &one, to.desc, &context);
  return to;
}

// One rank's part of an SVD: its chunks of u and v, by (block row, block column), and
// the singular values (on every rank). Never leaves its rank.
struct SvdPiece {
  std::map<std::pair<std::int64_t, std::int64_t>, Block> u, v;
  std::vector<double> s;
};

// What the collective task needs to know of its input.
struct SvdShape {
  int m = 0, n = 0, block = 0, prow = 1, pcol = 1;
  std::int64_t row_blocks = 0, col_blocks = 0;
  bool want_u = false, want_v = false;
  bool symmetric = false;  // a Gram product: symmetric positive semi-definite
};

// PDGESVD: s, and u and v as asked, of the m x n matrix `a` (overwritten).
void general_svd(const SvdShape& sh, Local& a, std::vector<double>& s, Local& u, Local& vt) {
  const int m = sh.m, n = sh.n;
  const char jobu = sh.want_u ? 'V' : 'N', jobvt = sh.want_v ? 'V' : 'N';
  const int one = 1;
  int lwork = -1, info = 0;
  double query = 0;
  pdgesvd_(&jobu, &jobvt, &m, &n, a.data.data(), &one, &one, a.desc, s.data(), u.data.data(), &one, &one,
           u.desc, vt.data.data(), &one, &one, vt.desc, &query, &lwork, &info);
  lwork = static_cast<int>(query) + 1;
  std::vector<double> work(lwork);
  pdgesvd_(&jobu, &jobvt, &m, &n, a.data.data(), &one, &one, a.desc, s.data(), u.data.data(), &one, &one,
           u.desc, vt.data.data(), &one, &one, vt.desc, work.data(), &lwork, &info);
  // PDGESVD returns the same info on every rank of the grid, so every rank fails alike
  // and none is left inside a later call.
  if (info != 0)
    throw Error("ScaLAPACK PDGESVD failed with info = " + std::to_string(info) + " on a " + std::to_string(m) + "x" +
                std::to_string(n) + " array" + (info > 0 ? " (did not converge; NaN or Inf in the input?)" : ""));
}

// The eigenvalues w (ascending) of the symmetric n x n `a`, and with `vectors` the
// eigenvectors into `z` (distributed like `a`; on one rank `a` itself becomes z).
std::vector<double> symmetric_eigen(const BlacsGrid& grid, Local& a, int n, int block, bool vectors, Local& z) {
  const int one = 1;
  const char uplo = 'U';
  std::vector<double> w(n);
  const bool alone = grid.rows() * grid.cols() == 1;
  if (vectors && !alone) z = local_matrix(grid, n, n, block);
  int lwork = -1, liwork = -1, info = 0, iquery = 0;
  double query = 0;
  if (alone) {
    // One rank holds the whole matrix: LAPACK's dsyevd on it (ScaLAPACK on a 1 x 1 grid
    // only adds its overheads). Z overwrites a.
    const char jobz = vectors ? 'V' : 'N';
    const int lda = std::max(1, n);
    dsyevd_(&jobz, &uplo, &n, a.data.data(), &lda, w.data(), &query, &lwork, &iquery, &liwork, &info);
    lwork = static_cast<int>(query) + 1;
    liwork = std::max(1, iquery);
    std::vector<double> work(lwork);
    std::vector<int> iwork(liwork);
    dsyevd_(&jobz, &uplo, &n, a.data.data(), &lda, w.data(), work.data(), &lwork, iwork.data(), &liwork, &info);
    if (vectors) z = std::move(a);
  } else if (vectors) {
    const char jobz = 'V';
    pdsyevd_(&jobz, &uplo, &n, a.data.data(), &one, &one, a.desc, w.data(), z.data.data(), &one, &one, z.desc, &query,
             &lwork, &iquery, &liwork, &info);
    // The query underestimates (PDLASRT and PDORMTR then reject LWORK at 2 to 4 ranks;
    // Reference-ScaLAPACK issue 74): add what those two need to the documented minimum,
    // for the rank with the largest local part.
    const int zero = 0, prow = grid.rows(), pcol = grid.cols();
    const long np = numroc_(&n, &block, &zero, &zero, &prow), nq = numroc_(&n, &block, &zero, &zero, &pcol);
    const long trilwmin = 3L * n + std::max(block * (np + 1), 3L * block);
    const long documented = std::max(1 + 6L * n + 2 * np * nq, trilwmin) + 2L * n +
                            std::max(static_cast<long>(n), np * (block + nq)) + (np + nq) * block +
                            2L * block * block;
    if (documented > std::numeric_limits<int>::max())
      throw Error("svd: the " + std::to_string(n) + "x" + std::to_string(n) +
                  " symmetric eigensolver's workspace exceeds ScaLAPACK's 32-bit sizes; use more ranks");
    lwork = std::max(static_cast<int>(query) + 1, static_cast<int>(documented));
    liwork = std::max(iquery, 7 * n + 8 * pcol + 2);
    std::vector<double> work(lwork);
    std::vector<int> iwork(liwork);
    pdsyevd_(&jobz, &uplo, &n, a.data.data(), &one, &one, a.desc, w.data(), z.data.data(), &one, &one, z.desc,
             work.data(), &lwork, iwork.data(), &liwork, &info);
  } else {
    const char jobz = 'N';
    pdsyev_(&jobz, &uplo, &n, a.data.data(), &one, &one, a.desc, w.data(), nullptr, &one, &one, a.desc, &query, &lwork,
            &info);
    lwork = static_cast<int>(query) + 1;
    std::vector<double> work(lwork);
    pdsyev_(&jobz, &uplo, &n, a.data.data(), &one, &one, a.desc, w.data(), nullptr, &one, &one, a.desc, work.data(),
            &lwork, &info);
  }
  // Each returns the same info on every rank of the grid.
  if (info != 0)
    throw Error(std::string(alone ? "LAPACK DSYEVD" : vectors ? "ScaLAPACK PDSYEVD" : "ScaLAPACK PDSYEV") +
                " failed with info = " +
                std::to_string(info) + " on the symmetric " + std::to_string(n) + "x" + std::to_string(n) +
                " array of a Gram product" + (info > 0 ? " (did not converge; NaN or Inf in the input?)" : ""));
  return w;
}

// A symmetric positive semi-definite A (a Gram product) has A = Z diag(w) Z^T, so its
// SVD is u = Z, s = |w|, v = sign(w) Z^T, sorted by |w| (w can be slightly negative from
// rounding). The symmetric eigensolvers cost less than PDGESVD: PDSYEV's tridiagonal
// reduction has half the bidiagonal reduction's flops (s alone), and PDSYEVD's
// divide and conquer forms the vectors with BLAS-3, where PDGESVD's QR iteration
// applies rotations row by row (10x slower than NumPy's gesdd here with vectors).
void symmetric_svd(const BlacsGrid& grid, Local& a, int n, int block, bool vectors, std::vector<double>& s, Local& u,
                   Local& vt) {
  const int one = 1, context = grid.context();
  const bool alone = grid.rows() * grid.cols() == 1;
  Local z;
  const std::vector<double> w = symmetric_eigen(grid, a, n, block, vectors, z);
  std::vector<int> order(n);
  for (int c = 0; c < n; ++c) order[c] = c;
  std::stable_sort(order.begin(), order.end(), [&](int l, int r) { return std::abs(w[l]) > std::abs(w[r]); });
  s.resize(n);
  for (int c = 0; c < n; ++c) s[c] = std::abs(w[order[c]]);
  if (!vectors) return;
  if (alone) {
    const std::size_t ld = static_cast<std::size_t>(std::max(1, n));
    for (int c = 0; c < n; ++c)
      std::copy_n(z.data.begin() + order[c] * ld, n, u.data.begin() + c * ld);
    for (int c = 0; c < n; ++c)
      for (int r = 0; r < n; ++r) vt.data[r + c * ld] = w[order[r]] < 0 ? -u.data[c + r * ld] : u.data[c + r * ld];
    return;
  }
  // u's column c is Z's column order[c]: one column copy each (n small PDGEMR2D calls,
  // tenths of a second at n = 4000, against seconds of the solver).
  for (int c = 0; c < n; ++c) {
    const int from = order[c] + 1, to = c + 1;
    pdgemr2d_(&n, &one, z.data.data(), &one, &from, z.desc, u.data.data(), &one, &to, u.desc, &context);
  }
  // v = u^T with the rows of negative w negated.
  const double alpha = 1, beta = 0;
  pdtran_(&n, &n, &alpha, u.data.data(), &one, &one, u.desc, &beta, vt.data.data(), &one, &one, vt.desc);
  const int lld = std::max(1, vt.rows);
  for (int lr = 0; lr < vt.rows; ++lr) {
    const int g = ((lr / block) * grid.rows() + grid.my_row()) * block + lr % block;
    if (w[order[g]] < 0)
      for (int lc = 0; lc < vt.cols; ++lc) vt.data[lr + static_cast<std::size_t>(lc) * lld] *= -1;
  }
}

// The body of the collective task: every rank of the job runs it together. Input i is
// chunk (i / col_blocks, i % col_blocks) of x, present on the rank the grid gives it.
SvdPiece pdgesvd_piece(const SvdShape& sh, const Inputs& in) {
  const int m = sh.m, n = sh.n, k = std::min(m, n), block = sh.block;
  BlacsGrid grid(collective_comm(), sh.prow, sh.pcol);
  Local a = local_matrix(grid, m, n, block);
  const std::int64_t lld = std::max(1, a.rows);
  for (std::int64_t bi = grid.my_row(); bi < sh.row_blocks; bi += sh.prow) {
    for (std::int64_t bj = grid.my_col(); bj < sh.col_blocks; bj += sh.pcol) {
      const std::size_t i = static_cast<std::size_t>(bi * sh.col_blocks + bj);
      if (!in.has(i))
        throw Error("internal: chunk (" + std::to_string(bi) + ", " + std::to_string(bj) +
                    ") of the SVD's input is not on the rank ScaLAPACK's grid gives it");
      const Block& chunk = in.get<Block>(i);
      const std::int64_t lr = (bi / sh.prow) * block, lc = (bj / sh.pcol) * block;
      for (std::int64_t r = 0; r < chunk.rows; ++r)
        for (std::int64_t c = 0; c < chunk.cols; ++c) a.data[(lr + r) + (lc + c) * lld] = chunk.data[r * chunk.cols + c];
    }
  }
  const int svd_block = std::min(block, kSvdBlock);
  if (svd_block != block) a = redistribute(grid, a, m, n, svd_block);
  Local u = local_matrix(grid, m, k, svd_block), vt = local_matrix(grid, k, n, svd_block);
  SvdPiece piece;
  piece.s.assign(k, 0.0);
  // The collective's inputs are all made, so this rank's other threads are mostly idle
  // (they sleep beside a collective): the library's BLAS may use them.
  const BlasThreads threads(Runtime::current().threads());
  if (sh.symmetric) {
    symmetric_svd(grid, a, m, svd_block, sh.want_u || sh.want_v, piece.s, u, vt);
  } else {
    general_svd(sh, a, piece.s, u, vt);
  }
  if (svd_block != block) {
    if (sh.want_u) u = redistribute(grid, u, m, k, block);
    if (sh.want_v) vt = redistribute(grid, vt, k, n, block);
  }
  auto keep = [&](const Local& l, int rows, int cols, auto& into) {
    const auto rc = regular_chunks(rows, block, "svd"), cc = regular_chunks(cols, block, "svd");
    for (std::int64_t bi = grid.my_row(); bi < static_cast<std::int64_t>(rc.size()); bi += sh.prow)
      for (std::int64_t bj = grid.my_col(); bj < static_cast<std::int64_t>(cc.size()); bj += sh.pcol)
        into.emplace(std::make_pair(bi, bj), chunk_of(l, grid, bi, bj, rc[bi], cc[bj], block));
  };
  if (sh.want_u) keep(u, m, k, piece.u);
  if (sh.want_v) keep(vt, k, n, piece.v);
  return piece;
}

// The collective PDGESVD task for the SVD of `x`, computing u and v as asked.
TaskId pdgesvd_task(Lowering& low, const ArrayNodePtr& x, bool want_u, bool want_v) {
  SvdShape sh;
  sh.m = static_cast<int>(x->rows);
  sh.n = static_cast<int>(x->cols);
  sh.block = static_cast<int>(x->row_chunks[0]);
  sh.row_blocks = x->row_blocks();
  sh.col_blocks = x->col_blocks();
  std::tie(sh.prow, sh.pcol) = process_grid(sh.row_blocks, sh.col_blocks, low.nranks());
  sh.want_u = want_u;
  sh.want_v = want_v;
  sh.symmetric = is_gram_product(*x) && sh.m == sh.n;
  const Token token = token_combine(token_combine(x->token, 0x5ca1a9ac), (want_u ? 2u : 0u) + (want_v ? 1u : 0u));
  if (auto id = low.graph().find(token)) return *id;
  // Each chunk on the rank ScaLAPACK's grid gives it; a chunk made elsewhere is moved.
  std::vector<TaskId> deps;
  for (std::int64_t bi = 0; bi < sh.row_blocks; ++bi)
    for (std::int64_t bj = 0; bj < sh.col_blocks; ++bj) {
      TaskId chunk = low.chunk(x, bi, bj);
      const int holder = static_cast<int>((bi % sh.prow) * sh.pcol + (bj % sh.pcol));
      // The task's own pin, not the array's layout: a collective reads only inputs made
      // on its rank, so a chunk that any lowering placed elsewhere (or left to the plan)
      // must be moved, or the body would not find it.
      if (low.graph().task(chunk).owner != holder)
        chunk = low.add(
            "svd-in", chunk_token(*x, bi, bj, 0x5ca1), {chunk}, [](const Inputs& in) { return in.get<Block>(0); },
            holder, 1e-6, 8.0 * x->row_chunks[bi] * x->col_chunks[bj]);
      deps.push_back(chunk);
    }
  const double m = sh.m, n = sh.n, k = std::min(m, n), ranks = low.nranks();
  const double flops = 4.0 * m * n * k + (want_u || want_v ? 8.0 * m * n * k : 0.0);
  const double piece_bytes = 8.0 * ((want_u ? m * k : 0.0) + (want_v ? k * n : 0.0)) / ranks + 8.0 * k;
  auto body = std::make_shared<const TaskBody>([sh](const Inputs& in) { return Value(pdgesvd_piece(sh, in)); });
  const char* name = !sh.symmetric ? "pdgesvd" : want_u || want_v ? "pdsyevd" : "pdsyev";
  return low.graph().add_task(Key{name, token}, std::move(deps), std::move(body), codec_for<SvdPiece>(),
                              TaskOptions{.name = name,
                                          .cost = flops / 1e10 / ranks,
                                          .bytes = piece_bytes,
                                          .collective = true});
}

}  // namespace

TaskId lower_scalapack_chunk(Lowering& low, const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj) {
  const ArrayNodePtr& x = n->args[0];
  const auto [want_u, want_v] = low.svd_wants(x->token, *n);
  const TaskId svd = pdgesvd_task(low, x, want_u, want_v);
  const LinalgPart which = n->as<ops::Linalg>().part;
  const std::int64_t rows = n->row_chunks[bi], cols = n->col_chunks[bj];
  if (which == LinalgPart::svd_s)
    return low.add(
        "svd-s", chunk_token(*n, bi, bj), {svd},
        [](const Inputs& in) {
          const auto& s = in.get<SvdPiece>(0).s;
          return Block{1, static_cast<std::int64_t>(s.size()), s};
        },
        0, 1e-6, 8.0 * cols);
  // A chunk of u or v is cut on the rank whose piece holds it, on the grid of x.
  auto [prow, pcol] = process_grid(x->row_blocks(), x->col_blocks(), low.nranks());
  const int holder = static_cast<int>((bi % prow) * pcol + (bj % pcol));
  const bool u = which == LinalgPart::svd_u;
  return low.add(
      u ? "svd-u" : "svd-v", chunk_token(*n, bi, bj), {svd},
      [u, bi, bj](const Inputs& in) {
        const SvdPiece& piece = in.get<SvdPiece>(0);
        return (u ? piece.u : piece.v).at({bi, bj});
      },
      holder, 1e-6 * static_cast<double>(rows * cols) / 1e4, 8.0 * rows * cols);
}

SvdWants scan_svd_wants(const std::vector<ArrayNodePtr>& outputs) {
  SvdWants wants;
  std::unordered_set<const ArrayNode*> seen;
  std::vector<const ArrayNode*> stack;
  for (const auto& o : outputs) stack.push_back(o.get());
  while (!stack.empty()) {
    const ArrayNode* n = stack.back();
    stack.pop_back();
    if (!seen.insert(n).second) continue;
    if (n->op() == Op::linalg && n->as<ops::Linalg>().method == LinalgMethod::scalapack) {
      auto& [u, v] = wants[n->args[0]->token];
      u |= n->as<ops::Linalg>().part == LinalgPart::svd_u;
      v |= n->as<ops::Linalg>().part == LinalgPart::svd_v;
    }
    for (const auto& a : n->args) stack.push_back(a.get());
  }
  return wants;
}

}  // namespace rask::detail
