// Tables and columns: the public accessors and the lowering's helpers.
#include "frame/table.hpp"

#include <algorithm>
#include <iterator>

namespace rask {

std::size_t Column::size() const noexcept {
  return dtype == DType::float64 ? f64.size() : dtype == DType::string ? str.size() : i64.size();
}

const Column& Table::operator[](std::string_view name) const {
  std::string names;
  for (const auto& c : columns) {
    if (c.name == name) return c;
    names += (names.empty() ? "" : ", ") + c.name;
  }
  throw InputError("the table has no column '" + std::string(name) + "' (it has: " + names + ")");
}

namespace detail {

Column to_column(const BlockColumn& b, std::string name) {
  Column c;
  c.name = std::move(name);
  c.dtype = b.dtype;
  c.f64 = b.f;
  c.i64 = b.i;
  if (b.dtype == DType::string) {
    c.str.reserve(b.codes.size());
    for (std::int32_t code : b.codes)
      c.str.push_back(code < 0 ? std::string() : b.dict[static_cast<std::size_t>(code)]);
  }
  return c;
}

void append_column(Column& out, Column&& in) {
  out.f64.insert(out.f64.end(), in.f64.begin(), in.f64.end());
  out.i64.insert(out.i64.end(), in.i64.begin(), in.i64.end());
  out.str.insert(out.str.end(), std::make_move_iterator(in.str.begin()), std::make_move_iterator(in.str.end()));
}

void keep_rows(Table& t, std::size_t n) {
  const std::size_t keep = std::min(n, t.rows());
  auto cut = [&](Column& c) {
    c.f64.resize(std::min(c.f64.size(), keep));
    c.i64.resize(std::min(c.i64.size(), keep));
    c.str.resize(std::min(c.str.size(), keep));
  };
  cut(t.index);
  for (auto& c : t.columns) cut(c);
}

}  // namespace detail
}  // namespace rask
