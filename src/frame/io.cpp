// Writing results: to_hdf and to_csv. Rank 0 writes (results are gathered there), under
// a temporary name in the same directory, renamed over the final name when complete;
// then every rank learns the outcome, so a failure is one collective OutputError.
#include <hdf5.h>
#include <mpi.h>
#include <unistd.h>

#include <charconv>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>

#include "frame/csv.hpp"
#include "frame/lower.hpp"
#include "rask/runtime.hpp"

namespace fs = std::filesystem;

namespace rask::detail {

namespace {

constexpr std::int64_t kMissingInt = std::numeric_limits<std::int64_t>::min();

// HDF5's own description of the error on top of its stack.
std::string hdf5_message() {
  std::string out;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_DOWNWARD,
      [](unsigned, const H5E_error2_t* e, void* data) -> herr_t {
        auto* s = static_cast<std::string*>(data);
        if (s->empty() && e->desc) *s = e->desc;
        return 0;
      },
      &out);
  return out.empty() ? "unknown HDF5 error" : out;
}

// One HDF5 identifier, closed with its kind's close function.
template <herr_t (*Close)(hid_t)>
class H5Id {
 public:
  H5Id(hid_t id, const std::string& what) : id_(id) {
    if (id_ < 0) throw Error("HDF5 could not " + what + ": " + hdf5_message());
  }
  ~H5Id() {
    if (id_ >= 0) Close(id_);
  }
  H5Id(const H5Id&) = delete;
  H5Id& operator=(const H5Id&) = delete;
  hid_t get() const noexcept { return id_; }
  // Closes now, reporting failure (a file's close is where its data is flushed).
  void close(const std::string& what) {
    const herr_t status = Close(id_);
    id_ = -1;
    if (status < 0) throw Error("HDF5 could not " + what + ": " + hdf5_message());
  }

 private:
  hid_t id_;
};
using H5File = H5Id<H5Fclose>;
using H5Dataset = H5Id<H5Dclose>;
using H5Space = H5Id<H5Sclose>;
using H5Type = H5Id<H5Tclose>;
using H5Attr = H5Id<H5Aclose>;
using H5Plist = H5Id<H5Pclose>;
using H5Group = H5Id<H5Gclose>;

void check(herr_t status, const std::string& what) {
  if (status < 0) throw Error("HDF5 could not " + what + ": " + hdf5_message());
}

void string_attribute(hid_t on, const char* name, const std::string& value) {
  H5Type type(H5Tcopy(H5T_C_S1), "copy a string type");
  check(H5Tset_size(type.get(), std::max<std::size_t>(1, value.size())), "size a string type");
  check(H5Tset_cset(type.get(), H5T_CSET_UTF8), "set UTF-8");
  H5Space space(H5Screate(H5S_SCALAR), "create a scalar dataspace");
  H5Attr attr(H5Acreate2(on, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
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

std::string temporary_name(const std::string& path) { return path + ".tmp-" + std::to_string(::getpid()); }

// Runs `write` on rank 0 and agrees on the outcome: every rank throws the same
// OutputError when it failed, and no temporary file is left behind.
void write_on_root(const std::string& path, const std::function<void(const std::string& tmp)>& write) {
  Runtime& rt = Runtime::current();
  std::string error;
  if (rt.rank() == 0) {
    const std::string tmp = temporary_name(path);
    try {
      write(tmp);
      fs::rename(tmp, path);
    } catch (const std::exception& e) {
      error = "cannot write " + path + ": " + e.what();
      std::error_code ignored;
      fs::remove(tmp, ignored);
    }
  }
  int length = static_cast<int>(error.size());
  MPI_Bcast(&length, 1, MPI_INT, 0, MPI_COMM_WORLD);
  error.resize(static_cast<std::size_t>(length));
  if (length) MPI_Bcast(error.data(), length, MPI_CHAR, 0, MPI_COMM_WORLD);
  if (!error.empty()) throw OutputError(error);
}

void to_hdf(const std::optional<Table>& table, const std::string& path, const std::string& key, bool series) {
  if (key.empty() || key == "/") throw InputError("to_hdf: key must name a group, e.g. \"/hourly\"");
  write_on_root(path, [&](const std::string& tmp) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // errors are reported by the exception
    std::unique_ptr<H5File> file;
    if (fs::exists(path)) {
      // Other groups of an existing file are kept, as pandas' to_hdf appends.
      fs::copy_file(path, tmp, fs::copy_options::overwrite_existing);
      file = std::make_unique<H5File>(H5Fopen(tmp.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), "open " + path);
    } else {
      file = std::make_unique<H5File>(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), "create " + tmp);
    }
    const std::string group_path = key[0] == '/' ? key : "/" + key;
    if (H5Lexists(file->get(), group_path.c_str(), H5P_DEFAULT) > 0)
      check(H5Ldelete(file->get(), group_path.c_str(), H5P_DEFAULT), "replace group " + group_path);
    H5Plist lcpl(H5Pcreate(H5P_LINK_CREATE), "create a property list");
    check(H5Pset_create_intermediate_group(lcpl.get(), 1), "set intermediate groups");
    H5Group group(H5Gcreate2(file->get(), group_path.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT),
                  "create group " + group_path);
    string_attribute(group.get(), "kind", series ? "series" : "frame");
    string_attribute(group.get(), "index_name", table->index.name);
    write_dataset(group.get(), "index", table->index);
    // A groupby on several keys: one dataset per key, index_0, index_1, ...
    std::string level_names;
    for (std::size_t level = 0; level < table->levels.size(); ++level) {
      write_dataset(group.get(), "index_" + std::to_string(level), table->levels[level]);
      level_names += (level ? "," : "") + table->levels[level].name;
    }
    if (!table->levels.empty()) string_attribute(group.get(), "levels", level_names);
    if (series) {
      string_attribute(group.get(), "name", table->columns.at(0).name);
      write_dataset(group.get(), "values", table->columns.at(0));
    } else {
      std::string names;
      for (const auto& c : table->columns) {
        write_dataset(group.get(), c.name, c);
        names += (names.empty() ? "" : ",") + c.name;
      }
      string_attribute(group.get(), "columns", names);
    }
    group.close("close group " + group_path);
    file->close("write " + tmp);
  });
}

std::string format_timestamp(std::int64_t ns, bool date_only) {
  if (ns == kMissingInt) return "";
  const std::int64_t day_ns = 86400LL * 1000000000LL;
  std::int64_t days = ns / day_ns, rem = ns % day_ns;
  if (rem < 0) rem += day_ns, --days;
  std::int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  char buf[64];
  if (date_only) {
    std::snprintf(buf, sizeof buf, "%04" PRId64 "-%02u-%02u", y, m, d);
    return buf;
  }
  const std::int64_t secs = rem / 1000000000LL, frac = rem % 1000000000LL;
  std::snprintf(buf, sizeof buf, "%04" PRId64 "-%02u-%02u %02" PRId64 ":%02" PRId64 ":%02" PRId64, y, m, d, secs / 3600,
                secs / 60 % 60, secs % 60);
  std::string out = buf;
  if (frac) {
    std::snprintf(buf, sizeof buf, ".%09" PRId64, frac);
    std::string f = buf;
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  return out;
}

struct CsvWriter {
  const Column& c;
  bool date_only = false;
  explicit CsvWriter(const Column& column) : c(column) {
    if (c.dtype == DType::timestamp) {
      date_only = true;
      for (std::int64_t v : c.i64)
        if (v != kMissingInt && v % (86400LL * 1000000000LL) != 0) date_only = false;
    }
  }
  std::string cell(std::size_t row) const {
    switch (c.dtype) {
      case DType::float64: {
        const double v = c.f64[row];
        if (std::isnan(v)) return "";
        char buf[32];
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
        std::string s(buf, end);
        if (s.find_first_of(".en") == std::string::npos) s += ".0";  // 1.0, as pandas writes floats
        return s;
      }
      case DType::int64:
        return std::to_string(c.i64[row]);
      case DType::boolean:
        return c.i64[row] ? "True" : "False";
      case DType::timestamp:
        return format_timestamp(c.i64[row], date_only);
      case DType::string: {
        const std::string& s = c.str[row];
        if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
        std::string q = "\"";
        for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
        return q + "\"";
      }
    }
    return "";
  }
};

void to_csv(const std::optional<Table>& table, const std::string& path) {
  write_on_root(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) throw Error("cannot create " + tmp + ": " + std::strerror(errno));
    // The index first (or, for several groupby keys, one column per key), then the columns.
    std::vector<const Column*> all;
    if (table->levels.empty()) all.push_back(&table->index);
    for (const auto& c : table->levels) all.push_back(&c);
    for (const auto& c : table->columns) all.push_back(&c);
    std::vector<CsvWriter> writers;
    for (std::size_t col = 0; col < all.size(); ++col) {
      writers.emplace_back(*all[col]);
      out << (col ? "," : "") << all[col]->name;
    }
    out << '\n';
    std::string line;
    for (std::size_t row = 0; row < table->rows(); ++row) {
      line.clear();
      for (std::size_t col = 0; col < writers.size(); ++col) {
        if (col) line += ',';
        line += writers[col].cell(row);
      }
      line += '\n';
      out << line;
    }
    out.close();
    if (!out) throw Error("writing " + tmp + " failed (disk full?)");
  });
}

}  // namespace

}  // namespace rask::detail

namespace rask {

void DataFrame::to_hdf(const std::string& path, const std::string& key) const {
  detail::to_hdf(compute(), path, key, false);
}
void DataFrame::to_csv(const std::string& path) const { detail::to_csv(compute(), path); }
void Series::to_hdf(const std::string& path, const std::string& key) const {
  detail::to_hdf(compute(), path, key, true);
}
void Series::to_csv(const std::string& path) const { detail::to_csv(compute(), path); }

}  // namespace rask
