#include "runtime/agree.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <utility>

#include "execute/comm.hpp"

namespace rask::detail {

namespace {

std::uint64_t task_hash(const Task& task) {
  std::uint64_t h = token_combine(task.key.token, static_cast<std::uint64_t>(task.owner + 1));
  if (task.collective) h = token_combine(h, 0xC011EC7u);
  h = token_combine(h, task.deps.size());
  for (TaskId d : task.deps) h = token_combine(h, d);
  return h;
}

std::string rank_list(const std::vector<int>& ranks) {
  std::string s = ranks.size() == 1 ? "rank " : "ranks ";
  for (std::size_t i = 0; i < ranks.size(); ++i) s += (i ? ", " : "") + std::to_string(ranks[i]);
  return s;
}

// Groups ranks by what they reported, in order of first appearance.
std::vector<std::pair<std::string, std::vector<int>>> group(const std::vector<std::string>& said) {
  std::vector<std::pair<std::string, std::vector<int>>> groups;
  for (int rank = 0; rank < static_cast<int>(said.size()); ++rank) {
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == said[rank]; });
    if (it == groups.end()) groups.push_back({said[rank], {rank}});
    else it->second.push_back(rank);
  }
  return groups;
}

// Every rank gets every rank's `text` (cut to a fixed width).
std::vector<std::string> all_texts(MPI_Comm comm, const std::string& text) {
  constexpr int kWidth = 240;
  int size = 1;
  MPI_Comm_size(comm, &size);
  char mine[kWidth] = {};
  std::memcpy(mine, text.data(), std::min<std::size_t>(text.size(), kWidth - 1));
  std::vector<char> all(static_cast<std::size_t>(size) * kWidth);
  check_mpi(MPI_Allgather(mine, kWidth, MPI_CHAR, all.data(), kWidth, MPI_CHAR, comm), "MPI_Allgather");
  std::vector<std::string> texts;
  for (int rank = 0; rank < size; ++rank) texts.emplace_back(all.data() + static_cast<std::size_t>(rank) * kWidth);
  return texts;
}

// Collective: whether `value` is the same on every rank.
bool same_everywhere(MPI_Comm comm, std::uint64_t value) {
  std::uint64_t mine[2] = {value, ~value}, max[2];
  check_mpi(MPI_Allreduce(mine, max, 2, MPI_UINT64_T, MPI_MAX, comm), "MPI_Allreduce");
  return max[0] == ~max[1];
}

std::string describe_step(Step step, unsigned long compute_no) {
  switch (step) {
    case Step::compute: return "called compute #" + std::to_string(compute_no);
    case Step::barrier: return "waited at a barrier (Runtime::barrier) after compute #" + std::to_string(compute_no);
    case Step::broadcast:
      return "waited for rank 0's result of a step only it runs (visualize) after compute #" +
             std::to_string(compute_no);
    case Step::leave:
      return "left the program (its rask::Runtime was destroyed) after compute #" + std::to_string(compute_no);
  }
  return "?";
}

}  // namespace

Fingerprint fingerprint(const Graph& graph, std::span<const TaskId> outputs, Where where, const CostModel& model,
                        int threads, const std::string& graph_error) {
  Fingerprint fp;
  fp.prefix.resize(graph.size() + 1);
  fp.prefix[0] = 0x5b3d;
  for (std::size_t i = 0; i < graph.size(); ++i) fp.prefix[i + 1] = token_combine(fp.prefix[i], task_hash(graph.task(i)));
  std::uint64_t h = token_combine(fp.prefix.back(), outputs.size());
  for (TaskId t : outputs) h = token_combine(h, t);
  h = token_combine(h, static_cast<std::uint64_t>(where));
  h = token_combine(h, static_cast<std::uint64_t>(threads));
  for (double v : {model.default_cost, model.latency, model.bandwidth}) h = token_combine(h, std::bit_cast<std::uint64_t>(v));
  h = token_combine(h, token_bytes(graph_error.data(), graph_error.size()));
  fp.whole = h;
  return fp;
}

std::optional<std::string> agree(MPI_Comm comm, Step step, unsigned long compute_no, const Graph* graph,
                                 const Fingerprint* fp) {
  const auto step_code = static_cast<std::uint64_t>(step);
  std::uint64_t mine[4] = {step_code, ~step_code, fp ? fp->whole : 0, fp ? ~fp->whole : ~std::uint64_t{0}};
  std::uint64_t max[4];
  check_mpi(MPI_Allreduce(mine, max, 4, MPI_UINT64_T, MPI_MAX, comm), "MPI_Allreduce");
  const bool same_step = max[0] == ~max[1];
  if (same_step && max[2] == ~max[3]) return std::nullopt;

  if (!same_step) {
    std::string message = "the ranks are not at the same step: ";
    auto groups = group(all_texts(comm, describe_step(step, compute_no)));
    for (std::size_t i = 0; i < groups.size(); ++i)
      message += (i ? (i + 1 == groups.size() ? " and " : ", ") : "") + rank_list(groups[i].second) + " " +
                 groups[i].first;
    return message + ". Every rank of an SPMD program must run the same computes, in the same order "
                     "(look for a compute or a return that depends on the rank)";
  }

  // Same step, different graphs: bisect the task-by-task hashes for the first difference.
  std::uint64_t size = graph->size(), max_size = 0;
  check_mpi(MPI_Allreduce(&size, &max_size, 1, MPI_UINT64_T, MPI_MAX, comm), "MPI_Allreduce");
  auto prefix_at = [&](std::uint64_t i) {
    return i < fp->prefix.size() ? fp->prefix[i] : token_combine(fp->prefix.back(), i);
  };
  std::string message = "the ranks built different graphs for compute #" + std::to_string(compute_no) + ": ";
  if (same_everywhere(comm, prefix_at(max_size + 1))) {
    message += "the tasks are the same, but the outputs asked for, Where, the threads per rank or the "
               "CostModel differ";
  } else {
    std::uint64_t lo = 0, hi = max_size + 1;  // prefixes agree at lo, not at hi
    while (hi - lo > 1) {
      std::uint64_t mid = lo + (hi - lo) / 2;
      (same_everywhere(comm, prefix_at(mid)) ? lo : hi) = mid;
    }
    const std::uint64_t task_idx = hi - 1;
    std::string mine_text;
    if (task_idx < graph->size()) {
      const Task& task = graph->task(static_cast<TaskId>(task_idx));
      mine_text = "'" + task.key.str() + "'";
      if (!task.deps.empty()) mine_text += " with " + std::to_string(task.deps.size()) + " inputs";
      if (task.owner >= 0) mine_text += " pinned to rank " + std::to_string(task.owner);
    } else {
      mine_text = "missing (the graph has " + std::to_string(graph->size()) + " tasks)";
    }
    auto groups = group(all_texts(comm, mine_text));
    message += "the first difference is task #" + std::to_string(task_idx) + ", which is ";
    for (std::size_t i = 0; i < groups.size(); ++i)
      message += (i ? (i + 1 == groups.size() ? " and " : ", ") : "") + groups[i].first + " on " +
                 rank_list(groups[i].second);
    if (groups.size() == 1) message += " everywhere, but its inputs or pin differ";
  }
  return message + ". Every rank must build the same graph (look for arguments or branches that depend "
                   "on the rank, or on data only one rank read)";
}

}  // namespace rask::detail
