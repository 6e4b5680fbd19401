#pragma once
/// DType: the element type of an array or a column, shared by rask::Array and
/// rask::DataFrame so that one can feed the other.
#include <cstdint>
#include <string>

namespace rask {

/// Element types. Arrays hold float64, int64 or boolean (NumPy's float64, int64, bool);
/// columns may also hold timestamps (int64 nanoseconds since 1970-01-01, no time zone,
/// NaT = INT64_MIN) and strings.
enum class DType : std::uint8_t { float64, int64, boolean, timestamp, string };

/// NumPy's and pandas' name of a dtype: "float64", "int64", "bool", "datetime64[ns]",
/// "object".
std::string dtype_name(DType dtype);

}  // namespace rask
