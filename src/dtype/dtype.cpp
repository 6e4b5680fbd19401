#include "rask/dtype.hpp"

namespace rask {

std::string dtype_name(DType dtype) {
  switch (dtype) {
    case DType::float64:
      return "float64";
    case DType::int64:
      return "int64";
    case DType::boolean:
      return "bool";
    case DType::timestamp:
      return "datetime64[ns]";
    case DType::string:
      return "object";
  }
  return "?";
}

std::optional<DType> parse_dtype_name(std::string_view name) {
  if (name == "float64" || name == "float" || name == "f8") return DType::float64;
  if (name == "int64" || name == "int" || name == "i8") return DType::int64;
  if (name == "bool") return DType::boolean;
  if (name == "object" || name == "string" || name == "str") return DType::string;
  if (name == "datetime64[ns]" || name == "datetime64") return DType::timestamp;
  return std::nullopt;
}

std::optional<DType> array_dtype_of_numpy(std::string_view numpy_name) {
  // Chunks hold float64 whatever the dtype, so narrower types widen rather than fail.
  if (numpy_name.starts_with("float")) return DType::float64;
  if (numpy_name.starts_with("int") || numpy_name.starts_with("uint")) return DType::int64;
  if (numpy_name == "bool") return DType::boolean;
  return std::nullopt;
}

}  // namespace rask
