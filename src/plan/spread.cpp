// Placement of the calls a program only wants back (see spread.hpp).
#include "plan/spread.hpp"

#include <algorithm>
#include <map>
#include <string>

namespace rask {

std::vector<int> spread_output_calls(std::span<const CallShape> tasks, std::span<const TaskId> outputs, int nranks,
                                     const std::function<double(std::string_view)>& seconds) {
  const std::size_t n = tasks.size();
  std::vector<int> pins(n, -1);
  if (nranks < 2) return pins;
  std::vector<char> wanted(n, 0);
  for (TaskId pos : outputs)
    if (pos < n) wanted[pos] = 1;
  for (const CallShape& task : tasks)
    for (TaskId dep : task.deps)
      if (dep < n) wanted[dep] = 0;  // consumed by a task: the plan keeps it near
  // Calls by function, in the order the functions first appear.
  std::vector<std::pair<std::string_view, std::vector<std::size_t>>> groups;
  std::map<std::string_view, std::size_t> group_of;
  std::size_t calls = 0;
  for (std::size_t task_idx = 0; task_idx < n; ++task_idx) {
    const CallShape& task = tasks[task_idx];
    if (!wanted[task_idx] || !task.deps.empty() || task.function.empty()) continue;
    auto [it, added] = group_of.emplace(task.function, groups.size());
    if (added) groups.emplace_back(task.function, std::vector<std::size_t>{});
    groups[it->second].second.push_back(task_idx);
    ++calls;
  }
  if (calls < 2 * static_cast<std::size_t>(nranks)) return pins;  // too few to matter
  std::vector<double> weight;
  for (const auto& group : groups) weight.push_back(seconds(group.first));
  // Calls known to take under a millisecond gain little from spreading; the plan may
  // rather keep them, and their results, on rank 0.
  constexpr double kWorthSpreading = 1e-3;
  std::vector<std::size_t> by_weight;
  for (std::size_t group_idx = 0; group_idx < groups.size(); ++group_idx)
    if (weight[group_idx] >= kWorthSpreading) by_weight.push_back(group_idx);
  std::stable_sort(by_weight.begin(), by_weight.end(),
                   [&](std::size_t a, std::size_t b) { return weight[a] > weight[b]; });
  std::vector<double> load(static_cast<std::size_t>(nranks), 0.0);
  for (std::size_t group_idx : by_weight)
    for (std::size_t task_idx : groups[group_idx].second) {
      const auto rank = static_cast<std::size_t>(std::min_element(load.begin(), load.end()) - load.begin());
      pins[task_idx] = static_cast<int>(rank);
      load[rank] += weight[group_idx];
    }
  return pins;
}

}  // namespace rask
