// Random arrays: their builders, and their chunk tasks, which make the numbers from
// (seed, global element index).
#include "rask/random.hpp"

#include <Random123/philox.h>

#include <cmath>

#include "array/lower.hpp"

namespace rask::detail {

RandomFill::RandomFill(const ArrayNode& n)
    : kind(n.as<ops::Random>().kind),
      seed(n.as<ops::Random>().seed),
      p0(n.as<ops::Random>().p0),
      p1(n.as<ops::Random>().p1),
      width(n.cols) {}

namespace {

// One value from lane `lane` of a Philox output. Templated on the kind so the row loop
// has no branch per value (the fill runs at memory speed, ~1 ns a value).
template <RandomKind K>
inline double value(const r123::Philox4x64::ctr_type& bits, unsigned lane, double p0, double p1) {
  if constexpr (K == RandomKind::uniform) {
    return p0 + (p1 - p0) * (static_cast<double>(bits.v[lane] >> 11) * 0x1.0p-53);
  } else if constexpr (K == RandomKind::randint) {
    const auto span = static_cast<unsigned __int128>(static_cast<std::uint64_t>(p1 - p0));
    return p0 + static_cast<double>(static_cast<std::uint64_t>((bits.v[lane] * span) >> 64));
  } else {
    // Box-Muller on the lane pair; u1 in (0, 1] keeps the log finite.
    const double u1 = (static_cast<double>(bits.v[2 * lane] >> 11) + 1.0) * 0x1.0p-53;
    const double u2 = static_cast<double>(bits.v[2 * lane + 1] >> 11) * 0x1.0p-53;
    return p0 + p1 * std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
}

template <RandomKind K>
void fill(const RandomFill& f, std::int64_t row0, std::int64_t col0, std::int64_t rows, std::int64_t cols,
          double* dst) {
  constexpr std::uint64_t per_call = K == RandomKind::normal ? 2 : 4;
  r123::Philox4x64 philox;
  const r123::Philox4x64::key_type key = {{f.seed, static_cast<std::uint64_t>(K)}};
  for (std::int64_t r = 0; r < rows; ++r) {
    std::uint64_t index = static_cast<std::uint64_t>((row0 + r) * f.width + col0);
    const std::uint64_t end = index + static_cast<std::uint64_t>(cols);
    // Four counters at a time when the row has room: their rounds are independent, so
    // the multiplies overlap (about 15 % faster than one call after another).
    if (index % per_call == 0)
      for (; end - index >= 4 * per_call; index += 4 * per_call) {
        const std::uint64_t c = index / per_call;
        const auto b0 = philox({{c, 0, 0, 0}}, key), b1 = philox({{c + 1, 0, 0, 0}}, key),
                   b2 = philox({{c + 2, 0, 0, 0}}, key), b3 = philox({{c + 3, 0, 0, 0}}, key);
        for (unsigned l = 0; l < per_call; ++l) dst[l] = value<K>(b0, l, f.p0, f.p1);
        for (unsigned l = 0; l < per_call; ++l) dst[per_call + l] = value<K>(b1, l, f.p0, f.p1);
        for (unsigned l = 0; l < per_call; ++l) dst[2 * per_call + l] = value<K>(b2, l, f.p0, f.p1);
        for (unsigned l = 0; l < per_call; ++l) dst[3 * per_call + l] = value<K>(b3, l, f.p0, f.p1);
        dst += 4 * per_call;
      }
    while (index < end) {
      const r123::Philox4x64::ctr_type ctr = {{index / per_call, 0, 0, 0}};
      const auto bits = philox(ctr, key);
      unsigned lane = static_cast<unsigned>(index % per_call);
      if (lane == 0 && end - index >= per_call) {  // a whole call: the common case
        for (unsigned l = 0; l < per_call; ++l) dst[l] = value<K>(bits, l, f.p0, f.p1);
        dst += per_call;
        index += per_call;
        continue;
      }
      for (; lane < per_call && index < end; ++lane, ++index) *dst++ = value<K>(bits, lane, f.p0, f.p1);
    }
  }
}

}  // namespace

void RandomFill::operator()(std::int64_t row0, std::int64_t col0, std::int64_t rows, std::int64_t cols,
                            double* dst) const {
  switch (kind) {
    case RandomKind::uniform:
      return fill<RandomKind::uniform>(*this, row0, col0, rows, cols, dst);
    case RandomKind::normal:
      return fill<RandomKind::normal>(*this, row0, col0, rows, cols, dst);
    case RandomKind::randint:
      return fill<RandomKind::randint>(*this, row0, col0, rows, cols, dst);
  }
}

// The numbers come from RandomFill, keyed by global element index, so they do not depend
// on the chunking, the ranks or the threads.
TaskId Lowering::random(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj) {
  const std::int64_t rows = n->row_chunks[bi], cols = n->col_chunks[bj];
  const std::int64_t row0 = offsets(n->row_chunks)[bi], col0 = offsets(n->col_chunks)[bj];
  static const char* names[] = {"random_sample", "normal", "randint"};
  return add(
      names[static_cast<int>(n->as<ops::Random>().kind)], chunk_token(*n, bi, bj), {},
      [=, fill = RandomFill(*n)](const Inputs&) {
        Block out{rows, cols, std::vector<double>(rows * cols)};
        fill(row0, col0, rows, cols, out.data.data());
        return out;
      },
      owner(*n, bi, bj), static_cast<double>(rows * cols) * 2e-9, 8.0 * rows * cols);
}

}  // namespace rask::detail

namespace rask::random {

namespace {
Array make(detail::RandomKind kind, DType dtype, double p0, double p1, const Shape& shape, const Shape& chunks,
           std::uint64_t seed, const char* what) {
  auto n = detail::make_source(detail::ops::Random{kind, seed, p0, p1}, dtype, shape, chunks, what);
  return Array(detail::finish(n));
}
}  // namespace

Array random(const Shape& shape, const Shape& chunks, std::uint64_t seed) {
  return make(detail::RandomKind::uniform, DType::float64, 0.0, 1.0, shape, chunks, seed, "random");
}

Array uniform(double low, double high, const Shape& shape, const Shape& chunks, std::uint64_t seed) {
  return make(detail::RandomKind::uniform, DType::float64, low, high, shape, chunks, seed, "uniform");
}

Array normal(double loc, double scale, const Shape& shape, const Shape& chunks, std::uint64_t seed) {
  return make(detail::RandomKind::normal, DType::float64, loc, scale, shape, chunks, seed, "normal");
}

Array randint(std::int64_t low, std::int64_t high, const Shape& shape, const Shape& chunks, std::uint64_t seed) {
  if (high <= low)
    throw ShapeError("randint: high (" + std::to_string(high) + ") must be greater than low (" + std::to_string(low) +
                     ")");
  return make(detail::RandomKind::randint, DType::int64, static_cast<double>(low), static_cast<double>(high), shape,
              chunks, seed, "randint");
}

}  // namespace rask::random
