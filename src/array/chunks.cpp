// Dask's chunk rules: normalize_chunks and chunks="auto" (dask/array/core.py), and the
// chunks operands of an elementwise operation or a matrix product meet in (common_blockdim,
// unify_chunks). dask.array under `rask run` asks these instead of holding its own copy.
#include "array/chunks.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "array/node.hpp"

namespace rask {
namespace {

std::string tuple_str(const std::vector<std::int64_t>& v) {
  std::string out = "(";
  for (std::size_t k = 0; k < v.size(); ++k) out += (k ? ", " : "") + std::to_string(v[k]);
  return out + (v.size() == 1 ? ",)" : ")");
}

// A specification as Python prints the tuple a script gave, for errors in its words.
std::string spec_str(const std::vector<DimChunks>& chunks) {
  std::string out = "(";
  for (std::size_t k = 0; k < chunks.size(); ++k) {
    out += k ? ", " : "";
    if (const auto* size = std::get_if<std::int64_t>(&chunks[k])) out += std::to_string(*size);
    if (const auto* sizes = std::get_if<std::vector<std::int64_t>>(&chunks[k])) out += tuple_str(*sizes);
    if (std::holds_alternative<AutoChunks>(chunks[k])) out += "'auto'";
  }
  return out + (chunks.size() == 1 ? ",)" : ")");
}

}  // namespace

Shape auto_chunks(const Shape& shape) {
  const std::int64_t limit = auto_chunk_bytes / 8;
  const std::int64_t total = std::accumulate(shape.begin(), shape.end(), std::int64_t{1}, std::multiplies<>());
  Shape out = shape;
  if (!shape.empty() && total > limit) {
    std::vector<std::size_t> free(shape.size());
    std::iota(free.begin(), free.end(), std::size_t{0});
    std::int64_t budget = limit;
    // Dimensions shorter than their equal share of the budget stay whole, which leaves a
    // larger share for the rest; repeat until no dimension drops out.
    for (bool changed = true; changed && !free.empty();) {
      changed = false;
      const double share = std::pow(static_cast<double>(budget), 1.0 / static_cast<double>(free.size()));
      for (auto it = free.begin(); it != free.end();) {
        if (static_cast<double>(shape[*it]) <= share) {
          budget = std::max<std::int64_t>(budget / std::max<std::int64_t>(shape[*it], 1), 1);
          it = free.erase(it);
          changed = true;
        } else {
          ++it;
        }
      }
    }
    if (free.size() == 1) {
      out[free[0]] = std::min(budget, shape[free[0]]);
    } else if (!free.empty()) {
      const auto share = std::max<std::int64_t>(
          static_cast<std::int64_t>(std::pow(static_cast<double>(budget), 1.0 / static_cast<double>(free.size()))), 1);
      for (auto d : free) out[d] = std::min(share, shape[d]);
    }
  }
  for (auto& c : out) c = std::max<std::int64_t>(c, 1);
  return out;
}

ChunkSizes normalize_chunks(const std::vector<DimChunks>& chunks, const Shape& shape) {
  // A 1-d array's explicit sizes may come unnested, as Dask reads chunks=(1, 2, 7).
  if (shape.size() == 1 && chunks.size() > 1 &&
      std::all_of(chunks.begin(), chunks.end(), [](const DimChunks& c) { return std::holds_alternative<std::int64_t>(c); })) {
    std::vector<std::int64_t> sizes;
    for (const auto& c : chunks) sizes.push_back(std::get<std::int64_t>(c));
    if (std::accumulate(sizes.begin(), sizes.end(), std::int64_t{0}) == shape[0])
      return normalize_chunks({DimChunks{std::move(sizes)}}, shape);
  }
  if (chunks.size() != shape.size())
    throw ShapeError("chunks=" + spec_str(chunks) + " gives " + std::to_string(chunks.size()) +
                     " dimension(s) for shape " + tuple_str(shape) + "; give one chunk size per dimension");
  ChunkSizes out;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    const std::int64_t extent = shape[d];
    if (const auto* sizes = std::get_if<std::vector<std::int64_t>>(&chunks[d])) {
      const std::int64_t sum = std::accumulate(sizes->begin(), sizes->end(), std::int64_t{0});
      if (sum != extent)
        throw ShapeError("chunks " + tuple_str(*sizes) + " for dimension " + std::to_string(d) + " sum to " +
                         std::to_string(sum) + ", not the shape's " + std::to_string(extent));
      out.push_back(*sizes);
      continue;
    }
    std::int64_t size = std::holds_alternative<AutoChunks>(chunks[d]) ? auto_chunks(shape)[d]
                                                                      : std::get<std::int64_t>(chunks[d]);
    if (size == -1) size = std::max<std::int64_t>(extent, 1);
    if (size <= 0)
      throw ShapeError("chunk size " + std::to_string(size) + " for dimension " + std::to_string(d) + " of shape " +
                       tuple_str(shape) + " must be positive");
    out.push_back(detail::regular_chunks(extent, size, "normalize_chunks"));
  }
  return out;
}

std::optional<Shape> regular_chunk_size(const ChunkSizes& chunks) {
  Shape sizes;
  for (const auto& dim : chunks) {
    if (dim.size() > 1 &&
        (std::any_of(dim.begin(), dim.end() - 1, [&](std::int64_t c) { return c != dim[0]; }) || dim.back() > dim[0]))
      return std::nullopt;
    sizes.push_back(std::max<std::int64_t>(dim.empty() ? 1 : dim[0], 1));
  }
  return sizes;
}

std::vector<std::int64_t> unify_dim(const std::vector<std::int64_t>& a, const std::vector<std::int64_t>& b) {
  if (a == b) return a;
  // Dask keeps a chunking that is the only one split into pieces: a single chunk spans
  // the axis and so fits any other.
  if (a.size() <= 1 && b.size() > 1) return b;
  if (b.size() <= 1 && a.size() > 1) return a;
  if (a.size() <= 1 && b.size() <= 1) return a.empty() || (!b.empty() && b[0] > a[0]) ? b : a;
  // Both split: walk both together, each step the smaller of the two current pieces
  // (Dask's loop, which keeps zero-size pieces where either has them).
  std::vector<std::int64_t> out;
  std::vector<std::int64_t> x(a.rbegin(), a.rend()), y(b.rbegin(), b.rend());
  const std::int64_t total = std::accumulate(a.begin(), a.end(), std::int64_t{0});
  for (std::int64_t done = 0; done < total;) {
    std::int64_t m = std::numeric_limits<std::int64_t>::max();
    if (!x.empty()) m = std::min(m, x.back());
    if (!y.empty()) m = std::min(m, y.back());
    out.push_back(m);
    for (auto* v : {&x, &y}) {
      if (v->empty()) continue;
      v->back() -= m;
      if (v->back() == 0) v->pop_back();
    }
    done += m;
  }
  if (out.empty()) out.push_back(0);
  return out;
}

namespace {

// `a` in the given internal row and column chunks (a 1-d array's only axis is its columns).
Array rechunked(const Array& a, const std::vector<std::int64_t>& rows, const std::vector<std::int64_t>& cols) {
  if (a.ndim() == 0) return a;
  if (a.ndim() == 1) return a.rechunk(ChunkSizes{cols});
  return a.rechunk(ChunkSizes{rows, cols});
}

}  // namespace

std::pair<Array, Array> unify_chunks(const Array& a, const Array& b) {
  const detail::ArrayNode& x = *a.node();
  const detail::ArrayNode& y = *b.node();
  // On the internal 2-d forms, as the elementwise operation broadcasts them: an axis of
  // the same length on both sides is shared; one of length 1 broadcasts and keeps its chunk.
  auto xr = x.row_chunks, yr = y.row_chunks, xc = x.col_chunks, yc = y.col_chunks;
  if (x.rows == y.rows) xr = yr = unify_dim(x.row_chunks, y.row_chunks);
  if (x.cols == y.cols) xc = yc = unify_dim(x.col_chunks, y.col_chunks);
  return {rechunked(a, xr, xc), rechunked(b, yr, yc)};
}

namespace detail {

std::pair<Array, Array> unify_inner_chunks(const Array& a, const Array& b) {
  const ArrayNode& x = *a.node();
  const ArrayNode& y = *b.node();
  if (x.ndim == 0 || y.ndim == 0) return {a, b};
  const bool b_flat = y.ndim == 1;  // b's inner axis: its rows, or its only axis
  if (x.cols != (b_flat ? y.cols : y.rows)) return {a, b};
  const auto inner = unify_dim(x.col_chunks, b_flat ? y.col_chunks : y.row_chunks);
  return {rechunked(a, x.row_chunks, inner), b_flat ? rechunked(b, y.row_chunks, inner) : rechunked(b, inner, y.col_chunks)};
}

}  // namespace detail
}  // namespace rask
