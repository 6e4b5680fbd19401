#pragma once
// The rules dask.array asks rask::Array for instead of holding its own copy (chunks and
// dtypes), and the conversions between Python's spellings and rask's types that the
// `_rask_array` module (src/job/array_binding.cpp) shares with them. Need the GIL.
#include <pybind11/pybind11.h>

#include <string>

#include "rask/array.hpp"

namespace rask::job {

/// A shape or one dimension's chunk sizes as a Python tuple, and back from any iterable.
pybind11::tuple shape_tuple(const Shape& s);
Shape shape_of(const pybind11::object& o);
/// Chunk sizes per dimension as a tuple of tuples, and back.
pybind11::tuple chunks_tuple(const ChunkSizes& c);
ChunkSizes chunk_sizes_of(const pybind11::object& chunks);
/// A dtype name a script gave for an array; ValueError for dtypes arrays do not hold.
DType dtype_of(const std::string& name);

/// Local: adds the rule functions (normalize_chunks, regular_chunk_size, operand_chunks,
/// inner_operand_chunks, reduced_dtype, astype, array_dtype) to the module `_rask_array`.
void add_array_rules(pybind11::module_& m);

}  // namespace rask::job
