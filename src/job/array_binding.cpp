// rask::Array for job scripts: the embedded module `_rask_array` that dask.array (in
// src/job/python/dask/array) builds expressions with on rank 0, and the expression kind
// "array" and collective calls that run them on every rank.
//
// The script only ever holds expressions; a compute sends their serialized form (a few
// hundred bytes, however many chunks) and every rank lowers it into its chunk tasks.
#include <pybind11/embed.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "array/lower.hpp"
#include "array/node.hpp"
#include "job/array_rules.hpp"
#include "job/expression.hpp"
#include "job/pyvalue.hpp"
#include "rask/array.hpp"
#include "rask/io.hpp"
#include "rask/linalg.hpp"
#include "rask/random.hpp"
#include "rask/runtime.hpp"

namespace py = pybind11;

namespace rask::job {
namespace {

std::optional<int> axis_of(const py::object& axis) {
  if (axis.is_none()) return std::nullopt;
  return axis.cast<int>();
}

Bytes bytes_of(const py::bytes& b) {
  const std::string_view view = b;
  Bytes out(view.size());
  std::memcpy(out.data(), view.data(), view.size());
  return out;
}

py::bytes to_py(const Bytes& b) { return py::bytes(reinterpret_cast<const char*>(b.data()), b.size()); }

// A computed array as NumPy gives it: an ndarray of the array's dtype, or a NumPy scalar
// for a 0-d array (as dask's compute returns). Needs the GIL.
py::object to_numpy(ArrayValue&& v) {
  std::vector<py::ssize_t> shape(v.shape.begin(), v.shape.end());
  // The ndarray adopts the assembled values (no copy of a result that may be large).
  auto owned = std::make_unique<std::vector<double>>(std::move(v.values));
  double* data = owned->data();
  py::capsule base(owned.get(),
                   [](void* p) { std::unique_ptr<std::vector<double>>(static_cast<std::vector<double>*>(p)); });
  owned.release();
  py::array_t<double> values(shape, data, base);
  py::object out = values;
  if (v.dtype != DType::float64) out = values.attr("astype")(dtype_name(v.dtype));
  if (v.shape.empty()) out = out.attr("__getitem__")(py::tuple());
  return out;
}

// The assembled value of an array's chunks (values as Block, row-major chunk order).
ArrayValue assemble(const detail::ArrayNode& n, const Array& a, const Inputs& in) {
  ArrayValue v;
  v.shape = a.shape();
  v.dtype = n.dtype;
  v.values.resize(static_cast<std::size_t>(n.rows * n.cols));
  const auto row_offs = detail::offsets(n.row_chunks), col_offs = detail::offsets(n.col_chunks);
  std::size_t idx = 0;
  for (std::int64_t bi = 0; bi < n.row_blocks(); ++bi) {
    for (std::int64_t bj = 0; bj < n.col_blocks(); ++bj) {
      const auto& b = in.get<detail::Block>(idx++);
      const std::int64_t cols = n.col_chunks[bj];
      for (std::int64_t r = 0; r < n.row_chunks[bi]; ++r)
        std::copy_n(b.data.data() + r * cols, cols, v.values.data() + (row_offs[bi] + r) * n.cols + col_offs[bj]);
    }
  }
  return v;
}

// Persisted arrays by persist id. Every rank keeps its chunks alive here, since only
// rank 0's script knows when it drops the last array using them. Rank 0 hands its own
// over to the script's expressions (`watched`, by id) and, when they are gone, tells
// the other ranks through the collective call "array.release". Touched only by rank 0's
// script thread and by collective calls, one at a time.
std::map<std::uint64_t, detail::ArrayNodePtr>& persisted_registry() {
  static std::map<std::uint64_t, detail::ArrayNodePtr> kept;
  return kept;
}

std::set<std::uint64_t>& watched() {
  static std::set<std::uint64_t> ids;
  return ids;
}

void keep_persisted(const std::vector<detail::ArrayNodePtr>& nodes) {
  for (const auto& n : nodes) persisted_registry()[n->as<detail::ops::Persisted>().id] = n;
}

Array deserialize_payload(std::string_view payload) {
  Bytes bytes(payload.size());
  std::memcpy(bytes.data(), payload.data(), payload.size());
  return Array::deserialize(bytes);
}

// A collective call's payload, read in place.
Reader reader_of(std::string_view payload) {
  return Reader(reinterpret_cast<const std::byte*>(payload.data()), payload.size());
}

// The arrays made by da.from_delayed inside `a`: Op::literal nodes without values whose
// delayed_key names the Delayed giving their one chunk.
std::vector<detail::ArrayNodePtr> delayed_leaves(const Array& a) {
  std::vector<detail::ArrayNodePtr> out;
  std::set<const detail::ArrayNode*> seen;
  std::vector<detail::ArrayNodePtr> stack{a.node()};
  while (!stack.empty()) {
    auto n = stack.back();
    stack.pop_back();
    if (!seen.insert(n.get()).second) continue;
    if (n->op() == detail::Op::literal && !n->as<detail::ops::Literal>().delayed_key.empty()) out.push_back(n);
    for (const auto& arg : n->args) stack.push_back(arg);
  }
  return out;
}

// `a` with the from_delayed leaves whose keys `values` names filled with those values
// (float64, row-major): an expression a collective call can run without a graph around.
Array fill_delayed(const Array& a, const std::map<std::string, std::string>& values) {
  std::map<const detail::ArrayNode*, detail::ArrayNodePtr> done;
  std::function<detail::ArrayNodePtr(const detail::ArrayNodePtr&)> walk = [&](const detail::ArrayNodePtr& n) {
    if (auto it = done.find(n.get()); it != done.end()) return it->second;
    detail::ArrayNodePtr out = n;
    if (n->op() == detail::Op::literal && !n->as<detail::ops::Literal>().delayed_key.empty()) {
      auto it = values.find(n->as<detail::ops::Literal>().delayed_key);
      if (it != values.end()) {
        auto copy = std::make_shared<detail::ArrayNode>(*n);
        copy->params = detail::ops::Literal{it->second, ""};
        out = detail::finish(copy);
      }
    } else {
      std::vector<detail::ArrayNodePtr> args;
      bool changed = false;
      for (const auto& arg : n->args) {
        args.push_back(walk(arg));
        changed |= args.back() != arg;
      }
      if (changed) {
        auto copy = std::make_shared<detail::ArrayNode>(*n);
        copy->args = std::move(args);
        out = detail::finish(copy);
      }
    }
    done[n.get()] = out;
    return out;
  };
  return Array(walk(a.node()));
}

// The error for a from_delayed value whose shape is not the declared one.
void check_delayed_shape(const std::string& key, const Shape& got, const Shape& declared) {
  if (got == declared) return;
  auto text = [](const Shape& s) {
    std::string t = "(";
    for (std::size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
    return t + (s.size() == 1 ? ",)" : ")");
  };
  throw ShapeError("from_delayed: the value of '" + key + "' has shape " + text(got) + ", not the shape " +
                   text(declared) + " given to da.from_delayed; give its shape");
}

}  // namespace

void register_array_kinds() {
  // One record per array a compute returns: its chunk tasks where they live, and one
  // task on rank 0 that assembles them into the NumPy array the script receives.
  register_expression(
      "array",
      [](Graph& graph, std::string_view key, std::string_view payload, const std::vector<TaskId>& deps) -> TaskId {
        // The payload: the expression. The record's dependencies are the Delayed values of
        // its from_delayed leaves, in the order of their keys.
        Array a = deserialize_payload(payload);
        Runtime& rt = Runtime::current();
        // A from_delayed chunk: the Delayed's value as a Block, under the chunk's own token,
        // so the lowering below finds it instead of lowering the node.
        {
          detail::Lowering lowering(graph, rt.size());
          std::map<std::string, TaskId> by_key;
          for (const auto& leaf : delayed_leaves(a)) by_key.emplace(leaf->as<detail::ops::Literal>().delayed_key, 0);
          if (by_key.size() != deps.size())
            throw SerializeError("array expression record: " + std::to_string(by_key.size()) +
                                 " from_delayed values, " + std::to_string(deps.size()) + " dependencies");
          std::size_t k = 0;
          for (auto& [leaf_key, id] : by_key) id = deps[k++];  // keys sorted, as the script sends them
          for (const auto& leaf : delayed_leaves(a)) {
            const Shape shape = Array(leaf).shape();
            const std::string leaf_key = leaf->as<detail::ops::Literal>().delayed_key;
            lowering.add(
                "from-value", detail::chunk_token(*leaf, 0, 0), {by_key.at(leaf_key)},
                [shape, leaf_key](const Inputs& in) {
                  TaskGil gil;
                  py::object value = py::reinterpret_borrow<py::object>(in.get<PyValue>(0).object());
                  py::array_t<double, py::array::c_style | py::array::forcecast> values(
                      py::module_::import("numpy").attr("asarray")(value));
                  check_delayed_shape(leaf_key, Shape(values.shape(), values.shape() + values.ndim()), shape);
                  const std::int64_t rows = shape.size() == 2 ? shape[0] : 1;
                  detail::Block b{rows, values.size() / std::max<std::int64_t>(rows, 1),
                                  std::vector<double>(values.data(), values.data() + values.size())};
                  return b;
                },
                -1, 1e-9 * static_cast<double>(Array(leaf).size()), 8.0 * static_cast<double>(Array(leaf).size()));
          }
        }
        // A ScaLAPACK SVD lowers to a collective task inside this graph: lowering stays
        // local, so graphs built on rank 0 alone (--dry-run, visualize) plan it too.
        detail::Lowering lowering(graph, rt.size(), detail::scan_svd_wants({a.node()}));
        std::vector<TaskId> chunks = lowering.chunks(a.node());
        const double bytes = 8.0 * static_cast<double>(a.size());
        auto body = std::make_shared<const TaskBody>([a](const Inputs& in) -> Value {
          ArrayValue v = assemble(*a.node(), a, in);
          TaskGil gil;
          py::object out = to_numpy(std::move(v));
          return Value(PyValue{std::make_shared<PyRef>(out.release().ptr())});
        });
        return graph.add_task(Key{std::string(key), token_combine(a.token(), 0x9a55e)}, std::move(chunks),
                              std::move(body), pyvalue_codec(),
                              TaskOptions{.name = "array", .cost = 1e-9 * bytes, .bytes = bytes, .owner = 0});
      });

  // Collective: the arrays written to one HDF5 file. Payload: the path, then each
  // dataset name and expression, length-prefixed.
  register_collective("array.to_hdf5", [](std::string_view payload) -> std::string {
    Reader r = reader_of(payload);
    const auto path = r.read<std::string>();
    const auto count = r.read<std::uint64_t>();
    std::vector<std::pair<std::string, Array>> arrays;
    for (std::uint64_t k = 0; k < count; ++k) {
      auto name = r.read<std::string>();
      arrays.emplace_back(std::move(name), Array::deserialize(r.read<Bytes>()));
    }
    to_hdf5(path, arrays);
    return {};
  });

  // Collective: every rank drops its chunks of the persisted arrays whose ids the
  // payload lists (rank 0's script no longer refers to them).
  register_collective("array.release", [](std::string_view payload) -> std::string {
    Reader r = reader_of(payload);
    for (auto id : r.read<std::vector<std::uint64_t>>()) persisted_registry().erase(id);
    return {};
  });

  // Collective: draws the array's chunk graph, planned on every rank, written by rank 0.
  register_collective("array.visualize", [](std::string_view payload) -> std::string {
    Reader r = reader_of(payload);
    const auto path = r.read<std::string>();
    Array::deserialize(r.read<Bytes>()).visualize(path);
    return {};
  });

  // Collective: the arrays persisted where their chunks live; the result is the
  // persisted expressions, in order, length-prefixed.
  register_collective("array.persist", [](std::string_view payload) -> std::string {
    Reader r = reader_of(payload);
    const auto count = r.read<std::uint64_t>();
    std::vector<detail::ArrayNodePtr> nodes;
    for (std::uint64_t k = 0; k < count; ++k) nodes.push_back(Array::deserialize(r.read<Bytes>()).node());
    auto persisted = detail::persist_nodes(nodes);
    // Rank 0 keeps the handles alive through the expressions the script holds; the
    // other ranks keep theirs in a registry until rank 0's expression is dropped.
    Bytes out;
    Writer w(out);
    w.write(static_cast<std::uint64_t>(persisted.size()));
    for (const auto& n : persisted) w.write(Array(n).serialize());
    keep_persisted(persisted);
    return std::string(reinterpret_cast<const char*>(out.data()), out.size());
  });
}

}  // namespace rask::job

namespace rask::job {
namespace {

Array binary_op(const Array& a, const Array& b, const std::string& op) {
  if (op == "add") return a + b;
  if (op == "sub") return a - b;
  if (op == "mul") return a * b;
  if (op == "truediv") return a / b;
  if (op == "pow") return pow(a, b);
  if (op == "lt") return a < b;
  if (op == "le") return a <= b;
  if (op == "gt") return a > b;
  if (op == "ge") return a >= b;
  if (op == "eq") return a == b;
  if (op == "ne") return a != b;
  throw py::value_error("internal: unknown binary operation " + op);
}

Array unary_op(const Array& a, const std::string& op) {
  if (op == "neg") return -a;
  if (op == "exp") return exp(a);
  if (op == "log") return log(a);
  if (op == "sqrt") return sqrt(a);
  if (op == "abs") return abs(a);
  throw py::value_error("internal: unknown unary operation " + op);
}

Array reduce_op(const Array& a, const std::string& op, const py::object& axis, bool keepdims) {
  const auto ax = axis_of(axis);
  if (op == "sum") return a.sum(ax, keepdims);
  if (op == "prod") return a.prod(ax, keepdims);
  if (op == "mean") return a.mean(ax, keepdims);
  if (op == "var") return a.var(ax, keepdims);
  if (op == "std") return a.std(ax, keepdims);
  if (op == "min") return a.min(ax, keepdims);
  if (op == "max") return a.max(ax, keepdims);
  if (op == "argmin") return a.argmin(ax, keepdims);
  if (op == "argmax") return a.argmax(ax, keepdims);
  throw py::value_error("internal: unknown reduction " + op);
}

py::tuple svd_tuple(const linalg::SVD& f) { return py::make_tuple(f.u, f.s, f.v); }

}  // namespace
}  // namespace rask::job

using namespace rask;       // NOLINT: the module's body names rask's builders unqualified
using namespace rask::job;  // NOLINT

// Local: every function here builds expressions on rank 0's script, without messages.
PYBIND11_EMBEDDED_MODULE(_rask_array, m) {
  m.doc() = "rask::Array expressions for dask.array under rask run (local: builds, never computes)";
  // Shapes that do not fit are ValueErrors in the script line that builds them, as
  // NumPy's and Dask's; a file that cannot be read is an OSError; an operation NumPy
  // refuses for the dtypes is a TypeError, as NumPy's.
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const rask::ShapeError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const rask::IoError& e) {
      PyErr_SetString(PyExc_OSError, e.what());
    } catch (const rask::SerializeError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const rask::DTypeError& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    }
  });

  py::class_<Array>(m, "Expr")
      .def_property_readonly("shape", [](const Array& a) { return shape_tuple(a.shape()); })
      .def_property_readonly("chunks", [](const Array& a) { return chunks_tuple(a.chunks()); })
      .def_property_readonly("dtype", [](const Array& a) { return dtype_name(a.dtype()); })
      .def_property_readonly("ndim", &Array::ndim)
      .def_property_readonly("size", &Array::size)
      .def_property_readonly("num_chunks", &Array::num_chunks)
      .def_property_readonly("token", &Array::token)
      .def("describe", &Array::describe)
      .def("transpose", &Array::T)
      .def("dot", &Array::dot)
      .def("binary", &binary_op)
      .def("unary", &unary_op)
      .def("reduce", &reduce_op)
      .def("rechunk", [](const Array& a, const py::tuple& chunks) { return a.rechunk(chunk_sizes_of(chunks)); })
      .def("slice",
           [](const Array& a, const std::vector<std::tuple<std::int64_t, std::int64_t, std::int64_t>>& ranges) {
             std::vector<Slice> s;
             for (auto [start, stop, step] : ranges) s.push_back(Slice{start, stop, step});
             if (s.size() == 1) return a(s[0]);
             return a(s[0], s[1]);
           })
      .def("serialize", [](const Array& a) { return to_py(a.serialize()); })
      .def("delayed_keys",
           [](const Array& a) {
             std::set<std::string> keys;
             for (const auto& leaf : delayed_leaves(a)) keys.insert(leaf->as<detail::ops::Literal>().delayed_key);
             return std::vector<std::string>(keys.begin(), keys.end());
           })
      .def("fill_delayed",
           [](const Array& a,
              const std::map<std::string, py::array_t<double, py::array::c_style | py::array::forcecast>>& values) {
             for (const auto& leaf : delayed_leaves(a)) {
               const std::string& key = leaf->as<detail::ops::Literal>().delayed_key;
               auto it = values.find(key);
               if (it == values.end()) continue;
               Shape got(it->second.shape(), it->second.shape() + it->second.ndim());
               check_delayed_shape(key, got, Array(leaf).shape());
             }
             std::map<std::string, std::string> bytes;
             for (const auto& [k, v] : values)
               bytes[k].assign(reinterpret_cast<const char*>(v.data()), static_cast<std::size_t>(v.size()) * 8);
             return fill_delayed(a, bytes);
           })
      .def_static("deserialize", [](const py::bytes& b) { return Array::deserialize(bytes_of(b)); });

  // Payloads of the collective calls registered above, and what they return.
  m.def("hdf5_payload", [](const std::string& path, const std::vector<std::pair<std::string, Array>>& arrays) {
    Bytes out;
    Writer w(out);
    w.write(path);
    w.write(static_cast<std::uint64_t>(arrays.size()));
    for (const auto& [name, a] : arrays) {
      w.write(name);
      w.write(a.serialize());
    }
    return to_py(out);
  });
  m.def("persist_payload", [](const std::vector<Array>& arrays) {
    Bytes out;
    Writer w(out);
    w.write(static_cast<std::uint64_t>(arrays.size()));
    for (const auto& a : arrays) w.write(a.serialize());
    return to_py(out);
  });
  // The persisted arrays "array.persist" returned; from now on the script's expressions
  // keep rank 0's chunks alive, and `dropped` sees when they are gone.
  m.def("persisted", [](const py::bytes& result) {
    const Bytes bytes = bytes_of(result);
    Reader r(bytes.data(), bytes.size());
    std::vector<Array> out;
    const auto count = r.read<std::uint64_t>();
    for (std::uint64_t k = 0; k < count; ++k) out.push_back(Array::deserialize(r.read<Bytes>()));
    for (const auto& a : out) {
      const auto id = a.node()->as<detail::ops::Persisted>().id;
      persisted_registry().erase(id);
      watched().insert(id);
    }
    return out;
  });
  // Ids of persisted arrays no expression on rank 0 refers to any more, forgotten here;
  // the payload of "array.release" for them, or None when there are none.
  m.def("dropped", []() -> py::object {
    std::vector<std::uint64_t> gone;
    for (auto it = watched().begin(); it != watched().end();) {
      if (detail::persist_handle(*it)) {
        ++it;
      } else {
        gone.push_back(*it);
        it = watched().erase(it);
      }
    }
    if (gone.empty()) return py::none();
    Bytes out;
    Writer w(out);
    w.write(gone);
    return to_py(out);
  });
  m.def("visualize_payload", [](const std::string& path, const Array& a) {
    Bytes out;
    Writer w(out);
    w.write(path);
    w.write(a.serialize());
    return to_py(out);
  });

  add_array_rules(m);

  m.def("scalar", [](double v, const std::string& dtype) { return scalar(v, dtype_of(dtype)); });
  m.def("full", [](const py::object& shape, double value, const py::object& chunks, const std::string& dtype) {
    return full(shape_of(shape), value, shape_of(chunks), dtype_of(dtype));
  });
  // A NumPy array's values carried in the expression (as Dask carries it in the graph).
  m.def("literal", [](const py::array_t<double, py::array::c_style | py::array::forcecast>& values,
                      const py::object& shape, const py::object& chunks, const std::string& dtype) {
    auto n = detail::make_source(detail::ops::Literal{}, dtype_of(dtype), shape_of(shape), shape_of(chunks),
                                 "from_array");
    if (values.size() != n->rows * n->cols) throw py::value_error("internal: literal values do not match the shape");
    n->as<detail::ops::Literal>().values.assign(reinterpret_cast<const char*>(values.data()),
                                                static_cast<std::size_t>(values.size()) * 8);
    return Array(detail::finish(n));
  });
  // da.from_delayed: one chunk whose values the Delayed with key `key` gives at compute.
  m.def("from_delayed", [](const std::string& key, const py::object& shape, const std::string& dtype) {
    Shape s = shape_of(shape);
    Shape chunks;
    for (auto extent : s) chunks.push_back(std::max<std::int64_t>(extent, 1));
    auto n = detail::make_source(detail::ops::Literal{"", key}, dtype_of(dtype), s, chunks, "from_delayed");
    return Array(detail::finish(n));
  });
  m.def("arange", [](std::int64_t start, std::int64_t stop, std::int64_t step, std::int64_t chunk) {
    return arange(start, stop, step, chunk);
  });
  m.def("random", [](const std::string& kind, const py::object& shape, const py::object& chunks, std::uint64_t seed,
                     double a, double b) {
    if (kind == "random") return random::random(shape_of(shape), shape_of(chunks), seed);
    if (kind == "uniform") return random::uniform(a, b, shape_of(shape), shape_of(chunks), seed);
    if (kind == "normal") return random::normal(a, b, shape_of(shape), shape_of(chunks), seed);
    if (kind == "randint")
      return random::randint(static_cast<std::int64_t>(a), static_cast<std::int64_t>(b), shape_of(shape),
                             shape_of(chunks), seed);
    throw py::value_error("internal: unknown random kind " + kind);
  });
  m.def("from_hdf5", [](const std::string& path, const std::string& dataset, const py::object& chunks) {
    return from_hdf5(path, dataset, shape_of(chunks));
  });
  m.def("svd", [](const Array& a) { return svd_tuple(linalg::svd(a)); });
  m.def("svd_compressed", [](const Array& a, std::int64_t k, int n_power_iter, std::uint64_t seed) {
    return svd_tuple(linalg::svd_compressed(a, k, n_power_iter, seed));
  });
  m.def("qr", [](const Array& a) {
    auto f = linalg::qr(a);
    return py::make_tuple(f.q, f.r);
  });
  m.def("tsqr", [](const Array& a) {
    auto f = linalg::tsqr(a);
    return py::make_tuple(f.q, f.r);
  });
}
