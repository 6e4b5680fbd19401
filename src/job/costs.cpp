// The cost file: mean seconds per call of each function, learned from runs.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "rask/error.hpp"
#include "rask/job.hpp"

namespace rask {

CostTable CostTable::read(const std::string& path) {
  std::ifstream in(path);
  if (!in) return {};
  std::stringstream text;
  text << in.rdbuf();
  return parse(text.str(), path);
}

CostTable CostTable::parse(const std::string& text, const std::string& origin) {
  CostTable table;
  std::istringstream in(text);
  std::string line;
  for (std::size_t line_no = 1; std::getline(in, line); ++line_no) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string name;
    double seconds = -1;
    long long calls = -1;
    std::string extra;
    if (!(fields >> name >> seconds >> calls) || seconds < 0 || calls <= 0 || (fields >> extra))
      throw InputError(origin + ":" + std::to_string(line_no) + ": expected 'name seconds calls' (seconds >= 0, " +
                       "calls > 0), got '" + line + "'; fix the line or delete the file (rask run writes it anew)");
    table.entries_[name] = Entry{seconds * static_cast<double>(calls), static_cast<std::size_t>(calls)};
  }
  return table;
}

std::string CostTable::text() const {
  std::ostringstream out;
  out << "# rask cost file: name <TAB> mean seconds per call <TAB> calls measured\n";
  out << "# written by `rask run` after each run; read by the next run's planner\n";
  out << std::setprecision(6);
  for (const auto& [name, entry] : entries_)
    out << name << '\t' << entry.total_seconds / static_cast<double>(entry.calls) << '\t' << entry.calls << '\n';
  return out.str();
}

void CostTable::write(const std::string& path) const {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary);
    out << text();
    out.flush();
    if (!out) throw InputError("cannot write the cost file '" + temporary + "'; check the directory is writable");
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec) throw InputError("cannot rename '" + temporary + "' to '" + path + "': " + ec.message());
}

double CostTable::seconds(const std::string& name, double fallback) const {
  auto it = entries_.find(name);
  if (it == entries_.end() || it->second.calls == 0) return fallback;
  return it->second.total_seconds / static_cast<double>(it->second.calls);
}

void CostTable::add(const std::string& name, double seconds, std::size_t calls) {
  Entry& entry = entries_[name];
  entry.total_seconds += seconds;
  entry.calls += calls;
}

void CostTable::update(const CostTable& newer) {
  for (const auto& [name, entry] : newer.entries_) entries_[name] = entry;
}

std::string cost_file_for(const std::string& script) {
  std::filesystem::path path(script);
  if (path.extension() == ".py") path.replace_extension("");
  return path.string() + ".rask-costs";
}

bool is_notebook(const std::string& path) { return std::filesystem::path(path).extension() == ".ipynb"; }

std::string executed_notebook_for(const std::string& notebook) {
  std::filesystem::path path(notebook);
  path.replace_extension("");
  return path.string() + ".rask.ipynb";
}

}  // namespace rask
