#pragma once
/// DType: the element type of an array or a column, shared by rask::Array and
/// rask::DataFrame so that one can feed the other.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rask {

/// Element types. Arrays hold float64, int64 or boolean (NumPy's float64, int64, bool);
/// columns may also hold timestamps (int64 nanoseconds since 1970-01-01, no time zone,
/// NaT = INT64_MIN) and strings.
enum class DType : std::uint8_t { float64, int64, boolean, timestamp, string };

/// NumPy's and pandas' name of a dtype: "float64", "int64", "bool", "datetime64[ns]",
/// "object". Local.
std::string dtype_name(DType dtype);

/// The inverse of dtype_name, also taking the spellings users write for it: "float" and
/// "f8", "int" and "i8", "string" and "str", "datetime64". std::nullopt for other names,
/// so that each caller words its own error. Local.
std::optional<DType> parse_dtype_name(std::string_view name);

/// The dtype rask arrays hold a NumPy dtype's values in, given NumPy's name of it (as
/// `numpy.dtype(x).name`): floating types as float64, signed and unsigned integers as
/// int64, bool as bool; std::nullopt for the rest (complex, strings, datetimes). Local.
std::optional<DType> array_dtype_of_numpy(std::string_view numpy_name);

}  // namespace rask
