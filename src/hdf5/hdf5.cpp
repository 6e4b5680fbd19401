// HDF5 reading (chunk tasks, each rank its own chunks) and parallel writing (MPI-IO,
// every rank its own chunks, one collective file).
#include "rask/hdf5.hpp"

#include <hdf5.h>
#include <mpi.h>

#include <cstdio>
#include <filesystem>
#include <mutex>

#include "array/lower.hpp"
#include "rask/runtime.hpp"

namespace rask {
namespace detail {
namespace {

// The HDF5 library here is not built thread-safe: every call goes through this lock.
std::recursive_mutex& hdf5_mutex() {
  static std::recursive_mutex m;
  return m;
}

// One open HDF5 handle of any kind, closed by its own H5*close at scope exit.
class Hid {
 public:
  Hid() = default;
  Hid(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  Hid(Hid&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = -1; }
  Hid& operator=(Hid&& o) noexcept {
    std::swap(id_, o.id_);
    std::swap(close_, o.close_);
    return *this;
  }
  Hid(const Hid&) = delete;
  Hid& operator=(const Hid&) = delete;
  ~Hid() {
    if (id_ >= 0 && close_) close_(id_);
  }
  hid_t get() const noexcept { return id_; }
  bool ok() const noexcept { return id_ >= 0; }

 private:
  hid_t id_ = -1;
  herr_t (*close_)(hid_t) = nullptr;
};

// MPI communicator owned by one to_hdf5 call.
class Comm {
 public:
  Comm() { MPI_Comm_dup(MPI_COMM_WORLD, &comm_); }
  ~Comm() { MPI_Comm_free(&comm_); }  // collective (every rank frees its duplicate)
  Comm(const Comm&) = delete;
  Comm& operator=(const Comm&) = delete;
  MPI_Comm get() const noexcept { return comm_; }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
};

// HDF5's own error stack, innermost message first, as one line.
std::string hdf5_stack() {
  std::string out;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_DOWNWARD,
      [](unsigned, const H5E_error2_t* e, void* data) -> herr_t {
        auto& s = *static_cast<std::string*>(data);
        if (!e->desc || !*e->desc) return 0;
        // Keep the reason; HDF5's "time = ..., name = ..." details repeat what we print.
        std::string desc = e->desc;
        if (auto cut = desc.find(": time ="); cut != std::string::npos) desc.resize(cut);
        for (char& c : desc)
          if (c == '\n') c = ' ';
        s += (s.empty() ? "" : "; ") + desc;
        return 0;
      },
      &out);
  H5Eclear2(H5E_DEFAULT);
  return out.empty() ? "no detail from HDF5" : out;
}

void quiet_hdf5() {
  static std::once_flag once;
  std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

std::string where(const std::string& path, const std::string& dataset) {
  return "dataset '" + dataset + "' of HDF5 file '" + path + "'";
}

// Names of the datasets at the top of a file, to suggest one.
std::string top_datasets(hid_t file) {
  std::string names;
  H5Literate(
      file, H5_INDEX_NAME, H5_ITER_INC, nullptr,
      [](hid_t group, const char* name, const H5L_info_t*, void* data) -> herr_t {
        H5O_info_t info;
        if (H5Oget_info_by_name2(group, name, &info, H5O_INFO_BASIC, H5P_DEFAULT) >= 0 &&
            info.type == H5O_TYPE_DATASET) {
          auto& s = *static_cast<std::string*>(data);
          s += (s.empty() ? "/" : ", /") + std::string(name);
        }
        return 0;
      },
      &names);
  return names.empty() ? "none at the top level" : names;
}

Hid open_file(const std::string& path, const std::string& dataset) {
  if (!std::filesystem::exists(path))
    throw Hdf5Error("cannot read " + where(path, dataset) + ": the file does not exist (check the path, " +
                    "relative to the directory the job runs in)");
  Hid file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.ok())
    throw Hdf5Error("cannot read " + where(path, dataset) + ": not an HDF5 file, or unreadable (" + hdf5_stack() + ")");
  return file;
}

Hid open_dataset(hid_t file, const std::string& path, const std::string& dataset) {
  htri_t exists = H5Lexists(file, dataset.c_str(), H5P_DEFAULT);
  Hid ds;
  if (exists > 0) ds = Hid(H5Dopen2(file, dataset.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.ok()) {
    H5Eclear2(H5E_DEFAULT);
    throw Hdf5Error("HDF5 file '" + path + "' has no dataset '" + dataset + "' (datasets: " + top_datasets(file) + ")");
  }
  return ds;
}

enum class Stored { floating, integer, boolean };

// h5py writes bool as an enum FALSE = 0, TRUE = 1 over int8.
Hid bool_type() {
  Hid t(H5Tenum_create(H5T_NATIVE_INT8), H5Tclose);
  std::int8_t no = 0, yes = 1;
  H5Tenum_insert(t.get(), "FALSE", &no);
  H5Tenum_insert(t.get(), "TRUE", &yes);
  return t;
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
        std::lock_guard lock(hdf5_mutex());
        quiet_hdf5();
        Hid file = open_file(path, dataset);
        Hid ds = open_dataset(file.get(), path, dataset);
        Hid space(H5Dget_space(ds.get()), H5Sclose);
        hsize_t start[2], count[2];
        if (ndim == 2) {
          start[0] = row0, start[1] = col0, count[0] = rows, count[1] = cols;
        } else {
          start[0] = col0, count[0] = cols;
        }
        if (ndim > 0) H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr);
        Hid memspace(ndim == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(ndim, count, nullptr), H5Sclose);
        herr_t status;
        if (dtype == DType::boolean) {
          std::vector<std::int8_t> raw(rows * cols);
          Hid t = bool_type();
          status = H5Dread(ds.get(), t.get(), memspace.get(), space.get(), H5P_DEFAULT, raw.data());
          for (std::size_t k = 0; k < raw.size(); ++k) out.data[k] = raw[k] ? 1.0 : 0.0;
        } else {
          status = H5Dread(ds.get(), H5T_NATIVE_DOUBLE, memspace.get(), space.get(), H5P_DEFAULT, out.data.data());
        }
        if (status < 0)
          throw Hdf5Error("reading chunk (" + std::to_string(bi) + ", " + std::to_string(bj) + ") of " +
                          where(path, dataset) + " failed: " + hdf5_stack());
        return out;
      },
      lowering.owner(*n, bi, bj), static_cast<double>(rows * cols) * 2e-9, 8.0 * rows * cols);
}

}  // namespace detail

using detail::Hid;

Array from_hdf5(const std::string& path, const std::string& dataset, const Shape& chunks) {
  std::lock_guard lock(detail::hdf5_mutex());
  detail::quiet_hdf5();
  Hid file = detail::open_file(path, dataset);
  Hid ds = detail::open_dataset(file.get(), path, dataset);
  Hid space(H5Dget_space(ds.get()), H5Sclose);
  Hid type(H5Dget_type(ds.get()), H5Tclose);
  const int ndim = H5Sget_simple_extent_ndims(space.get());
  if (ndim > 2)
    throw Hdf5Error(detail::where(path, dataset) + " has " + std::to_string(ndim) +
                    " dimensions; rask arrays have 0, 1 or 2 (reshape it when writing, or read a 2-d slice)");
  hsize_t dims[2] = {0, 0};
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  DType dtype;
  const H5T_class_t cls = H5Tget_class(type.get());
  if (cls == H5T_FLOAT) {
    dtype = DType::float64;
  } else if (cls == H5T_INTEGER) {
    dtype = DType::int64;
  } else if (cls == H5T_ENUM && H5Tget_nmembers(type.get()) == 2) {
    dtype = DType::boolean;
  } else {
    static const char* names[] = {"integer",  "float",     "time", "string",          "bitfield", "opaque",
                                  "compound", "reference", "enum", "variable-length", "array"};
    const std::string got = cls >= 0 && cls < 11 ? names[cls] : "unknown";
    throw Hdf5Error(detail::where(path, dataset) + " holds " + got +
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
  Hid type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), value.size() + 1);
  Hid space(H5Screate(H5S_SCALAR), H5Sclose);
  Hid attr(H5Acreate2(object, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  H5Awrite(attr.get(), type.get(), value.c_str());
}

void attribute(hid_t object, const char* name, std::int64_t value) {
  Hid space(H5Screate(H5S_SCALAR), H5Sclose);
  Hid attr(H5Acreate2(object, name, H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  H5Awrite(attr.get(), H5T_NATIVE_INT64, &value);
}

}  // namespace

void to_hdf5(const std::string& path, const std::vector<std::pair<std::string, Array>>& arrays) {
  Runtime& rt = Runtime::current();
  std::vector<detail::ArrayNodePtr> nodes;
  for (const auto& [name, a] : arrays) {
    if (name.empty() || name[0] != '/')
      throw Hdf5Error("to_hdf5: dataset name '" + name + "' for file '" + path + "' must start with '/'");
    nodes.push_back(a.node());
  }
  // The chunks are computed where they live and stay there; each rank writes its own.
  std::vector<detail::ArrayNodePtr> held = detail::persist_nodes(nodes);

  std::lock_guard lock(detail::hdf5_mutex());
  detail::quiet_hdf5();
  detail::Comm comm;
  const std::string tmp = path + ".rask-tmp";
  std::string error;
  {
    Hid fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
    H5Pset_fapl_mpio(fapl.get(), comm.get(), MPI_INFO_NULL);
    Hid file(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), H5Fclose);
    if (!file.ok()) {
      // Every rank fails alike here (same directory), so each throws without waiting.
      throw Hdf5Error("cannot create HDF5 file '" + tmp + "' (for '" + path + "'): " + detail::hdf5_stack() +
                      "; check that the directory exists and is writable");
    }
    Hid lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
    H5Pset_create_intermediate_group(lcpl.get(), 1);
    for (std::size_t k = 0; k < arrays.size(); ++k) {
      const auto& [name, a] = arrays[k];
      const detail::ArrayNode& n = *held[k];
      Shape shape = a.shape();
      std::vector<hsize_t> dims(shape.begin(), shape.end());
      Hid space(
          shape.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
          H5Sclose);
      Hid btype = detail::bool_type();
      hid_t file_type = n.dtype == DType::float64 ? H5T_IEEE_F64LE
                        : n.dtype == DType::int64 ? H5T_STD_I64LE
                                                  : btype.get();
      Hid ds(H5Dcreate2(file.get(), name.c_str(), file_type, space.get(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT),
             H5Dclose);
      if (!ds.ok()) {
        error = "cannot create " + detail::where(tmp, name) + ": " + detail::hdf5_stack();
        break;
      }
      std::string shape_text = detail::shape_str(n);
      attribute(ds.get(), "shape", shape_text);
      attribute(ds.get(), "chunks", chunks_text(a));
      attribute(ds.get(), "dtype", std::string(dtype_name(n.dtype)));
      attribute(ds.get(), "ranks", static_cast<std::int64_t>(rt.size()));
      attribute(ds.get(), "threads", static_cast<std::int64_t>(rt.threads()));
      attribute(ds.get(), "rask_version", std::string("0.1"));
      const auto row_offs = detail::offsets(n.row_chunks), col_offs = detail::offsets(n.col_chunks);
      for (std::int64_t bi = 0; bi < n.row_blocks() && error.empty(); ++bi) {
        for (std::int64_t bj = 0; bj < n.col_blocks(); ++bj) {
          if (detail::chunk_owner(n, bi, bj, rt.size()) != rt.rank()) continue;
          auto block = detail::store_get(n.as<detail::ops::Persisted>().id, bi, bj);
          if (!block || block->data.empty()) continue;
          hsize_t start[2], count[2];
          int rank = static_cast<int>(shape.size());
          if (rank == 2) {
            start[0] = row_offs[bi], start[1] = col_offs[bj], count[0] = block->rows, count[1] = block->cols;
          } else {
            start[0] = col_offs[bj], count[0] = block->cols;
          }
          Hid fspace(H5Dget_space(ds.get()), H5Sclose);
          if (rank > 0) H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start, nullptr, count, nullptr);
          Hid mspace(rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, count, nullptr), H5Sclose);
          herr_t status;
          if (n.dtype == DType::boolean) {
            std::vector<std::int8_t> raw(block->data.size());
            for (std::size_t e = 0; e < raw.size(); ++e) raw[e] = block->data[e] != 0;
            status = H5Dwrite(ds.get(), btype.get(), mspace.get(), fspace.get(), H5P_DEFAULT, raw.data());
          } else {
            status = H5Dwrite(ds.get(), H5T_NATIVE_DOUBLE, mspace.get(), fspace.get(), H5P_DEFAULT, block->data.data());
          }
          if (status < 0) {
            error = "writing chunk (" + std::to_string(bi) + ", " + std::to_string(bj) + ") of " +
                    detail::where(tmp, name) + " failed on rank " + std::to_string(rt.rank()) + ": " +
                    detail::hdf5_stack();
            break;
          }
        }
      }
      if (!error.empty()) break;
    }
  }  // the file closes here, collectively
  // Agree on success before the rename: a rank's failed write must fail every rank.
  int failed = error.empty() ? 0 : 1, any = 0, lowest = rt.size();
  int mine = failed ? rt.rank() : rt.size();
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, comm.get());
  MPI_Allreduce(&mine, &lowest, 1, MPI_INT, MPI_MIN, comm.get());
  if (any) {
    // The lowest failing rank's message, on every rank.
    int length = rt.rank() == lowest ? static_cast<int>(error.size()) : 0;
    MPI_Bcast(&length, 1, MPI_INT, lowest, comm.get());
    error.resize(length);
    MPI_Bcast(error.data(), length, MPI_CHAR, lowest, comm.get());
    if (rt.rank() == 0) std::remove(tmp.c_str());
    throw Hdf5Error(error);
  }
  int renamed = 1;
  if (rt.rank() == 0) renamed = std::rename(tmp.c_str(), path.c_str()) == 0;
  MPI_Bcast(&renamed, 1, MPI_INT, 0, comm.get());
  if (!renamed) throw Hdf5Error("cannot rename '" + tmp + "' to '" + path + "'; the new data is left in '" + tmp + "'");
}

}  // namespace rask
