// Sums along one axis of a sum or difference of materialized arrays of which some are
// transposed, as (x + x.T).sum(0). The fused program would read each transposed chunk
// across (slowly: a cache line per value), from another rank when the two chunks of a
// pair live apart, and every chunk twice. By linearity, each term's chunk is instead
// summed along both axes in one contiguous pass (column sums and row sums together),
// read in place where it lives; only these 1-d sums move, and an output chunk adds them
// up in a fixed order over chunk indices (bitwise the same at any rank and thread count).
#include <algorithm>

#include "array/fused.hpp"

namespace rask::detail {

namespace {

struct Term {
  ArrayNodePtr leaf;
  bool transposed;
  double sign;
};

// Whether `m` is +- a chain of materialized float64 arrays (possibly transposed), all of
// m's shape and chunks; appends the terms.
bool linear_terms(const ArrayNodePtr& m, double sign, std::vector<Term>& out) {
  if (m->dtype != DType::float64 || m->ndim != 2) return false;
  if (m->op() == Op::binary &&
      (m->as<ops::Binary>().op == BinaryOp::add || m->as<ops::Binary>().op == BinaryOp::sub)) {
    for (const auto& arg : m->args)
      if (arg->row_chunks != m->row_chunks || arg->col_chunks != m->col_chunks) return false;  // broadcasting
    const double second = m->as<ops::Binary>().op == BinaryOp::sub ? -sign : sign;
    return linear_terms(m->args[0], sign, out) && linear_terms(m->args[1], second, out);
  }
  if (m->op() == Op::transpose) {
    const ArrayNodePtr& child = m->args[0];
    if (fusable(child->op()) || child->dtype != DType::float64) return false;
    out.push_back({child, true, sign});
    return true;
  }
  if (fusable(m->op())) return false;
  out.push_back({m, false, sign});
  return true;
}

// Column sums then row sums of a row-major block: [cols values, rows values]. Row sums
// keep four running sums (columns mod 4) added in a fixed order, so the loop is not one
// chain of dependent adds. Cloned for AVX2 (chosen at load time where the CPU has it):
// with SSE2 alone the loop is compute-bound below memory speed on a busy core.
__attribute__((target_clones("avx2", "default"))) std::vector<double> column_and_row_sums(const double* a,
                                                                                         std::int64_t rows,
                                                                                         std::int64_t cols) {
  std::vector<double> out(cols + rows, 0.0);
  double* colsum = out.data();
  for (std::int64_t r = 0; r < rows; ++r) {
    const double* row = a + r * cols;
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    std::int64_t c = 0;
    for (; c + 4 <= cols; c += 4) {
      colsum[c] += row[c];
      colsum[c + 1] += row[c + 1];
      colsum[c + 2] += row[c + 2];
      colsum[c + 3] += row[c + 3];
      s0 += row[c];
      s1 += row[c + 1];
      s2 += row[c + 2];
      s3 += row[c + 3];
    }
    for (; c < cols; ++c) {
      colsum[c] += row[c];
      s0 += row[c];
    }
    out[cols + r] = (s0 + s1) + (s2 + s3);
  }
  return out;
}

}  // namespace

std::optional<TaskId> Lowering::linear_sum(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj) {
  const ArrayNodePtr& x = n->args[0];
  const int axis = n->as<ops::Reduce>().axis;
  if (n->as<ops::Reduce>().op != ReduceOp::sum || axis == -1 || x->ndim != 2) return std::nullopt;
  std::vector<Term> terms;
  if (!linear_terms(x, 1.0, terms)) return std::nullopt;
  if (std::none_of(terms.begin(), terms.end(), [](const Term& t) { return t.transposed; })) return std::nullopt;
  // One task per chunk of a term's array: its column and row sums, where it lives.
  auto sums = [&](const ArrayNodePtr& leaf, std::int64_t p, std::int64_t q) {
    const std::int64_t rows = leaf->row_chunks[p], cols = leaf->col_chunks[q];
    const Token token = chunk_token(*leaf, p, q, 0x5c05);
    if (auto id = graph_.find(token)) return *id;
    std::vector<TaskId> deps;
    std::uint64_t stored = 0;
    if (leaf->op() == Op::persisted)
      stored = leaf->as<ops::Persisted>().id;  // read in place on its own rank
    else
      deps.push_back(chunk(leaf, p, q));
    return add(
        "sum-both-axes", token, std::move(deps),
        [stored, p, q, rows, cols](const Inputs& in) {
          std::shared_ptr<const Block> held;
          const Block* block;
          if (stored) {
            held = store_get(stored, p, q);
            if (!held)
              throw Error("persisted chunk (" + std::to_string(p) + ", " + std::to_string(q) +
                          ") is not on this rank: persist and compute must run with the same ranks");
            block = held.get();
          } else {
            block = &in.get<Block>(0);
          }
          return Block{1, rows + cols, column_and_row_sums(block->data.data(), rows, cols)};
        },
        owner(*leaf, p, q), static_cast<double>(rows * cols) * 3e-10, 8.0 * (rows + cols));
  };
  // x's chunks along the reduced axis, for output chunk k; each term's share of chunk
  // (i, k) (axis 0) or (k, j) (axis 1) is a segment of some chunk's sums.
  const std::int64_t k = axis == 0 ? bj : (n->ndim == 1 ? bj : bi);
  const std::int64_t along = axis == 0 ? x->row_blocks() : x->col_blocks();
  struct Part {
    std::int64_t offset;  // into the sums of that chunk: 0 for column sums, cols for row sums
    double sign;
  };
  std::vector<TaskId> deps;
  std::vector<Part> parts;
  for (std::int64_t i = 0; i < along; ++i)
    for (const Term& t : terms) {
      // Chunk (i, k) of x (axis 0) is the leaf's (i, k), or (k, i) transposed; axis 1's
      // chunk (k, i) likewise. Column sums of x's chunk are the leaf chunk's column sums,
      // or its row sums when transposed; row sums the other way round.
      const bool plain = !t.transposed;
      const std::int64_t p = plain == (axis == 0) ? i : k, q = plain == (axis == 0) ? k : i;
      const std::int64_t leaf_cols = t.leaf->col_chunks[q];
      const bool want_column_sums = (axis == 0) == plain;
      deps.push_back(sums(t.leaf, p, q));
      parts.push_back({want_column_sums ? 0 : leaf_cols, t.sign});
    }
  const std::int64_t out_rows = n->row_chunks[bi], out_cols = n->col_chunks[bj];
  return add(
      "sum", chunk_token(*n, bi, bj), std::move(deps),
      [parts = std::move(parts), out_rows, out_cols](const Inputs& in) {
        Block out{out_rows, out_cols, std::vector<double>(out_rows * out_cols, 0.0)};
        for (std::size_t e = 0; e < parts.size(); ++e) {
          const double* v = in.get<Block>(e).data.data() + parts[e].offset;
          const double sign = parts[e].sign;
          for (std::size_t c = 0; c < out.data.size(); ++c) out.data[c] += sign * v[c];
        }
        return out;
      },
      owner(*n, bi, bj), 1e-6 * static_cast<double>(parts.size()), 8.0 * out_rows * out_cols);
}

}  // namespace rask::detail
