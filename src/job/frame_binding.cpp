// dask.dataframe under `rask run`: the `_rask_frame` module that builds rask's frame
// expressions for src/job/python/dask/dataframe, and the job-graph kind that lowers them.
//
// The script (rank 0) builds expressions only; nothing here reads data except a
// frame's schema (the files' headers and first rows, as Dask reads them for `meta`).
// A compute carries the expression's bytes in an expression record; every rank lowers
// it into the job's graph (lower_table) and one task pinned to rank 0 turns the Table
// into NumPy arrays for dask.dataframe._pandas._to_pandas.
#include <pybind11/embed.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "frame/check.hpp"
#include "frame/csv.hpp"
#include "frame/expr.hpp"
#include "frame/lower.hpp"
#include "job/expression.hpp"
#include "job/pyvalue.hpp"
#include "rask/frame.hpp"
#include "rask/runtime.hpp"

namespace py = pybind11;

namespace rask::job {

namespace {

using detail::FrameAccess;
using detail::FrameNode;
using detail::FramePtr;
using detail::Level;
using detail::make_node;

// The Python-visible handle of one expression node.
struct Expr {
  FramePtr node;
};

FramePtr scalar(double value) { return detail::make_node(detail::Scalar{value}); }

// An operand: an Expr, or a Python number (a scalar node).
FramePtr operand(const py::object& o) {
  if (py::isinstance<Expr>(o)) return o.cast<const Expr&>().node;
  return scalar(o.cast<double>());
}

// Sources resolved for schemas, by read_csv token: a script touching df.close a hundred
// times reads the headers once. Only rank 0's script thread uses it (under the GIL).
std::map<Token, std::shared_ptr<const detail::CsvSource>>& source_cache() {
  static std::map<Token, std::shared_ptr<const detail::CsvSource>> cache;
  return cache;
}

const detail::CsvSource& source_of_read(const FrameNode& read) {
  auto& cache = source_cache();
  auto it = cache.find(read.token);
  if (it == cache.end())
    it = cache.emplace(read.token, std::make_shared<const detail::CsvSource>(detail::resolve_source(read))).first;
  return *it->second;
}

const detail::CsvSource& source_for(const FramePtr& root) { return source_of_read(detail::source_of(*root)); }

const char* level_name(Level level) {
  switch (level) {
    case Level::frame:
      return "frame";
    case Level::row:
      return "row";
    case Level::agg:
      return "agg";
    case Level::scalar:
      break;
  }
  return "scalar";
}

std::string hex_token(Token t) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(t));
  return buf;
}

// read_csv's keywords by pandas' names (ReadCsvOptions::field_names), each cast to its
// field's type.
ReadCsvOptions csv_options(const py::dict& kw) {
  ReadCsvOptions o;
  for (auto item : kw) {
    const std::string k = py::str(item.first);
    const py::handle v = item.second;
    const auto& names = ReadCsvOptions::field_names;
    const auto at = static_cast<std::size_t>(std::find(names.begin(), names.end(), k) - names.begin());
    if (at == names.size()) throw InputError("internal: read_csv option '" + k + "'");
    if (k == "sep" && py::len(v) != 1)
      throw InputError("read_csv: sep must be one character; got '" + v.cast<std::string>() + "'");
    std::size_t field_idx = 0;
    std::apply(
        [&](auto&... field) {
          ((field_idx++ == at ? (field = v.cast<std::remove_reference_t<decltype(field)>>(), 0) : 0), ...);
        },
        o.fields());
  }
  return o;
}

// One column as (name, dtype, values): float64/int64 arrays, strings as a list.
py::tuple column_tuple(const Column& c) {
  py::object values;
  switch (c.dtype) {
    case DType::float64:
      values = py::array_t<double>(static_cast<py::ssize_t>(c.f64.size()), c.f64.data());
      break;
    case DType::string:
      values = py::cast(c.str);
      break;
    default:
      values = py::array_t<std::int64_t>(static_cast<py::ssize_t>(c.i64.size()), c.i64.data());
  }
  return py::make_tuple(c.name, dtype_name(c.dtype), values);
}

py::dict raw_table(const Table& t) {
  py::dict raw;
  raw["index"] = column_tuple(t.index);
  py::list columns, levels;
  for (const auto& c : t.columns) columns.append(column_tuple(c));
  for (const auto& c : t.levels) levels.append(column_tuple(c));
  raw["columns"] = columns;
  raw["levels"] = levels;
  return raw;
}

}  // namespace

// A frame expression record's payload: what Python does with the table (its `spec`,
// read by dask.dataframe._pandas._to_pandas), how many blocks to read (head), the expression.
struct FramePayload {
  std::string spec;
  std::uint64_t max_blocks = SIZE_MAX;
  Bytes expr;
};

}  // namespace rask::job

template <>
struct rask::Serializer<rask::job::FramePayload> {
  static void write(Writer& w, const job::FramePayload& p) {
    w.write(p.spec);
    w.write(p.max_blocks);
    w.write(p.expr);
  }
  static job::FramePayload read(Reader& r) {
    job::FramePayload p;
    p.spec = r.read<std::string>();
    p.max_blocks = r.read<std::uint64_t>();
    p.expr = r.read<Bytes>();
    return p;
  }
};

namespace rask::job {
namespace {

// rask::Error raised while the script builds an expression: Python sees the message
// alone (a KeyError for a missing column, as Dask raises), never a C++ type name.
void translate(std::exception_ptr p) {
  try {
    if (p) std::rethrow_exception(p);
  } catch (const InputError& e) {
    const std::string what = e.what();
    if (what.rfind("column '", 0) == 0 && what.find("not found") != std::string::npos)
      PyErr_SetString(PyExc_KeyError, what.c_str());
    else
      PyErr_SetString(PyExc_ValueError, what.c_str());
  }
}

// A frame expression record: the frame's tasks, then one task on rank 0 turning the
// Table into the pandas object (dask.dataframe._pandas._to_pandas) under the GIL.
TaskId lower_frame(Graph& graph, std::string_view key, std::string_view payload, const std::vector<TaskId>&) {
  Reader r(reinterpret_cast<const std::byte*>(payload.data()), payload.size());
  FramePayload p = r.read<FramePayload>();
  FramePtr root = detail::expr_from_bytes(p.expr);
  const TaskId table = detail::lower_table(graph, root, Runtime::current().size(), p.max_blocks, nullptr, true);
  auto body = std::make_shared<const TaskBody>([root, spec = std::move(p.spec)](const Inputs& in) {
    const Table& t = in.get<Table>(0);
    TaskGil gil;
    detail::warn_bad_lines(root, t);
    try {
      py::object to_pandas = py::module_::import("dask.dataframe._pandas").attr("_to_pandas");
      py::object out = to_pandas(raw_table(t), spec);
      return Value(PyValue{std::make_shared<PyRef>(out.release().ptr())});
    } catch (py::error_already_set& e) {
      throw std::runtime_error(std::string("converting the frame to pandas: ") + e.what());
    }
  });
  TaskOptions options;
  options.owner = 0;  // the script's rank
  options.cost = 1e-3;
  const Token token = token_bytes(key.data(), key.size(), 0x9e0b);
  return graph.add_task(Key{std::string(key), token, true}, {table}, std::move(body), pyvalue_codec(), options);
}

// A map_partitions record: per block, the block's rows as pandas and the script's
// function called on them (dask.dataframe._pandas._map_partition, on the block's rank);
// on rank 0 the results concatenated (_concat_partitions). The payload is FramePayload
// then the cloudpickled (function, args, kwargs).
TaskId lower_frame_map(Graph& graph, std::string_view key, std::string_view payload, const std::vector<TaskId>&) {
  Reader r(reinterpret_cast<const std::byte*>(payload.data()), payload.size());
  FramePayload p = r.read<FramePayload>();
  auto function = std::make_shared<const std::string>(r.read<std::string>());
  FramePtr root = detail::expr_from_bytes(p.expr);
  std::vector<TaskId> partitions;
  detail::lower_table(graph, root, Runtime::current().size(), SIZE_MAX, nullptr, true, &partitions);
  auto spec = std::make_shared<const std::string>(std::move(p.spec));
  std::vector<TaskId> mapped;
  for (std::size_t part = 0; part < partitions.size(); ++part) {
    auto body = std::make_shared<const TaskBody>([root, spec, function](const Inputs& in) {
      const Table& t = in.get<Table>(0);
      TaskGil gil;
      detail::warn_bad_lines(root, t);
      try {
        py::object call = py::module_::import("dask.dataframe._pandas").attr("_map_partition");
        py::object out = call(raw_table(t), *spec, py::bytes(*function));
        return Value(PyValue{std::make_shared<PyRef>(out.release().ptr())});
      } catch (py::error_already_set& e) {
        throw std::runtime_error(e.what());
      }
    });
    TaskOptions options;
    options.owner = graph.task(partitions[part]).owner;  // where the block was read
    options.cost = 1e-3;
    const std::string part_key = std::string(key) + "-" + std::to_string(part);
    mapped.push_back(graph.add_task(Key{part_key, token_bytes(part_key.data(), part_key.size(), 0x9e0b), true},
                                    {partitions[part]}, std::move(body), pyvalue_codec(), options));
  }
  auto concat = std::make_shared<const TaskBody>([](const Inputs& in) {
    TaskGil gil;
    try {
      py::list parts;
      for (std::size_t part = 0; part < in.size(); ++part) {
        PyObject* o = in.get<PyValue>(part).object();
        if (!o) throw py::error_already_set();
        parts.append(py::reinterpret_borrow<py::object>(o));
      }
      py::object out = py::module_::import("dask.dataframe._pandas").attr("_concat_partitions")(parts);
      return Value(PyValue{std::make_shared<PyRef>(out.release().ptr())});
    } catch (py::error_already_set& e) {
      throw std::runtime_error(e.what());
    }
  });
  TaskOptions options;
  options.owner = 0;
  options.cost = 1e-3;
  return graph.add_task(Key{std::string(key), token_bytes(key.data(), key.size(), 0x9e0b), true}, std::move(mapped),
                        std::move(concat), pyvalue_codec(), options);
}

// frame.to_hdf and frame.to_csv: every rank rebuilds the expression and calls the C++
// collective.
std::string write_frame(std::string_view payload, bool hdf) {
  Reader r(reinterpret_cast<const std::byte*>(payload.data()), payload.size());
  const FramePtr root = detail::expr_from_bytes(r.read<Bytes>());
  const auto path = r.read<std::string>();
  const auto key = r.read<std::string>();
  if (root->level == Level::frame) {
    const DataFrame frame = FrameAccess::frame(root);
    hdf ? frame.to_hdf(path, key) : frame.to_csv(path);
  } else {
    const Series series = FrameAccess::series(root);
    hdf ? series.to_hdf(path, key) : series.to_csv(path);
  }
  return {};
}

}  // namespace

void register_frame_kinds() {
  register_expression("frame", lower_frame);
  register_expression("frame_map", lower_frame_map);
  register_collective("frame.to_hdf", [](std::string_view payload) { return write_frame(payload, true); });
  register_collective("frame.to_csv", [](std::string_view payload) { return write_frame(payload, false); });
}

}  // namespace rask::job

PYBIND11_EMBEDDED_MODULE(_rask_frame, m) {
  using namespace rask;
  using namespace rask::job;
  m.doc() = "rask's frame expressions for dask.dataframe under rask run (all local)";
  py::register_exception_translator(&translate);
  py::class_<Expr>(m, "Expr")
      .def_property_readonly("level", [](const Expr& e) { return level_name(e.node->level); })
      .def_property_readonly("name", [](const Expr& e) { return e.node->series_name; })
      .def_property_readonly("token", [](const Expr& e) { return hex_token(e.node->token); })
      .def_property_readonly("is_date", [](const Expr& e) { return detail::is_date(*e.node); });
  m.def("read_csv", [](std::vector<std::string> paths, py::dict kw) {
    if (paths.empty()) throw InputError("read_csv: no paths given (pass a path, a glob pattern or a list of them)");
    return Expr{make_node(detail::ReadCsv{std::move(paths), csv_options(kw)})};
  });
  m.def("column", [](const Expr& frame, const std::string& name) {
    return Expr{make_node(detail::GetColumn{name}, {frame.node})};
  });
  m.def("select", [](const Expr& frame, std::vector<std::string> names) {
    return Expr{make_node(detail::Select{std::move(names)}, {frame.node})};
  });
  m.def("filter", [](const Expr& frame, const Expr& mask) {
    return Expr{make_node(detail::Filter{}, {frame.node, mask.node})};
  });
  m.def("binary", [](const std::string& op, const py::object& a, const py::object& b) {
    return Expr{make_node(detail::Binary{detail::parse_binary_op(op)}, {operand(a), operand(b)})};
  });
  m.def("unary", [](const std::string& op, const Expr& a) {
    return Expr{make_node(detail::Unary{detail::parse_unary_op(op)}, {a.node})};
  });
  m.def("dt", [](const Expr& a, const std::string& field) {
    return Expr{make_node(detail::parse_dt_field(field), {a.node})};
  });
  m.def("dt_floor", [](const Expr& a, const std::string& freq) {
    return Expr{make_node(detail::parse_floor_freq(freq), {a.node})};
  });
  m.def(
      "read_csv_keywords",
      [] { return std::vector<std::string>(ReadCsvOptions::field_names.begin(), ReadCsvOptions::field_names.end()); },
      "Local: pandas' read_csv keywords rask takes (ReadCsvOptions' fields)");
  m.def("dt_properties", &detail::dt_property_names, "Local: the Series.dt properties rask knows");
  m.def("groupby_agg", [](const Expr& frame, const std::vector<Expr>& keys, const std::string& column,
                          const std::string& agg) {
    std::vector<FramePtr> args{frame.node};
    for (const auto& k : keys) args.push_back(k.node);
    return Expr{make_node(detail::GroupAgg{detail::parse_agg(agg), column}, std::move(args))};
  });
  m.def("reduce", [](const Expr& a, const std::string& agg) {
    return Expr{make_node(detail::Reduce{detail::parse_agg(agg)}, {a.node})};
  });
  m.def("value_counts", [](const Expr& a) {
    return Expr{FrameAccess::node(FrameAccess::series(a.node).value_counts())};
  });
  m.def(
      "dtype",
      [](const Expr& e) {
        return dtype_name(detail::result_dtype(
            e.node, [](const FrameNode& read) -> const detail::CsvSource& { return source_of_read(read); }));
      },
      "Local: the pandas dtype of a series (a column or a groupby result), as compute gives it");
  m.def(
      "schema",
      [](const Expr& e) {
        const detail::Schema s = detail::describe(e.node, source_for(e.node));
        std::vector<std::pair<std::string, std::string>> out;
        for (std::size_t col = 0; col < s.names.size(); ++col) out.emplace_back(s.names[col], dtype_name(s.dtypes[col]));
        return out;
      },
      "Local: [(column, pandas dtype)] of a frame or row series; reads the files' headers once");
  m.def(
      "npartitions",
      [](const Expr& e) { return detail::split_blocks(source_for(e.node)).size(); },
      "Local: the number of blocks read_csv splits the files into");
  m.def(
      "payload",
      [](const Expr& e, const std::string& spec, std::uint64_t max_blocks) {
        Bytes bytes;
        Writer w(bytes);
        w.write(FramePayload{spec, max_blocks, detail::expr_bytes(e.node)});
        return py::bytes(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      },
      "Local: an expression record's payload (what the job's lowering reads)");
  m.def(
      "map_payload",
      [](const Expr& e, const std::string& spec, const py::bytes& function) {
        Bytes bytes;
        Writer w(bytes);
        w.write(FramePayload{spec, SIZE_MAX, detail::expr_bytes(e.node)});
        w.write(function.cast<std::string>());
        return py::bytes(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      },
      "Local: a map_partitions record's payload: the frame and the pickled (function, args, kwargs)");
  m.def(
      "write_payload",
      [](const Expr& e, const std::string& path, const std::string& key) {
        Bytes bytes;
        Writer w(bytes);
        w.write(detail::expr_bytes(e.node));
        w.write(path);
        w.write(key);
        return py::bytes(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      },
      "Local: the payload of the collective calls frame.to_hdf and frame.to_csv");
}
