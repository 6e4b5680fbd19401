// Frames to HDF5: DataFrame::to_hdf and Series::to_hdf. Rank 0 writes (results are
// gathered there) one group per frame, under a temporary name renamed when complete
// (io/replace.hpp), so a failure is one collective IoError.
#include <hdf5.h>

#include <filesystem>

#include "io/hdf5.hpp"
#include "io/replace.hpp"
#include "rask/frame.hpp"
#include "rask/io.hpp"

namespace fs = std::filesystem;

namespace rask::detail {

namespace {

void string_attribute(hid_t on, const char* name, const std::string& value) {
  H5Type type(H5Tcopy(H5T_C_S1), "copy a string type");
  check(H5Tset_size(type.get(), std::max<std::size_t>(1, value.size())), "size a string type");
  check(H5Tset_cset(type.get(), H5T_CSET_UTF8), "set UTF-8");
  H5Space space(H5Screate(H5S_SCALAR), "create a scalar dataspace");
  H5Attribute attr(H5Acreate2(on, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                   std::string("create attribute ") + name);
  check(H5Awrite(attr.get(), type.get(), value.empty() ? "" : value.c_str()), std::string("write attribute ") + name);
}

void write_dataset(hid_t group, const std::string& name, const Column& column) {
  const hsize_t rows = column.size();
  H5Space space(H5Screate_simple(1, &rows, nullptr), "create a dataspace");
  const std::string what = "write dataset '" + name + "'";
  if (column.dtype == DType::string) {
    H5Type type(H5Tcopy(H5T_C_S1), "copy a string type");
    check(H5Tset_size(type.get(), H5T_VARIABLE), "make a variable-length string type");
    check(H5Tset_cset(type.get(), H5T_CSET_UTF8), "set UTF-8");
    H5Dataset ds(H5Dcreate2(group, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), what);
    std::vector<const char*> ptrs;
    for (const auto& s : column.str) ptrs.push_back(s.c_str());
    if (rows) check(H5Dwrite(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), what);
    string_attribute(ds.get(), "dtype", "object");
    return;
  }
  if (column.dtype == DType::float64) {
    H5Dataset ds(H5Dcreate2(group, name.c_str(), H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                 what);
    if (rows) check(H5Dwrite(ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, column.f64.data()), what);
    string_attribute(ds.get(), "dtype", "float64");
    return;
  }
  H5Dataset ds(H5Dcreate2(group, name.c_str(), H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
               what);
  if (rows) check(H5Dwrite(ds.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, column.i64.data()), what);
  string_attribute(ds.get(), "dtype", dtype_name(column.dtype));
  if (column.dtype == DType::timestamp) string_attribute(ds.get(), "units", "ns");
}

// Writes `table` as group `key` of HDF5 file `tmp`, a copy of `path` when that exists.
void write_group(const Table& table, const std::string& path, const std::string& tmp, const std::string& key,
                 bool series) {
  Hdf5Lock lock;
  H5File file;
  if (fs::exists(path)) {
    // Other groups of an existing file are kept, as pandas' to_hdf appends.
    fs::copy_file(path, tmp, fs::copy_options::overwrite_existing);
    file = H5File(H5Fopen(tmp.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), "open " + path);
  } else {
    file = H5File(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), "create " + tmp);
  }
  const std::string group_path = key[0] == '/' ? key : "/" + key;
  // H5Lexists fails, rather than saying no, when a group on the way is missing; the
  // group is then new (its parents are created below).
  const htri_t exists = H5Lexists(file.get(), group_path.c_str(), H5P_DEFAULT);
  if (exists < 0) hdf5_stack();  // clears it
  if (exists > 0) check(H5Ldelete(file.get(), group_path.c_str(), H5P_DEFAULT), "replace group " + group_path);
  H5Plist lcpl(H5Pcreate(H5P_LINK_CREATE), "create a property list");
  check(H5Pset_create_intermediate_group(lcpl.get(), 1), "set intermediate groups");
  H5Group group(H5Gcreate2(file.get(), group_path.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT),
                "create group " + group_path);
  string_attribute(group.get(), "kind", series ? "series" : "frame");
  string_attribute(group.get(), "index_name", table.index.name);
  write_dataset(group.get(), "index", table.index);
  // A groupby on several keys: one dataset per key, index_0, index_1, ...
  std::string level_names;
  for (std::size_t level = 0; level < table.levels.size(); ++level) {
    write_dataset(group.get(), "index_" + std::to_string(level), table.levels[level]);
    level_names += (level ? "," : "") + table.levels[level].name;
  }
  if (!table.levels.empty()) string_attribute(group.get(), "levels", level_names);
  if (series) {
    string_attribute(group.get(), "name", table.columns.at(0).name);
    write_dataset(group.get(), "values", table.columns.at(0));
  } else {
    std::string names;
    for (const auto& c : table.columns) {
      write_dataset(group.get(), c.name, c);
      names += (names.empty() ? "" : ",") + c.name;
    }
    string_attribute(group.get(), "columns", names);
  }
  group.close("close group " + group_path);
  file.close("write " + tmp);
}

void to_hdf(const std::optional<Table>& table, const std::string& path, const std::string& key, bool series) {
  if (key.empty() || key == "/") throw InputError("to_hdf: key must name a group, e.g. \"/hourly\"");
  write_on_root(path, [&](const std::string& tmp) { write_group(*table, path, tmp, key, series); });
}

}  // namespace

}  // namespace rask::detail

namespace rask {

void DataFrame::to_hdf(const std::string& path, const std::string& key) const {
  detail::to_hdf(compute(), path, key, false);
}
void Series::to_hdf(const std::string& path, const std::string& key) const {
  detail::to_hdf(compute(), path, key, true);
}

}  // namespace rask
