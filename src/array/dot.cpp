// Matrix products. Chunk (i, j) of a.dot(b) is the sum over k of A(i, k) B(k, j), made
// on one rank with OpenBLAS, the k terms added in index order (so the value does not
// depend on ranks or threads).
//
// A Gram product, a.dot(a.T) or a.T.dot(a), is symmetric: only the chunks on and above
// the diagonal are multiplied (DSYRK on the diagonal), each chunk below is the transpose
// of its mirror, which halves the flops. Which of a mirrored pair is multiplied is chosen
// so that the halved work stays balanced between the two ranks the pair lives on.
//
// a.dot(b + c), with c a 0-d constant, is a.dot(b) + c * (row sums of a) by linearity;
// lowering rewrites it so when a.dot(b) is then a Gram product (the workshop's
// x.dot(x.T + 1)), and likewise (a + c).dot(b) = a.dot(b) + c * (column sums of b).
#include <cblas.h>

#include <algorithm>

#include "array/lower.hpp"

namespace rask::detail {

namespace {

bool is_scalar_constant(const ArrayNode& m) { return m.op() == Op::full && m.ndim == 0; }

// a.dot(b) is a . a^T or a^T . a, the same expression on both sides.
bool is_gram(const ArrayNode& a, const ArrayNode& b) {
  if (a.ndim != 2 || b.ndim != 2) return false;
  return (b.op() == Op::transpose && b.args[0]->token == a.token) ||
         (a.op() == Op::transpose && a.args[0]->token == b.token);
}

// m = matrix + c, c + matrix, matrix - c or c - matrix, with c a 0-d constant and the
// matrix of m's own shape and chunks.
struct Shifted {
  ArrayNodePtr matrix, constant;
  bool subtract = false, constant_first = false;
};

std::optional<Shifted> shifted(const ArrayNodePtr& m) {
  if (m->op() != Op::binary) return std::nullopt;
  const BinaryOp op = m->as<ops::Binary>().op;
  if (op != BinaryOp::add && op != BinaryOp::sub) return std::nullopt;
  for (int constant_first = 0; constant_first < 2; ++constant_first) {
    const ArrayNodePtr& c = m->args[constant_first ? 0 : 1];
    const ArrayNodePtr& matrix = m->args[constant_first ? 1 : 0];
    if (!is_scalar_constant(*c) || matrix->ndim != 2 || matrix->row_chunks != m->row_chunks ||
        matrix->col_chunks != m->col_chunks)
      continue;
    return Shifted{matrix, c, op == BinaryOp::sub, constant_first == 1};
  }
  return std::nullopt;
}

// product +- shift, in the order the shifted operand had its constant.
ArrayNodePtr combine(const Array& product, const Array& shift, const Shifted& s) {
  if (!s.subtract) return (product + shift).node();
  return (s.constant_first ? shift - product : product - shift).node();
}

ArrayNodePtr rewrite_dot(const ArrayNodePtr& n) {
  const ArrayNodePtr& a = n->args[0];
  const ArrayNodePtr& b = n->args[1];
  if (a->ndim != 2 || b->ndim != 2 || is_gram(*a, *b)) return nullptr;
  ArrayNodePtr out;
  if (auto s = shifted(b); s && is_gram(*a, *s->matrix)) {
    out = combine(Array(a).dot(Array(s->matrix)), Array(a).sum(1, true) * Array(s->constant), *s);
  } else if (auto t = shifted(a); t && is_gram(*t->matrix, *b)) {
    out = combine(Array(t->matrix).dot(Array(b)), Array(b).sum(0, true) * Array(t->constant), *t);
  }
  // The rewrite must be the same array: shape, chunks and dtype.
  if (out && (out->dtype != n->dtype || out->row_chunks != n->row_chunks || out->col_chunks != n->col_chunks))
    return nullptr;
  return out;
}

}  // namespace

bool is_gram_product(const ArrayNode& n) { return n.op() == Op::dot && is_gram(*n.args[0], *n.args[1]); }

ArrayNodePtr Lowering::rewritten(const ArrayNodePtr& n) {
  if (n->op() != Op::dot) return nullptr;
  if (auto it = rewrites_.find(n->token); it != rewrites_.end()) return it->second;
  return rewrites_.emplace(n->token, rewrite_dot(n)).first->second;
}

TaskId Lowering::dot(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj) {
  if (auto r = rewritten(n)) return chunk(r, bi, bj);
  if (is_gram(*n->args[0], *n->args[1])) return gram(n, bi, bj);
  return product(n, bi, bj, owner(*n, bi, bj));
}

TaskId Lowering::product(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj, int at) {
  const ArrayNodePtr& a = n->args[0];
  const ArrayNodePtr& b = n->args[1];
  std::int64_t gi = bi, gj = bj;
  if (a->ndim == 2 && b->ndim == 1) gi = bj, gj = 0;
  const std::int64_t m = a->ndim == 2 ? a->row_chunks[gi] : 1;
  const std::int64_t nn = b->ndim == 2 ? b->col_chunks[gj] : 1;
  const bool trans_a = a->op() == Op::transpose, trans_b = b->op() == Op::transpose;
  struct Term {
    int a_input, b_input;
    std::int64_t k;
  };
  std::vector<TaskId> deps;
  auto input = [&](TaskId id) {
    for (std::size_t k = 0; k < deps.size(); ++k)
      if (deps[k] == id) return static_cast<int>(k);
    deps.push_back(id);
    return static_cast<int>(deps.size()) - 1;
  };
  std::vector<Term> terms;
  for (std::int64_t k = 0; k < a->col_blocks(); ++k) {
    TaskId ta = a->ndim == 1 ? chunk(a, 0, k) : trans_a ? chunk(a->args[0], k, gi) : chunk(a, gi, k);
    TaskId tb = b->ndim == 1 ? chunk(b, 0, k) : trans_b ? chunk(b->args[0], gj, k) : chunk(b, k, gj);
    terms.push_back({input(ta), input(tb), a->col_chunks[k]});
  }
  const std::int64_t out_rows = n->row_chunks[bi], out_cols = n->col_chunks[bj];
  const double flops = 2.0 * m * nn * static_cast<double>(a->cols);
  return add(
      "dot", chunk_token(*n, bi, bj), std::move(deps),
      [terms, m, nn, trans_a, trans_b, out_rows, out_cols](const Inputs& in) {
        Block out{out_rows, out_cols, std::vector<double>(m * nn, 0.0)};
        for (const Term& t : terms) {
          const Block& ab = in.get<Block>(t.a_input);
          const Block& bb = in.get<Block>(t.b_input);
          if (t.k == 0 || m == 0 || nn == 0) continue;
          const int lda = static_cast<int>(trans_a ? m : t.k);
          const int ldb = static_cast<int>(trans_b ? t.k : nn);
          cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                      static_cast<int>(m), static_cast<int>(nn), static_cast<int>(t.k), 1.0, ab.data.data(), lda,
                      bb.data.data(), ldb, 1.0, out.data.data(), static_cast<int>(nn));
        }
        return out;
      },
      at, flops / 2e10, 8.0 * m * nn);
}

// ---------------------------------------------------------------------------------------
// Gram products.

bool Lowering::gram_multiplies(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj) {
  if (bi == bj) return true;
  auto it = gram_multiplied_.find(n->token);
  if (it == gram_multiplied_.end()) {
    // Of each mirrored pair (i, j), (j, i), one is multiplied and the other transposed,
    // each where it lives, so a chunk is always made on its owner (collectives and
    // writes read chunks there). The multiplied one is on whichever of the two ranks has
    // less work so far, in index order: the same table on every rank.
    const std::int64_t blocks = n->row_blocks();
    std::vector<std::uint8_t> multiplied(static_cast<std::size_t>(blocks * blocks), 0);
    std::vector<double> work(static_cast<std::size_t>(nranks_), 0.0);
    for (std::int64_t i = 0; i < blocks; ++i)
      for (std::int64_t j = i; j < blocks; ++j) {
        const int here = owner(*n, i, j), mirror = owner(*n, j, i);
        const bool upper = i == j || work[mirror] >= work[here];
        work[upper ? here : mirror] += static_cast<double>(n->row_chunks[i] * n->col_chunks[j]) * (i == j ? 0.5 : 1.0);
        multiplied[upper ? i * blocks + j : j * blocks + i] = 1;
      }
    it = gram_multiplied_.emplace(n->token, std::move(multiplied)).first;
  }
  return it->second[bi * n->row_blocks() + bj] != 0;
}

TaskId Lowering::gram(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj) {
  if (!gram_multiplies(n, bi, bj)) {
    // The transpose of the mirror chunk, made where this chunk lives.
    const TaskId mirror = chunk(n, bj, bi);
    const std::int64_t rows = n->row_chunks[bi], cols = n->col_chunks[bj];
    return add(
        "dot-transpose", chunk_token(*n, bi, bj), {mirror},
        [rows, cols](const Inputs& in) {
          const Block& src = in.get<Block>(0);  // cols x rows
          Block out{rows, cols, std::vector<double>(rows * cols)};
          constexpr std::int64_t kTile = 64;  // square tiles: both sides' cache lines are reused
          for (std::int64_t r0 = 0; r0 < rows; r0 += kTile)
            for (std::int64_t c0 = 0; c0 < cols; c0 += kTile)
              for (std::int64_t r = r0; r < std::min(rows, r0 + kTile); ++r)
                for (std::int64_t c = c0; c < std::min(cols, c0 + kTile); ++c)
                  out.data[r * cols + c] = src.data[c * rows + r];
          return out;
        },
        owner(*n, bi, bj), static_cast<double>(rows * cols) * 1e-9, 8.0 * rows * cols);
  }
  const int at = owner(*n, bi, bj);
  if (bi != bj) return product(n, bi, bj, at);
  // The diagonal: C = F F^T (a . a^T, F = a's row of chunks) or F^T F (a^T . a, F = a's
  // column of chunks), upper triangle by DSYRK, then mirrored.
  const ArrayNodePtr& a = n->args[0];
  const ArrayNodePtr& b = n->args[1];
  const bool rows_of_f = b->op() == Op::transpose;  // a . a^T
  const ArrayNodePtr& f = rows_of_f ? a : b;
  const std::int64_t m = n->row_chunks[bi];
  std::vector<TaskId> deps;
  std::vector<std::int64_t> inner;
  const std::int64_t terms = rows_of_f ? f->col_blocks() : f->row_blocks();
  for (std::int64_t k = 0; k < terms; ++k) {
    deps.push_back(rows_of_f ? chunk(f, bi, k) : chunk(f, k, bi));
    inner.push_back(rows_of_f ? f->col_chunks[k] : f->row_chunks[k]);
  }
  const double flops = static_cast<double>(m * m) * static_cast<double>(rows_of_f ? f->cols : f->rows);
  return add(
      "dot-syrk", chunk_token(*n, bi, bj), std::move(deps),
      [inner, m, rows_of_f](const Inputs& in) {
        Block out{m, m, std::vector<double>(m * m, 0.0)};
        if (m == 0) return out;
        for (std::size_t k = 0; k < inner.size(); ++k) {
          if (inner[k] == 0) continue;
          const Block& fb = in.get<Block>(k);
          const int kk = static_cast<int>(inner[k]), mm = static_cast<int>(m);
          cblas_dsyrk(CblasRowMajor, CblasUpper, rows_of_f ? CblasNoTrans : CblasTrans, mm, kk, 1.0, fb.data.data(),
                      rows_of_f ? kk : mm, 1.0, out.data.data(), mm);
        }
        for (std::int64_t r = 1; r < m; ++r)
          for (std::int64_t c = 0; c < r; ++c) out.data[r * m + c] = out.data[c * m + r];
        return out;
      },
      at, flops / 2e10, 8.0 * m * m);
}

}  // namespace rask::detail
