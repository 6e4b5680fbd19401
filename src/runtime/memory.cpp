#include "runtime/memory.hpp"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

#include "execute/comm.hpp"
#include "rask/error.hpp"

namespace rask::detail {

namespace {

// A number from a one-line file, or nullopt ("max", missing, unreadable).
std::optional<double> read_number(const char* path) {
  std::ifstream in(path);
  std::string word;
  if (!(in >> word) || word.empty() || word.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::strtod(word.c_str(), nullptr);
}

std::optional<double> mem_available() {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("MemAvailable:", 0) == 0) {
      std::istringstream fields(line.substr(13));
      double kib = 0;
      if (fields >> kib) return kib * 1024;
    }
  return std::nullopt;
}

// A field of a cgroup memory.stat file ("name value" lines), or 0.
double stat_field(const char* path, const std::string& name) {
  std::ifstream in(path);
  std::string key;
  double value = 0;
  while (in >> key >> value)
    if (key == name) return value;
  return 0;
}

// What the cgroup still lets this container take: v2, else v1. Usage counts the page
// cache, of which the inactive part is given back on demand, so it is not counted as
// used (the working set, as container runtimes count it). A v1 "no limit" is a huge
// number, taken as no limit.
std::optional<double> cgroup_available() {
  auto limit = read_number("/sys/fs/cgroup/memory.max");
  auto used = read_number("/sys/fs/cgroup/memory.current");
  double reclaimable = stat_field("/sys/fs/cgroup/memory.stat", "inactive_file");
  if (!limit) {
    limit = read_number("/sys/fs/cgroup/memory/memory.limit_in_bytes");
    used = read_number("/sys/fs/cgroup/memory/memory.usage_in_bytes");
    reclaimable = stat_field("/sys/fs/cgroup/memory/memory.stat", "total_inactive_file");
    if (limit && *limit > 1e18) limit.reset();
  }
  if (!limit) return std::nullopt;
  return std::max(0.0, *limit - std::max(0.0, used.value_or(0) - reclaimable));
}

}  // namespace

std::optional<double> parse_bytes(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || !std::isfinite(value) || value <= 0) return std::nullopt;
  const std::string suffix(end);
  double scale = 1;
  if (suffix == "k" || suffix == "K") scale = 1e3;
  else if (suffix == "M") scale = 1e6;
  else if (suffix == "G") scale = 1e9;
  else if (suffix == "T") scale = 1e12;
  else if (!suffix.empty()) return std::nullopt;
  return value * scale;
}

std::pair<double, std::string> memory_per_rank(MPI_Comm comm) {
  // Split even when the override is set: the call is collective.
  MPI_Comm node = MPI_COMM_NULL;
  check_mpi(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node), "MPI_Comm_split_type");
  int on_node = 1;
  MPI_Comm_size(node, &on_node);
  MPI_Comm_free(&node);
  if (const char* env = std::getenv("RASK_MEMORY_LIMIT")) {
    auto bytes = parse_bytes(env);
    return {bytes ? *bytes : -1.0, "RASK_MEMORY_LIMIT"};
  }
  std::optional<double> total = mem_available();
  if (auto cgroup = cgroup_available()) total = total ? std::min(*total, *cgroup) : *cgroup;
  if (!total) return {std::numeric_limits<double>::infinity(), "unknown"};
  return {*total / on_node, "available memory of the node (MemAvailable, or the cgroup's limit) divided among the " +
                                std::to_string(on_node) + " ranks on it"};
}

std::optional<std::string> memory_refusal(const Plan& plan, const std::vector<double>& memory,
                                          const std::string& source) {
  int worst = -1;
  double worst_ratio = 1;
  for (int rank = 0; rank < plan.nranks() && rank < static_cast<int>(memory.size()); ++rank) {
    const double ratio = plan.predicted_peak_bytes(rank) / memory[rank];
    if (ratio > worst_ratio) {
      worst_ratio = ratio;
      worst = rank;
    }
  }
  if (worst < 0) return std::nullopt;
  std::ostringstream m;
  m << "refused before running: the plan predicts a peak of " << format_bytes(plan.predicted_peak_bytes(worst))
    << " (" << static_cast<long long>(plan.predicted_peak_bytes(worst)) << " bytes) of task values on rank " << worst
    << ", but a rank there has " << format_bytes(memory[worst]) << " (" << static_cast<long long>(memory[worst])
    << " bytes; " << source << "). Run on more ranks (or nodes), or use smaller chunks so that fewer bytes are "
    << "held at once; RASK_MEMORY_LIMIT=<bytes per rank, e.g. 8G> sets the limit";
  return m.str();
}

}  // namespace rask::detail
