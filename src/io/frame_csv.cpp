// Frames to CSV: DataFrame::to_csv and Series::to_csv, formatted as pandas writes them.
// Rank 0 writes (results are gathered there), under a temporary name renamed when
// complete (io/replace.hpp), so a failure is one collective IoError.
#include <cerrno>
#include <charconv>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>

#include "frame/csv.hpp"
#include "io/replace.hpp"
#include "rask/frame.hpp"

namespace rask::detail {

namespace {

constexpr std::int64_t kMissingInt = std::numeric_limits<std::int64_t>::min();

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

void DataFrame::to_csv(const std::string& path) const { detail::to_csv(compute(), path); }
void Series::to_csv(const std::string& path) const { detail::to_csv(compute(), path); }

}  // namespace rask
