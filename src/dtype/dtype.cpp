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

}  // namespace rask
