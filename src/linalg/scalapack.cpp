// The SVD of square and wide arrays through ScaLAPACK's PDGESVD, on the chunks where
// they already live: rask's block-cyclic layout is ScaLAPACK's, so each rank hands its
// own chunks to the library and keeps its own pieces of u and v, with no redistribution.
//
// The core has no collective task yet, so this runs as a stage before the graph that
// needs it (`prepare`): the input's chunks are computed and kept where they live
// (persist), every rank calls PDGESVD together from its calling thread (compute is
// collective, so all ranks are at the same point), and the results become persisted
// arrays the graph reads. `run_pdgesvd` is the one function a collective task would call.
#include <mpi.h>

#include <algorithm>
#include <unordered_set>

#include "array/lower.hpp"
#include "rask/linalg.hpp"
#include "rask/runtime.hpp"
#include "rask/token.hpp"

extern "C" {
void Cblacs_get(int icontxt, int what, int* val);
void Cblacs_gridinit(int* icontxt, const char* order, int nprow, int npcol);
void Cblacs_gridinfo(int icontxt, int* nprow, int* npcol, int* myrow, int* mycol);
void Cblacs_gridexit(int icontxt);
int numroc_(const int* n, const int* nb, const int* iproc, const int* isrcproc, const int* nprocs);
void descinit_(int* desc, const int* m, const int* n, const int* mb, const int* nb, const int* irsrc, const int* icsrc,
               const int* ictxt, const int* lld, int* info);
void pdgemr2d_(const int* m, const int* n, const double* a, const int* ia, const int* ja, const int* desca, double* b,
               const int* ib, const int* jb, const int* descb, const int* ictxt);
void pdgesvd_(const char* jobu, const char* jobvt, const int* m, const int* n, double* a, const int* ia, const int* ja,
              const int* desca, double* s, double* u, const int* iu, const int* ju, const int* descu, double* vt,
              const int* ivt, const int* jvt, const int* descvt, double* work, const int* lwork, int* info);
}

namespace rask::detail {

std::shared_ptr<PersistHandle> new_persist_handle(std::uint64_t id);

namespace {

// One BLACS process grid over every rank, in row-major rank order (rank = row * cols +
// col), released at scope exit. Construction and destruction are collective.
class BlacsGrid {
 public:
  BlacsGrid(int rows, int cols) : rows_(rows), cols_(cols) {
    Cblacs_get(-1, 0, &context_);
    Cblacs_gridinit(&context_, "Row", rows, cols);
    int r = 0, c = 0;
    Cblacs_gridinfo(context_, &r, &c, &my_row_, &my_col_);
  }
  ~BlacsGrid() { Cblacs_gridexit(context_); }
  BlacsGrid(const BlacsGrid&) = delete;
  BlacsGrid& operator=(const BlacsGrid&) = delete;
  int context() const noexcept { return context_; }
  int rows() const noexcept { return rows_; }
  int cols() const noexcept { return cols_; }
  int my_row() const noexcept { return my_row_; }
  int my_col() const noexcept { return my_col_; }

 private:
  int context_ = -1, rows_, cols_, my_row_ = -1, my_col_ = -1;
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

ArrayNodePtr persisted(std::uint64_t id, int ndim, std::int64_t rows, std::int64_t cols,
                       std::vector<std::int64_t> row_chunks, std::vector<std::int64_t> col_chunks, int prow, int pcol) {
  auto n = std::make_shared<ArrayNode>();
  n->op = Op::persisted;
  n->dtype = DType::float64;
  n->ndim = ndim;
  n->rows = rows;
  n->cols = cols;
  n->row_chunks = std::move(row_chunks);
  n->col_chunks = std::move(col_chunks);
  n->ints = {static_cast<std::int64_t>(id), prow, pcol, 0};
  n->persisted = new_persist_handle(id);
  return finish(n);
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

struct Wanted {
  ArrayNodePtr x;
  std::vector<ArrayNodePtr> parts;  // the svd_u / svd_s / svd_v nodes asking
};

}  // namespace

/// Collective: the SVD of `x` (persisted, regular square chunks of `block`) by PDGESVD.
/// Returns persisted u, s and v (null when not wanted), each rank holding its pieces.
std::array<ArrayNodePtr, 3> run_pdgesvd(const ArrayNodePtr& x, bool want_u, bool want_v) {
  Runtime& rt = Runtime::current();
  const int m = static_cast<int>(x->rows), n = static_cast<int>(x->cols), k = std::min(m, n);
  const int block = static_cast<int>(x->row_chunks[0]);
  auto [prow, pcol] = process_grid(x->row_blocks(), x->col_blocks(), rt.size());
  BlacsGrid grid(prow, pcol);
  Local a = local_matrix(grid, m, n, block);
  const std::uint64_t xid = static_cast<std::uint64_t>(x->ints[0]);
  const std::int64_t lld = std::max(1, a.rows);
  for (std::int64_t bi = grid.my_row(); bi < x->row_blocks(); bi += prow) {
    for (std::int64_t bj = grid.my_col(); bj < x->col_blocks(); bj += pcol) {
      auto chunk = store_get(xid, bi, bj);
      if (!chunk)
        throw Error("internal: chunk (" + std::to_string(bi) + ", " + std::to_string(bj) +
                    ") of the SVD's input is not on rank " + std::to_string(rt.rank()));
      const std::int64_t lr = (bi / prow) * block, lc = (bj / pcol) * block;
      for (std::int64_t r = 0; r < chunk->rows; ++r)
        for (std::int64_t c = 0; c < chunk->cols; ++c)
          a.data[(lr + r) + (lc + c) * lld] = chunk->data[r * chunk->cols + c];
    }
  }
  const int svd_block = std::min(block, kSvdBlock);
  if (svd_block != block) a = redistribute(grid, a, m, n, svd_block);
  Local u = local_matrix(grid, m, k, svd_block), vt = local_matrix(grid, k, n, svd_block);
  std::vector<double> s(k);
  const char jobu = want_u ? 'V' : 'N', jobvt = want_v ? 'V' : 'N';
  const int one = 1;
  int lwork = -1, info = 0;
  double query = 0;
  pdgesvd_(&jobu, &jobvt, &m, &n, a.data.data(), &one, &one, a.desc, s.data(), u.data.data(), &one, &one, u.desc,
           vt.data.data(), &one, &one, vt.desc, &query, &lwork, &info);
  lwork = static_cast<int>(query) + 1;
  std::vector<double> work(lwork);
  pdgesvd_(&jobu, &jobvt, &m, &n, a.data.data(), &one, &one, a.desc, s.data(), u.data.data(), &one, &one, u.desc,
           vt.data.data(), &one, &one, vt.desc, work.data(), &lwork, &info);
  // PDGESVD returns the same info on every rank of the grid, so this error is collective.
  if (info != 0)
    throw Error("ScaLAPACK PDGESVD failed with info = " + std::to_string(info) + " on a " + std::to_string(m) + "x" +
                    std::to_string(n) + " array" + (info > 0 ? " (did not converge; NaN or Inf in the input?)" : ""),
                true);

  if (svd_block != block) {
    if (want_u) u = redistribute(grid, u, m, k, block);
    if (want_v) vt = redistribute(grid, vt, k, n, block);
  }
  std::array<ArrayNodePtr, 3> out;
  auto rows_of = [&](std::int64_t extent) { return regular_chunks(extent, block, "svd"); };
  const Token base = token_combine(token_sequence(), x->token);
  if (want_u) {
    const std::uint64_t id = token_combine(base, 1) >> 1;
    out[0] = persisted(id, 2, m, k, rows_of(m), rows_of(k), prow, pcol);
    for (std::int64_t bi = grid.my_row(); bi < out[0]->row_blocks(); bi += prow)
      for (std::int64_t bj = grid.my_col(); bj < out[0]->col_blocks(); bj += pcol)
        store_put(id, bi, bj,
                  std::make_shared<const Block>(
                      chunk_of(u, grid, bi, bj, out[0]->row_chunks[bi], out[0]->col_chunks[bj], block)));
  }
  {
    const std::uint64_t id = token_combine(base, 2) >> 1;
    out[1] = persisted(id, 1, 1, k, {1}, {k}, prow, pcol);
    if (rt.rank() == 0) store_put(id, 0, 0, std::make_shared<const Block>(Block{1, k, s}));
  }
  if (want_v) {
    const std::uint64_t id = token_combine(base, 3) >> 1;
    out[2] = persisted(id, 2, k, n, rows_of(k), rows_of(n), prow, pcol);
    for (std::int64_t bi = grid.my_row(); bi < out[2]->row_blocks(); bi += prow)
      for (std::int64_t bj = grid.my_col(); bj < out[2]->col_blocks(); bj += pcol)
        store_put(id, bi, bj,
                  std::make_shared<const Block>(
                      chunk_of(vt, grid, bi, bj, out[2]->row_chunks[bi], out[2]->col_chunks[bj], block)));
  }
  return out;
}

std::shared_ptr<Prepared> prepare(const std::vector<ArrayNodePtr>& outputs) {
  // The ScaLAPACK SVDs the outputs reach, grouped by input, in a depth-first order every
  // rank walks alike.
  std::vector<Wanted> wanted;
  std::unordered_set<const ArrayNode*> seen;
  std::vector<const ArrayNode*> stack;
  for (auto it = outputs.rbegin(); it != outputs.rend(); ++it) stack.push_back(it->get());
  std::vector<ArrayNodePtr> found;
  auto is_scalapack = [](const ArrayNode& n) { return n.op == Op::linalg && n.ints[0] == 1; };
  for (const auto& o : outputs)
    if (is_scalapack(*o) && seen.insert(o.get()).second) found.push_back(o);
  while (!stack.empty()) {
    const ArrayNode* n = stack.back();
    stack.pop_back();
    if (is_scalapack(*n)) continue;  // its input is prepared when it is persisted
    for (auto it = n->args.rbegin(); it != n->args.rend(); ++it) {
      if (!seen.insert(it->get()).second) continue;
      if (is_scalapack(**it)) found.push_back(*it);
      stack.push_back(it->get());
    }
  }
  if (found.empty()) return nullptr;
  for (const auto& part : found) {
    auto it =
        std::find_if(wanted.begin(), wanted.end(), [&](const Wanted& w) { return w.x->token == part->args[0]->token; });
    if (it == wanted.end()) {
      wanted.push_back({part->args[0], {}});
      it = wanted.end() - 1;
    }
    it->parts.push_back(part);
  }
  auto prepared = std::make_shared<Prepared>();
  for (const Wanted& w : wanted) {
    bool want_u = false, want_v = false;
    for (const auto& p : w.parts) {
      want_u |= static_cast<LinalgPart>(p->sub) == LinalgPart::svd_u;
      want_v |= static_cast<LinalgPart>(p->sub) == LinalgPart::svd_v;
    }
    ArrayNodePtr held = persist_nodes({w.x})[0];
    auto results = run_pdgesvd(held, want_u, want_v);
    for (const auto& p : w.parts) {
      const auto which = static_cast<LinalgPart>(p->sub);
      prepared->results[p->token] = results[which == LinalgPart::svd_u ? 0 : which == LinalgPart::svd_s ? 1 : 2];
    }
  }
  return prepared;
}

}  // namespace rask::detail
