// Random array builders; the numbers themselves are made by the chunk tasks
// (src/array/lower.cpp), from (seed, global element index).
#include "rask/random.hpp"

#include "array/node.hpp"

namespace rask::random {

namespace {
Array make(detail::RandomKind kind, DType dtype, double p0, double p1, const Shape& shape, const Shape& chunks,
           std::uint64_t seed, const char* what) {
  auto n = detail::make_source(detail::Op::random, dtype, shape, chunks, what);
  n->sub = static_cast<std::uint8_t>(kind);
  n->ints[0] = static_cast<std::int64_t>(seed);
  n->reals = {p0, p1};
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
