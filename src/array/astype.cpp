// Casts between array dtypes, as NumPy's astype where it needs no rounding. Values are
// float64 inside chunks whatever the dtype, so each cast is elementwise arithmetic that
// yields the target dtype by NumPy's promotion (see arithmetic_dtype in array.cpp).
#include "rask/array.hpp"

namespace rask {

std::optional<Array> astype(const Array& a, DType dtype) {
  if (a.dtype() == dtype) return a;
  switch (dtype) {
    case DType::float64:
      return a * 1.0;
    case DType::boolean:
      return a != std::int64_t{0};
    case DType::int64:
      if (a.dtype() == DType::boolean) return a + std::int64_t{0};
      return std::nullopt;  // float64 to int64 rounds
    default:
      return std::nullopt;
  }
}

}  // namespace rask
