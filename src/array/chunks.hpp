#pragma once
// Chunk rules the expression builders use beyond the public ones in rask/array.hpp.
#include <utility>

#include "rask/array.hpp"

namespace rask::detail {

/// The operands of a matrix product with their inner axes (a's last, b's first) rechunked
/// to unify_dim's chunks, as Dask's tensordot unifies them; unchanged when the inner
/// lengths differ (the product reports that) or an operand is 0-d.
std::pair<Array, Array> unify_inner_chunks(const Array& a, const Array& b);

}  // namespace rask::detail
