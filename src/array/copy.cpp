// Chunks copied from values the expression holds (literal arrays) or from other chunks:
// rechunk and slice copy from the input chunks each output chunk overlaps.
#include <cstring>

#include "array/lower.hpp"

namespace rask::detail {

// Each task holds only its own chunk's copy of the values.
TaskId Lowering::literal(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj) {
  const std::int64_t rows = n->row_chunks[bi], cols = n->col_chunks[bj];
  const std::int64_t row0 = offsets(n->row_chunks)[bi], col0 = offsets(n->col_chunks)[bj];
  const std::string& values = n->as<ops::Literal>().values;
  const auto* all = reinterpret_cast<const char*>(values.data());
  if (static_cast<std::int64_t>(values.size()) != n->rows * n->cols * 8)
    throw Error("internal: literal array holds " + std::to_string(values.size()) + " bytes for shape " +
                shape_str(*n));
  Block block{rows, cols, std::vector<double>(static_cast<std::size_t>(rows * cols))};
  for (std::int64_t r = 0; r < rows; ++r)
    std::memcpy(block.data.data() + r * cols, all + ((row0 + r) * n->cols + col0) * 8,
                static_cast<std::size_t>(cols) * 8);
  return add(
      "array", chunk_token(*n, bi, bj), {}, [block = std::move(block)](const Inputs&) { return block; },
      owner(*n, bi, bj), 1e-9 * static_cast<double>(rows * cols), 8.0 * static_cast<double>(rows * cols));
}

TaskId Lowering::rechunk(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj) {
  const ArrayNodePtr& x = n->args[0];
  const auto out_r = offsets(n->row_chunks), out_c = offsets(n->col_chunks);
  const auto in_r = offsets(x->row_chunks), in_c = offsets(x->col_chunks);
  struct Piece {
    std::int64_t src_row, src_col, dst_row, dst_col, rows, cols;
  };
  std::vector<Piece> pieces;
  std::vector<TaskId> deps;
  for (std::int64_t i = 0; i < x->row_blocks(); ++i) {
    const std::int64_t r0 = std::max(in_r[i], out_r[bi]), r1 = std::min(in_r[i + 1], out_r[bi + 1]);
    if (r1 <= r0) continue;
    for (std::int64_t j = 0; j < x->col_blocks(); ++j) {
      const std::int64_t c0 = std::max(in_c[j], out_c[bj]), c1 = std::min(in_c[j + 1], out_c[bj + 1]);
      if (c1 <= c0) continue;
      deps.push_back(chunk(x, i, j));
      pieces.push_back({r0 - in_r[i], c0 - in_c[j], r0 - out_r[bi], c0 - out_c[bj], r1 - r0, c1 - c0});
    }
  }
  const std::int64_t rows = n->row_chunks[bi], cols = n->col_chunks[bj];
  return add(
      "rechunk", chunk_token(*n, bi, bj), std::move(deps),
      [pieces, rows, cols](const Inputs& in) {
        Block out{rows, cols, std::vector<double>(rows * cols)};
        for (std::size_t k = 0; k < pieces.size(); ++k) {
          const Piece& p = pieces[k];
          const Block& src = in.get<Block>(k);
          for (std::int64_t r = 0; r < p.rows; ++r)
            std::copy_n(src.data.data() + (p.src_row + r) * src.cols + p.src_col, p.cols,
                        out.data.data() + (p.dst_row + r) * cols + p.dst_col);
        }
        return out;
      },
      owner(*n, bi, bj), static_cast<double>(rows * cols) * 1e-9, 8.0 * rows * cols);
}

namespace {
// For output chunk `k` of a slice along one axis: the input chunk and the first selected
// index inside it.
std::pair<std::int64_t, std::int64_t> slice_source(const std::vector<std::int64_t>& in_chunks, std::int64_t start,
                                                   std::int64_t count, std::int64_t step, std::int64_t k) {
  auto offs = offsets(in_chunks);
  std::int64_t seen = 0;
  for (std::size_t chunk_idx = 0; chunk_idx < in_chunks.size(); ++chunk_idx) {
    auto first_k = [&](std::int64_t lo) { return lo <= start ? 0 : (lo - start + step - 1) / step; };
    const std::int64_t k0 = std::min(first_k(offs[chunk_idx]), count);
    const std::int64_t k1 = std::min(first_k(offs[chunk_idx + 1]), count);
    if (k1 <= k0) continue;
    if (seen == k) return {static_cast<std::int64_t>(chunk_idx), start + k0 * step - offs[chunk_idx]};
    ++seen;
  }
  return {0, 0};  // an empty selection: one empty chunk
}
}  // namespace

TaskId Lowering::slice(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj) {
  const ArrayNodePtr& x = n->args[0];
  const ops::Slice& s = n->as<ops::Slice>();
  const std::int64_t row_step = s.row_step, col_step = s.col_step;
  auto [src_i, first_row] = slice_source(x->row_chunks, s.row_start, n->rows, row_step, bi);
  auto [src_j, first_col] = slice_source(x->col_chunks, s.col_start, n->cols, col_step, bj);
  const std::int64_t rows = n->row_chunks[bi], cols = n->col_chunks[bj];
  return add(
      "getitem", chunk_token(*n, bi, bj), {chunk(x, src_i, src_j)},
      [=](const Inputs& in) {
        const Block& src = in.get<Block>(0);
        Block out{rows, cols, std::vector<double>(rows * cols)};
        for (std::int64_t r = 0; r < rows; ++r)
          for (std::int64_t c = 0; c < cols; ++c)
            out.data[r * cols + c] = src.data[(first_row + r * row_step) * src.cols + first_col + c * col_step];
        return out;
      },
      owner(*n, bi, bj), static_cast<double>(rows * cols) * 1e-9, 8.0 * rows * cols);
}

}  // namespace rask::detail
