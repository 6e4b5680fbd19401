// The rules dask.array asks rather than holds: Dask's chunk specifications and chunk
// unification (rask::normalize_chunks, unify_chunks) and the dtypes of reductions and of
// NumPy's types, each a function of `_rask_array`.
#include "job/array_rules.hpp"

#include <pybind11/stl.h>

#include <algorithm>
#include <map>

#include "array/chunks.hpp"
#include "array/node.hpp"

namespace py = pybind11;

namespace rask::job {

py::tuple shape_tuple(const Shape& s) {
  py::tuple t(s.size());
  for (std::size_t k = 0; k < s.size(); ++k) t[k] = s[k];
  return t;
}

Shape shape_of(const py::object& o) {
  Shape s;
  for (auto item : o) s.push_back(item.cast<std::int64_t>());
  return s;
}

py::tuple chunks_tuple(const ChunkSizes& c) {
  py::tuple t(c.size());
  for (std::size_t k = 0; k < c.size(); ++k) t[k] = shape_tuple(c[k]);
  return t;
}

ChunkSizes chunk_sizes_of(const py::object& chunks) {
  ChunkSizes c;
  for (auto dim : chunks) c.push_back(shape_of(py::reinterpret_borrow<py::object>(dim)));
  return c;
}

DType dtype_of(const std::string& name) {
  const auto dtype = parse_dtype_name(name);
  if (dtype == DType::float64 || dtype == DType::int64 || dtype == DType::boolean) return *dtype;
  throw py::value_error("dtype " + name + " is not supported by rask arrays (float64, int64 and bool are)");
}

namespace {

bool is_auto(const py::handle& o) { return py::isinstance<py::str>(o) && o.cast<std::string>() == "auto"; }

// One entry of Dask's `chunks=` in Python's spellings: None or -1 (whole), 'auto', an
// int, or explicit sizes.
DimChunks dim_chunks_of(const py::handle& c, const py::object& integral) {
  if (c.is_none()) return std::int64_t{-1};
  if (is_auto(c)) return AutoChunks{};
  if (py::isinstance(c, integral)) return c.cast<std::int64_t>();
  std::vector<std::int64_t> sizes;
  for (auto x : c) sizes.push_back(py::int_(py::reinterpret_borrow<py::object>(x)).cast<std::int64_t>());
  return sizes;
}

// dask.array's normalize_chunks: the Python spellings of a specification (one for all
// dimensions, a tuple, a dict by axis) as rask::normalize_chunks takes them.
ChunkSizes normalize_chunks_of(const py::object& chunks, const Shape& shape) {
  const py::object integral = py::module_::import("numbers").attr("Integral");
  const auto ndim = static_cast<std::int64_t>(shape.size());
  std::vector<DimChunks> spec;
  if (chunks.is_none() || is_auto(chunks)) {
    spec.assign(shape.size(), AutoChunks{});
  } else if (py::isinstance<py::dict>(chunks)) {  // axes not named are 'auto'
    const auto by_axis = chunks.cast<py::dict>();
    for (std::int64_t d = 0; d < ndim; ++d) {
      const py::int_ axis(d), from_end(d - ndim);
      spec.push_back(by_axis.contains(axis)       ? dim_chunks_of(by_axis[axis], integral)
                     : by_axis.contains(from_end) ? dim_chunks_of(by_axis[from_end], integral)
                                                  : DimChunks{AutoChunks{}});
    }
  } else if (py::isinstance(chunks, integral)) {
    spec.assign(shape.size(), chunks.cast<std::int64_t>());
  } else if (py::isinstance<py::tuple>(chunks) || py::isinstance<py::list>(chunks)) {
    for (auto c : chunks) spec.push_back(dim_chunks_of(c, integral));
  } else {
    throw py::value_error("chunks=" + py::repr(chunks).cast<std::string>() +
                          " is not a chunk specification; give an int, a tuple or 'auto'");
  }
  return normalize_chunks(spec, shape);
}

// What NumPy's reductions are called in dask.array's method names.
detail::ReduceOp reduce_op_of(const std::string& op) {
  static const std::map<std::string, detail::ReduceOp> ops = {
      {"sum", detail::ReduceOp::sum},   {"prod", detail::ReduceOp::prod},     {"mean", detail::ReduceOp::mean},
      {"var", detail::ReduceOp::var},   {"std", detail::ReduceOp::std},       {"min", detail::ReduceOp::min},
      {"max", detail::ReduceOp::max},   {"argmin", detail::ReduceOp::argmin}, {"argmax", detail::ReduceOp::argmax}};
  auto it = ops.find(op);
  if (it == ops.end()) throw py::value_error("internal: unknown reduction " + op);
  return it->second;
}

}  // namespace

void add_array_rules(py::module_& m) {
  m.def(
      "normalize_chunks",
      [](const py::object& chunks, const py::object& shape) {
        return chunks_tuple(normalize_chunks_of(chunks, shape_of(shape)));
      },
      "Local: Dask's chunk specification (an int, a tuple, a dict by axis, 'auto') as sizes per dimension");
  m.def(
      "regular_chunk_size",
      [](const py::object& chunks) -> py::object {
        auto sizes = regular_chunk_size(chunk_sizes_of(chunks));
        return sizes ? py::object(shape_tuple(*sizes)) : py::object(py::none());
      },
      "Local: the chunk size per dimension of regular chunks (what the builders take), else None");
  m.def(
      "operand_chunks",
      [](const py::object& shape, const Array& like) {
        // A NumPy operand is one chunk in Dask (asanyarray) before unify_chunks meets it
        // with `like`: built in those chunks straight away, it needs no rechunk.
        const Shape s = shape_of(shape);
        Shape whole;
        for (auto extent : s) whole.push_back(std::max<std::int64_t>(extent, 1));
        return chunks_tuple(unify_chunks(zeros(s, whole), like).first.chunks());
      },
      "Local: the chunks Dask gives a NumPy operand of `shape` of elementwise arithmetic with `like`");
  m.def(
      "inner_operand_chunks",
      [](const py::object& shape, const Array& like, bool left) {
        const Shape s = shape_of(shape);
        Shape whole;
        for (auto extent : s) whole.push_back(std::max<std::int64_t>(extent, 1));
        const Array operand = zeros(s, whole);
        auto [a, b] = left ? detail::unify_inner_chunks(operand, like) : detail::unify_inner_chunks(like, operand);
        return chunks_tuple((left ? a : b).chunks());
      },
      "Local: the chunks Dask gives a NumPy operand of `shape` of a matrix product with `like` (`left`: it is "
      "the left one)");
  m.def(
      "reduced_dtype",
      [](const std::string& op, const std::string& dtype) {
        return dtype_name(detail::reduced_dtype(reduce_op_of(op), dtype_of(dtype)));
      },
      "Local: the dtype of reduction `op` over values of `dtype`");
  m.def(
      "astype",
      [](const Array& a, const std::string& dtype) -> py::object {
        auto cast = astype(a, dtype_of(dtype));
        return cast ? py::cast(*cast) : py::object(py::none());
      },
      "Local: the expression cast to `dtype` where that needs no rounding, else None");
  m.def(
      "array_dtype",
      [](const py::object& dtype) -> py::object {
        const std::string name = py::module_::import("numpy").attr("dtype")(dtype).attr("name").cast<std::string>();
        auto d = array_dtype_of_numpy(name);
        return d ? py::object(py::str(dtype_name(*d))) : py::object(py::none());
      },
      "Local: the dtype rask arrays hold values of a NumPy dtype in (float64, int64, bool), or None");
}

}  // namespace rask::job
