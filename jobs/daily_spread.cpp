// Workshop exercise 2.4: the daily high-low spread of a stock, one task per file.
//
//     2010-01-04.csv  2010-01-05.csv  ...     one file per trading day
//          |               |
//     spread(file)    spread(file)    ...     max(high) - min(low), one task each
//          \               |              /
//                   results on rank 0
//
// Columns are found by header name, never by position. A plain reader is enough here;
// the dataframe layer brings the fast one.
// Run: mpirun -n 2 build/jobs/daily_spread inputs/minute/aig   (directories and/or .csv files)
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "job_options.hpp"

namespace fs = std::filesystem;

using DaySpread = std::pair<std::string, double>;  // (date, high - low)

namespace {
std::vector<std::string_view> split_commas(std::string_view line) {
  std::vector<std::string_view> fields;
  for (std::size_t start = 0;;) {
    std::size_t comma = line.find(',', start);
    fields.push_back(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (comma == std::string_view::npos) return fields;
    start = comma + 1;
  }
}

std::size_t column_of(const std::vector<std::string_view>& header, std::string_view name, const std::string& path) {
  auto it = std::find(header.begin(), header.end(), name);
  if (it != header.end()) return static_cast<std::size_t>(it - header.begin());
  std::string columns;
  for (auto h : header) columns += (columns.empty() ? "" : ", ") + std::string(h);
  throw std::runtime_error(path + ":1: no column named '" + std::string(name) + "' (the header has: " + columns + ")");
}
}  // namespace

DaySpread spread(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open '" + path + "': " + std::strerror(errno));
  std::string line;
  if (!std::getline(in, line)) throw std::runtime_error(path + ": the file is empty (expected a header line)");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  const std::string header_line = line;
  const auto header_fields = split_commas(header_line);
  const std::size_t ts_col = column_of(header_fields, "timestamp", path);
  const std::size_t high_col = column_of(header_fields, "high", path);
  const std::size_t low_col = column_of(header_fields, "low", path);
  double high = -INFINITY, low = INFINITY;
  std::string date;
  std::size_t line_no = 1;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const auto fields = split_commas(line);
    if (fields.size() != header_fields.size())
      throw std::runtime_error(path + ":" + std::to_string(line_no) + ": expected " +
                               std::to_string(header_fields.size()) + " fields, found " + std::to_string(fields.size()));
    auto number = [&](std::size_t col) {
      double v = 0;
      auto field = fields[col];
      auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), v);
      if (ec != std::errc() || end != field.data() + field.size()) {
        std::size_t column = static_cast<std::size_t>(field.data() - line.data()) + 1;
        throw std::runtime_error(path + ":" + std::to_string(line_no) + ":" + std::to_string(column) +
                                 ": cannot read '" + std::string(field) + "' as a number in column '" +
                                 std::string(header_fields[col]) + "'");
      }
      return v;
    };
    high = std::max(high, number(high_col));
    low = std::min(low, number(low_col));
    if (date.empty()) date = std::string(fields[ts_col].substr(0, 10));
  }
  if (date.empty()) throw std::runtime_error(path + ": no rows after the header");
  return {date, high - low};
}

int main(int argc, char** argv) {
  rask::Runtime rt(argc, argv);
  // Arguments: directories of per-day files and/or the files themselves.
  std::vector<std::string> inputs(argv + 1, argv + argc);
  if (inputs.empty()) inputs.push_back("inputs/minute/aig");
  std::vector<std::string> files;
  // Every rank checks the same paths, so a missing input is a collective error.
  for (const auto& input : inputs) {
    if (fs::is_directory(input)) {
      std::vector<std::string> in_dir;
      for (const auto& entry : fs::directory_iterator(input))
        if (entry.path().extension() == ".csv") in_dir.push_back(entry.path().string());
      if (in_dir.empty()) throw rask::InputError("no .csv files in '" + input + "'");
      files.insert(files.end(), in_dir.begin(), in_dir.end());
    } else if (fs::is_regular_file(input)) {
      files.push_back(input);
    } else {
      throw rask::InputError("input '" + input + "' does not exist; generate minute bars with "
                             "build/inputs/rask-gen-minute --out inputs/minute");
    }
  }
  std::sort(files.begin(), files.end());
  std::vector<rask::Delayed<DaySpread>> spreads;
  for (const auto& file : files) spreads.push_back(rask::delayed(spread)(file));
  const double start = rt.wtime();
  auto results = rask::compute(spreads);
  const double measured = rt.wtime() - start;
  if (rt.rank() == 0) {
    for (const auto& [date, value] : *results) std::printf("result: %s high-low spread %.6f\n", date.c_str(), value);
    auto widest = std::max_element(results->begin(), results->end(),
                                   [](const auto& x, const auto& y) { return x.second < y.second; });
    std::printf("result: widest day %s (%.6f) of %zu\n", widest->first.c_str(), widest->second, results->size());
  }
  if (rt.rank() == 0)
    std::printf("time: %zu files on %d ranks x %d threads in %.3f s\n", files.size(), rt.size(), rt.threads(), measured);
}
