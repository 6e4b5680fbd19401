// Arrays in HDF5: reading (chunk tasks, each rank its own chunks) and parallel writing
// (MPI-IO, every rank its own chunks, one collective file).
#include <hdf5.h>
#include <mpi.h>

#include <filesystem>

#include "array/lower.hpp"
#include "io/hdf5.hpp"
#include "io/replace.hpp"
#include "rask/io.hpp"
#include "rask/runtime.hpp"

namespace rask {
namespace detail {
namespace {

std::string where(const std::string& path, const std::string& dataset) {
  return "dataset '" + dataset + "' of HDF5 file '" + path + "'";
}

// Names of the datasets at the top of a file, to suggest one.
std::string top_datasets(hid_t file) {
  std::string names;
  const herr_t status = H5Literate(
      file, H5_INDEX_NAME, H5_ITER_INC, nullptr,
      [](hid_t group, const char* name, const H5L_info_t*, void* data) -> herr_t {
        H5O_info_t info;
        // An object that cannot be inspected is left out of the suggestion.
        if (H5Oget_info_by_name2(group, name, &info, H5O_INFO_BASIC, H5P_DEFAULT) >= 0 &&
            info.type == H5O_TYPE_DATASET) {
          auto& s = *static_cast<std::string*>(data);
          s += (s.empty() ? "/" : ", /") + std::string(name);
        }
        return 0;
      },
      &names);
  if (status < 0) return "cannot list them: " + hdf5_stack();
  return names.empty() ? "none at the top level" : names;
}

H5File open_file(const std::string& path, const std::string& dataset) {
  if (!std::filesystem::exists(path))
    throw IoError("cannot read " + where(path, dataset) + ": the file does not exist (check the path, " +
                  "relative to the directory the job runs in)");
  auto file = H5File::unchecked(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!file.valid())
    throw IoError("cannot read " + where(path, dataset) + ": not an HDF5 file, or unreadable (" + hdf5_stack() + ")");
  return file;
}

H5Dataset open_dataset(hid_t file, const std::string& path, const std::string& dataset) {
  // H5Lexists fails (rather than saying no) when a group on the way is missing.
  const htri_t exists = H5Lexists(file, dataset.c_str(), H5P_DEFAULT);
  H5Dataset ds;
  if (exists > 0) ds = H5Dataset::unchecked(H5Dopen2(file, dataset.c_str(), H5P_DEFAULT));
  if (!ds.valid()) {
    hdf5_stack();  // clears it: the message below says what is wrong
    throw IoError("HDF5 file '" + path + "' has no dataset '" + dataset + "' (datasets: " + top_datasets(file) + ")");
  }
  return ds;
}

// h5py writes bool as an enum FALSE = 0, TRUE = 1 over int8.
H5Type bool_type() {
  H5Type t(H5Tenum_create(H5T_NATIVE_INT8), "create the bool enum type");
  std::int8_t no = 0, yes = 1;
  check(H5Tenum_insert(t.get(), "FALSE", &no), "add FALSE to the bool enum type");
  check(H5Tenum_insert(t.get(), "TRUE", &yes), "add TRUE to the bool enum type");
  return t;
}

// The dataspace of one chunk: rows x cols from (row0, col0) of a `ndim`-d dataset (a 1-d
// one is a row), selected in `space`; returns the matching dataspace in memory.
H5Space select_chunk(hid_t space, int ndim, std::int64_t row0, std::int64_t col0, std::int64_t rows,
                     std::int64_t cols) {
  hsize_t start[2], count[2];
  if (ndim == 2) {
    start[0] = row0, start[1] = col0, count[0] = rows, count[1] = cols;
  } else {
    start[0] = col0, count[0] = cols;
  }
  if (ndim > 0)
    check(H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, count, nullptr), "select a chunk of a dataset");
  return H5Space(ndim == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(ndim, count, nullptr),
                 "create the dataspace of a chunk");
}

}  // namespace

TaskId lower_hdf5_chunk(Lowering& lowering, const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj) {
  const std::string path = n->as<ops::Hdf5>().file, dataset = n->as<ops::Hdf5>().dataset;
  const int ndim = n->ndim;
  const std::int64_t rows = n->row_chunks[bi], cols = n->col_chunks[bj];
  const std::int64_t row0 = offsets(n->row_chunks)[bi], col0 = offsets(n->col_chunks)[bj];
  const DType dtype = n->dtype;
  return lowering.add(
      "from-hdf5", chunk_token(*n, bi, bj), {},
      [=](const Inputs&) {
        Block out{rows, cols, std::vector<double>(rows * cols)};
        if (rows * cols == 0) return out;
        Hdf5Lock lock;
        H5File file = open_file(path, dataset);
        H5Dataset ds = open_dataset(file.get(), path, dataset);
        H5Space space(H5Dget_space(ds.get()), "get the dataspace of " + where(path, dataset));
        H5Space memspace = select_chunk(space.get(), ndim, row0, col0, rows, cols);
        herr_t status;
        if (dtype == DType::boolean) {
          std::vector<std::int8_t> raw(rows * cols);
          H5Type t = bool_type();
          status = H5Dread(ds.get(), t.get(), memspace.get(), space.get(), H5P_DEFAULT, raw.data());
          for (std::size_t k = 0; k < raw.size(); ++k) out.data[k] = raw[k] ? 1.0 : 0.0;
        } else {
          status = H5Dread(ds.get(), H5T_NATIVE_DOUBLE, memspace.get(), space.get(), H5P_DEFAULT, out.data.data());
        }
        if (status < 0)
          throw IoError("reading chunk (" + std::to_string(bi) + ", " + std::to_string(bj) + ") of " +
                        where(path, dataset) + " failed: " + hdf5_stack());
        return out;
      },
      lowering.owner(*n, bi, bj), static_cast<double>(rows * cols) * 2e-9, 8.0 * rows * cols);
}

}  // namespace detail

using detail::check;

Array from_hdf5(const std::string& path, const std::string& dataset, const Shape& chunks) {
  detail::Hdf5Lock lock;
  detail::H5File file = detail::open_file(path, dataset);
  detail::H5Dataset ds = detail::open_dataset(file.get(), path, dataset);
  const std::string at = detail::where(path, dataset);
  detail::H5Space space(H5Dget_space(ds.get()), "get the dataspace of " + at);
  detail::H5Type type(H5Dget_type(ds.get()), "get the type of " + at);
  const int ndim = check(H5Sget_simple_extent_ndims(space.get()), "get the rank of " + at);
  if (ndim > 2)
    throw IoError(detail::where(path, dataset) + " has " + std::to_string(ndim) +
                  " dimensions; rask arrays have 0, 1 or 2 (reshape it when writing, or read a 2-d slice)");
  hsize_t dims[2] = {0, 0};
  check(H5Sget_simple_extent_dims(space.get(), dims, nullptr), "get the shape of " + at);
  DType dtype;
  const H5T_class_t cls = check(H5Tget_class(type.get()), "get the type class of " + at);
  if (cls == H5T_FLOAT) {
    dtype = DType::float64;
  } else if (cls == H5T_INTEGER) {
    dtype = DType::int64;
  } else if (cls == H5T_ENUM && check(H5Tget_nmembers(type.get()), "count the members of the enum of " + at) == 2) {
    dtype = DType::boolean;
  } else {
    static const char* names[] = {"integer",  "float",     "time", "string",          "bitfield", "opaque",
                                  "compound", "reference", "enum", "variable-length", "array"};
    const std::string got = cls >= 0 && cls < 11 ? names[cls] : "unknown";
    throw IoError(detail::where(path, dataset) + " holds " + got +
                  " values; rask reads float, integer and bool datasets");
  }
  Shape shape(dims, dims + ndim);
  const std::string what = "from_hdf5 of " + detail::where(path, dataset);
  if (chunks.size() != shape.size()) {
    std::string s = "(";
    for (std::size_t k = 0; k < shape.size(); ++k) s += (k ? ", " : "") + std::to_string(shape[k]);
    throw ShapeError(what + ": " + std::to_string(chunks.size()) + " chunk sizes given for a dataset of shape " + s +
                     (shape.size() == 1 ? ",)" : ")") + "; give one per dimension");
  }
  auto n = detail::make_source(detail::ops::Hdf5{path, dataset}, dtype, shape, chunks, what.c_str());
  return Array(detail::finish(n));
}

namespace {

std::string chunks_text(const Array& a) { return detail::chunks_str(*a.node()); }

void attribute(hid_t object, const char* name, const std::string& value) {
  const std::string what = std::string("write attribute ") + name;
  detail::H5Type type(H5Tcopy(H5T_C_S1), "copy a string type");
  check(H5Tset_size(type.get(), value.size() + 1), "size a string type");
  detail::H5Space space(H5Screate(H5S_SCALAR), "create a scalar dataspace");
  detail::H5Attribute attr(H5Acreate2(object, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                           std::string("create attribute ") + name);
  check(H5Awrite(attr.get(), type.get(), value.c_str()), what);
}

void attribute(hid_t object, const char* name, std::int64_t value) {
  detail::H5Space space(H5Screate(H5S_SCALAR), "create a scalar dataspace");
  detail::H5Attribute attr(H5Acreate2(object, name, H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                           std::string("create attribute ") + name);
  check(H5Awrite(attr.get(), H5T_NATIVE_INT64, &value), std::string("write attribute ") + name);
}

// Creates dataset `name` of `file` (being written as `tmp`) for `a` and writes the
// chunks this rank holds of it (`n`, persisted). Returns the failure worded for the user
// (empty on success); any other failed HDF5 call throws IoError.
std::string write_array(hid_t file, hid_t lcpl, const std::string& tmp, const std::string& name, const Array& a,
                        const detail::ArrayNode& n) {
  Runtime& rt = Runtime::current();
  Shape shape = a.shape();
  std::vector<hsize_t> dims(shape.begin(), shape.end());
  detail::H5Space space(
      shape.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
      "create the dataspace of " + detail::where(tmp, name));
  detail::H5Type btype = detail::bool_type();
  hid_t file_type = n.dtype == DType::float64 ? H5T_IEEE_F64LE : n.dtype == DType::int64 ? H5T_STD_I64LE : btype.get();
  auto ds = detail::H5Dataset::unchecked(
      H5Dcreate2(file, name.c_str(), file_type, space.get(), lcpl, H5P_DEFAULT, H5P_DEFAULT));
  if (!ds.valid()) return "cannot create " + detail::where(tmp, name) + ": " + detail::hdf5_stack();
  std::string shape_text = detail::shape_str(n);
  attribute(ds.get(), "shape", shape_text);
  attribute(ds.get(), "chunks", chunks_text(a));
  attribute(ds.get(), "dtype", std::string(dtype_name(n.dtype)));
  attribute(ds.get(), "ranks", static_cast<std::int64_t>(rt.size()));
  attribute(ds.get(), "threads", static_cast<std::int64_t>(rt.threads()));
  attribute(ds.get(), "rask_version", std::string("0.1"));
  const auto row_offs = detail::offsets(n.row_chunks), col_offs = detail::offsets(n.col_chunks);
  const int rank = static_cast<int>(shape.size());
  for (std::int64_t bi = 0; bi < n.row_blocks(); ++bi) {
    for (std::int64_t bj = 0; bj < n.col_blocks(); ++bj) {
      if (detail::chunk_owner(n, bi, bj, rt.size()) != rt.rank()) continue;
      auto block = detail::store_get(n.as<detail::ops::Persisted>().id, bi, bj);
      if (!block || block->data.empty()) continue;
      detail::H5Space fspace(H5Dget_space(ds.get()), "get the dataspace of " + detail::where(tmp, name));
      detail::H5Space mspace =
          detail::select_chunk(fspace.get(), rank, row_offs[bi], col_offs[bj], block->rows, block->cols);
      herr_t status;
      if (n.dtype == DType::boolean) {
        std::vector<std::int8_t> raw(block->data.size());
        for (std::size_t e = 0; e < raw.size(); ++e) raw[e] = block->data[e] != 0;
        status = H5Dwrite(ds.get(), btype.get(), mspace.get(), fspace.get(), H5P_DEFAULT, raw.data());
      } else {
        status = H5Dwrite(ds.get(), H5T_NATIVE_DOUBLE, mspace.get(), fspace.get(), H5P_DEFAULT, block->data.data());
      }
      if (status < 0)
        return "writing chunk (" + std::to_string(bi) + ", " + std::to_string(bj) + ") of " + detail::where(tmp, name) +
               " failed on rank " + std::to_string(rt.rank()) + ": " + detail::hdf5_stack();
    }
  }
  ds.close("close " + detail::where(tmp, name));
  return {};
}

}  // namespace

void to_hdf5(const std::string& path, const std::vector<std::pair<std::string, Array>>& arrays) {
  std::vector<detail::ArrayNodePtr> nodes;
  for (const auto& [name, a] : arrays) {
    if (name.empty() || name[0] != '/')
      throw IoError("to_hdf5: dataset name '" + name + "' for file '" + path + "' must start with '/'");
    nodes.push_back(a.node());
  }
  // The chunks are computed where they live and stay there; each rank writes its own.
  std::vector<detail::ArrayNodePtr> held = detail::persist_nodes(nodes);

  detail::Hdf5Lock lock;
  detail::WriteComm comm;
  const std::string tmp = path + ".rask-tmp";
  std::string error;
  {
    detail::H5Plist fapl(H5Pcreate(H5P_FILE_ACCESS), "create a file access property list");
    check(H5Pset_fapl_mpio(fapl.get(), comm.get(), MPI_INFO_NULL), "set MPI-IO file access");
    auto file = detail::H5File::unchecked(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()));
    if (!file.valid()) {
      // Every rank fails alike here (same directory), so each throws without waiting.
      throw IoError("cannot create HDF5 file '" + tmp + "' (for '" + path + "'): " + detail::hdf5_stack() +
                    "; check that the directory exists and is writable");
    }
    // From here a failure is recorded, not thrown: the file's close and the agreement
    // below are collective, so every rank must reach them.
    try {
      detail::H5Plist lcpl(H5Pcreate(H5P_LINK_CREATE), "create a link creation property list");
      check(H5Pset_create_intermediate_group(lcpl.get(), 1), "set intermediate groups");
      for (std::size_t k = 0; k < arrays.size() && error.empty(); ++k)
        error = write_array(file.get(), lcpl.get(), tmp, arrays[k].first, arrays[k].second, *held[k]);
    } catch (const IoError& e) {
      error = e.what();
    }
    try {
      file.close("write " + tmp);
    } catch (const IoError& e) {
      if (error.empty()) error = e.what();
    }
  }
  // Agree on success before the rename: a rank's failed write must fail every rank.
  detail::replace_file(comm.get(), tmp, path, std::move(error));
}

}  // namespace rask
