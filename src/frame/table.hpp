#pragma once
// Tables and columns (include/rask/frame.hpp) as the lowering builds them: a block's
// parsed columns made into result columns, columns appended in block order, cut to n rows.
#include <string>

#include "frame/csv.hpp"

namespace rask::detail {

/// A block's column as a result column named `name` (strings decoded from the dictionary).
Column to_column(const BlockColumn& block, std::string name);
/// Appends `in`'s values to `out` (same type).
void append_column(Column& out, Column&& in);
/// Keeps the first n rows of every column and of the index.
void keep_rows(Table& table, std::size_t n);

}  // namespace rask::detail
