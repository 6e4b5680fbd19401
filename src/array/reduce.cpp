// Reductions. Each chunk of the input gives a partial (fields per output element); the
// partials of one output chunk are combined in a fixed tree over chunk indices (fan-in
// 4, as dask's split_every), so the result never depends on ranks or threads.
#include <cmath>
#include <limits>

#include "array/fused.hpp"

namespace rask::detail {

namespace {

int fields(ReduceOp op) {
  switch (op) {
    case ReduceOp::mean:
      return 2;  // count, sum
    case ReduceOp::var:
    case ReduceOp::std:
      return 3;  // count, mean, M2
    case ReduceOp::argmin:
    case ReduceOp::argmax:
      return 2;  // value, index
    default:
      return 1;
  }
}

double identity(ReduceOp op) {
  switch (op) {
    case ReduceOp::prod:
      return 1;
    case ReduceOp::min:
    case ReduceOp::argmin:
      return std::numeric_limits<double>::infinity();
    case ReduceOp::max:
    case ReduceOp::argmax:
      return -std::numeric_limits<double>::infinity();
    default:
      return 0;
  }
}

// Does (v, i) beat (w, j)? NaN wins (NumPy propagates it, and arg* return the first NaN);
// on a tie the lower index wins.
inline bool beats(bool want_max, double v, double i, double w, double j) {
  const bool vn = std::isnan(v), wn = std::isnan(w);
  if (vn || wn) return vn && (!wn || i < j);
  if (v == w) return i < j;
  return want_max ? v > w : v < w;
}

// Merges partial element b into a (both `fields` wide), a being earlier in the tree.
inline void merge(ReduceOp op, double* a, const double* b) {
  switch (op) {
    case ReduceOp::sum:
      a[0] += b[0];
      break;
    case ReduceOp::prod:
      a[0] *= b[0];
      break;
    case ReduceOp::mean:
      a[0] += b[0];
      a[1] += b[1];
      break;
    case ReduceOp::var:
    case ReduceOp::std: {
      // Chan et al.'s pairwise update of count, mean and M2.
      const double na = a[0], nb = b[0];
      if (nb == 0) break;
      if (na == 0) {
        a[0] = b[0];
        a[1] = b[1];
        a[2] = b[2];
        break;
      }
      const double n = na + nb, delta = b[1] - a[1];
      a[1] += delta * (nb / n);
      a[2] += b[2] + delta * delta * (na * nb / n);
      a[0] = n;
      break;
    }
    case ReduceOp::min:
    case ReduceOp::max:
      if (beats(op == ReduceOp::max, b[0], 1, a[0], 0) && !std::isnan(a[0])) a[0] = b[0];
      break;
    case ReduceOp::argmin:
    case ReduceOp::argmax:
      if (beats(op == ReduceOp::argmax, b[0], b[1], a[0], a[1])) {
        a[0] = b[0];
        a[1] = b[1];
      }
      break;
  }
}

inline double finalize(ReduceOp op, const double* a) {
  switch (op) {
    case ReduceOp::mean:
      return a[1] / a[0];
    case ReduceOp::var:
      return a[0] > 0 ? a[2] / a[0] : std::numeric_limits<double>::quiet_NaN();
    case ReduceOp::std:
      return a[0] > 0 ? std::sqrt(a[2] / a[0]) : std::numeric_limits<double>::quiet_NaN();
    case ReduceOp::argmin:
    case ReduceOp::argmax:
      return a[1];
    default:
      return a[0];
  }
}

// The partial of one tile of values (all at one output element) as a fresh element.
inline void tile_partial(ReduceOp op, const double* v, std::int64_t len, double first_index, double* out) {
  switch (op) {
    case ReduceOp::sum: {
      double s = 0;
      for (std::int64_t t = 0; t < len; ++t) s += v[t];
      out[0] = s;
      break;
    }
    case ReduceOp::prod: {
      double s = 1;
      for (std::int64_t t = 0; t < len; ++t) s *= v[t];
      out[0] = s;
      break;
    }
    case ReduceOp::mean: {
      double s = 0;
      for (std::int64_t t = 0; t < len; ++t) s += v[t];
      out[0] = static_cast<double>(len);
      out[1] = s;
      break;
    }
    case ReduceOp::var:
    case ReduceOp::std: {
      // Two passes over a tile that is in cache: as accurate as NumPy's two-pass var.
      double s = 0;
      for (std::int64_t t = 0; t < len; ++t) s += v[t];
      const double mean = s / static_cast<double>(len);
      double m2 = 0;
      for (std::int64_t t = 0; t < len; ++t) m2 += (v[t] - mean) * (v[t] - mean);
      out[0] = static_cast<double>(len);
      out[1] = mean;
      out[2] = m2;
      break;
    }
    case ReduceOp::min:
    case ReduceOp::max: {
      const bool want_max = op == ReduceOp::max;
      double best = v[0];
      for (std::int64_t t = 1; t < len; ++t)
        if (beats(want_max, v[t], 1, best, 0) && !std::isnan(best)) best = v[t];
      out[0] = best;
      break;
    }
    case ReduceOp::argmin:
    case ReduceOp::argmax: {
      const bool want_max = op == ReduceOp::argmax;
      double best = v[0];
      std::int64_t at = 0;
      for (std::int64_t t = 1; t < len; ++t)
        if (beats(want_max, v[t], static_cast<double>(t), best, static_cast<double>(at))) {
          best = v[t];
          at = t;
        }
      out[0] = best;
      out[1] = first_index + static_cast<double>(at);
      break;
    }
  }
}

struct ReduceSpec {
  ReduceOp op;
  int axis;                        // internal: -1 all, 0 rows, 1 columns
  std::int64_t row0, col0, width;  // the input chunk's offsets; the input's column count
};

// The partial of one input chunk, streamed from its program.
Block chunk_partial(const Program& p, const ReduceSpec& s, const Inputs& in) {
  const int f = fields(s.op);
  Block out;
  out.rows = s.axis == 1 ? p.rows : 1;
  out.cols = s.axis == 0 ? p.cols : 1;
  out.data.assign(out.rows * out.cols * f, 0.0);
  for (std::int64_t e = 0; e < out.rows * out.cols; ++e) {
    out.data[e * f] = identity(s.op);
    if (f > 1 && (s.op == ReduceOp::mean || s.op == ReduceOp::var || s.op == ReduceOp::std)) out.data[e * f] = 0;
    if (s.op == ReduceOp::argmin || s.op == ReduceOp::argmax) out.data[e * f + 1] = std::numeric_limits<double>::max();
  }
  std::vector<double> scratch(f);
  if (s.axis == 0) {
    // Rows fold into per-column accumulators, one row at a time.
    const bool welford = s.op == ReduceOp::var || s.op == ReduceOp::std;
    run_program(p, in, [&](std::int64_t row, std::int64_t col, std::int64_t len, const double* v) {
      double* acc = out.data.data() + col * f;
      switch (s.op) {
        case ReduceOp::sum:
          for (std::int64_t t = 0; t < len; ++t) acc[t] += v[t];
          break;
        case ReduceOp::prod:
          for (std::int64_t t = 0; t < len; ++t) acc[t] *= v[t];
          break;
        case ReduceOp::mean:
          for (std::int64_t t = 0; t < len; ++t) {
            acc[2 * t] += 1;
            acc[2 * t + 1] += v[t];
          }
          break;
        default:
          if (welford) {
            const double n = static_cast<double>(row + 1), inv = 1.0 / n;
            for (std::int64_t t = 0; t < len; ++t) {
              double* a = acc + 3 * t;
              const double delta = v[t] - a[1];
              a[0] = n;
              a[1] += delta * inv;
              a[2] += delta * (v[t] - a[1]);
            }
          } else {
            for (std::int64_t t = 0; t < len; ++t) {
              scratch[0] = v[t];
              if (f > 1) scratch[1] = static_cast<double>(s.row0 + row);
              merge(s.op, acc + f * t, scratch.data());
            }
          }
      }
    });
  } else {
    run_program(p, in, [&](std::int64_t row, std::int64_t col, std::int64_t len, const double* v) {
      double* acc = out.data.data() + (s.axis == 1 ? row * f : 0);
      // Flat index (no axis) or column index (axis 1) of the tile's first value.
      const double first = s.axis == 1 ? static_cast<double>(s.col0 + col)
                                       : static_cast<double>((s.row0 + row) * s.width + s.col0 + col);
      tile_partial(s.op, v, len, first, scratch.data());
      merge(s.op, acc, scratch.data());
    });
  }
  return out;
}

}  // namespace

TaskId Lowering::reduce(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj) {
  if (auto id = linear_sum(n, bi, bj)) return *id;
  const ArrayNodePtr& x = n->args[0];
  const ReduceOp op = n->as<ops::Reduce>().op;
  const int axis = n->as<ops::Reduce>().axis;
  const auto row_offs = offsets(x->row_chunks), col_offs = offsets(x->col_chunks);
  // The input chunks feeding output chunk (bi, bj), in index order.
  std::vector<std::pair<std::int64_t, std::int64_t>> group;
  if (axis == -1) {
    for (std::int64_t i = 0; i < x->row_blocks(); ++i)
      for (std::int64_t j = 0; j < x->col_blocks(); ++j) group.emplace_back(i, j);
  } else if (axis == 0) {
    for (std::int64_t i = 0; i < x->row_blocks(); ++i) group.emplace_back(i, bj);
  } else {
    const std::int64_t i = n->ndim == 1 ? bj : bi;  // 1-d results hold rows as a row
    for (std::int64_t j = 0; j < x->col_blocks(); ++j) group.emplace_back(i, j);
  }
  const int f = fields(op);
  std::vector<TaskId> level;
  for (auto [i, j] : group) {
    const Token token = chunk_token(*n, i, j, 0x9a7);
    if (auto id = graph_.find(token)) {
      level.push_back(*id);
      continue;
    }
    std::vector<TaskId> deps;
    auto program = std::make_shared<const Program>(compile_chunk(*this, x, i, j, deps, owner(*x, i, j)));
    ReduceSpec spec{op, axis, row_offs[i], col_offs[j], x->cols};
    const double elements = static_cast<double>(program->rows * program->cols);
    level.push_back(add(
        std::string(op_name(*x)) + "-" + "partial", token, std::move(deps),
        [program, spec](const Inputs& in) { return chunk_partial(*program, spec, in); }, owner(*x, i, j),
        elements * 1.5e-9 * static_cast<double>(program->code.size()),
        8.0 * f *
            (axis == 0   ? program->cols
             : axis == 1 ? program->rows
                         : 1)));
  }
  // The fixed tree: groups of 4 consecutive partials, level by level; the root also
  // turns the fields into the result.
  static const char* names[] = {"sum", "prod", "mean", "var", "std", "min", "max", "argmin", "argmax"};
  const std::string name = names[static_cast<int>(op)];
  const std::int64_t out_rows = n->row_chunks[bi], out_cols = n->col_chunks[bj];
  std::uint64_t depth = 0;
  while (true) {
    const bool root = level.size() <= 4;
    std::vector<TaskId> next;
    for (std::size_t start = 0; start < level.size(); start += 4) {
      std::vector<TaskId> deps(level.begin() + start, level.begin() + std::min(level.size(), start + 4));
      const Token token =
          root ? chunk_token(*n, bi, bj)
               : chunk_token(*n, bi, bj, ((depth + 1) << 32) | start);  // (level, index): distinct for any tree
      auto body = [op, f, root, out_rows, out_cols](const Inputs& in) {
        Block acc = in.get<Block>(0);
        for (std::size_t k = 1; k < in.size(); ++k) {
          const Block& b = in.get<Block>(k);
          for (std::size_t e = 0; e < acc.data.size(); e += f) merge(op, &acc.data[e], &b.data[e]);
        }
        if (!root) return acc;
        Block out{out_rows, out_cols, std::vector<double>(acc.data.size() / f)};
        for (std::size_t e = 0; e < out.data.size(); ++e) out.data[e] = finalize(op, &acc.data[e * f]);
        return out;
      };
      next.push_back(add(root ? name : name + "-combine", token, std::move(deps), body, root ? owner(*n, bi, bj) : -1,
                         1e-7, 8.0 * f * out_rows * out_cols));
    }
    if (root) return next[0];
    level = std::move(next);
    ++depth;
  }
}

}  // namespace rask::detail
