#pragma once
/// Random arrays from a counter-based generator (Random123's Philox4x64), keyed by
/// (seed, global element index): a job gets the same numbers on any number of ranks and
/// threads and with any chunking (unlike dask's, which change with the chunks).
/// Building is local; the numbers are made chunk by chunk where the chunks live.
///
///     rask::Array r = rask::random::random({1000000, 500}, {500, 500}, /*seed=*/7);
#include <cstdint>

#include "rask/array.hpp"

namespace rask::random {

/// Uniform float64 in [0, 1).
Array random(const Shape& shape, const Shape& chunks, std::uint64_t seed);
/// Uniform float64 in [low, high).
Array uniform(double low, double high, const Shape& shape, const Shape& chunks, std::uint64_t seed);
/// Normal float64 with mean `loc` and standard deviation `scale` (Box-Muller).
Array normal(double loc, double scale, const Shape& shape, const Shape& chunks, std::uint64_t seed);
/// Uniform int64 in [low, high), as NumPy's randint; throws ShapeError when high <= low.
Array randint(std::int64_t low, std::int64_t high, const Shape& shape, const Shape& chunks, std::uint64_t seed);

}  // namespace rask::random
