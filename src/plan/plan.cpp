#include "rask/plan.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <numeric>
#include <optional>
#include <ostream>
#include <set>
#include <sstream>
#include <tuple>

#include "rask/error.hpp"

namespace rask {

namespace {

// Values with no Serializer must stay on the rank that made them, so a producer and
// its consumers form one group that the planner places as a unit.
class Groups {
 public:
  explicit Groups(std::size_t n) : parent_(n) { std::iota(parent_.begin(), parent_.end(), TaskId{0}); }
  TaskId find(TaskId t) {
    while (parent_[t] != t) t = parent_[t] = parent_[parent_[t]];
    return t;
  }
  void join(TaskId a, TaskId b) { parent_[find(a)] = find(b); }

 private:
  std::vector<TaskId> parent_;
};

}  // namespace

std::string format_bytes(double bytes) {
  std::ostringstream o;
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (bytes >= 1000 && u < 4) {
    bytes /= 1000;
    ++u;
  }
  if (u == 0) o << static_cast<long long>(bytes) << " B";
  else o << std::fixed << std::setprecision(1) << bytes << " " << units[u];
  return o.str();
}

namespace {

std::string describe(const Graph& graph, TaskId t) {
  return "'" + graph.task(t).key.str() + "' (" + graph.task(t).codec->name + ")";
}

}  // namespace

namespace {

double cost_of(const Graph& graph, const CostModel& model, TaskId t) {
  return graph.task(t).cost >= 0 ? graph.task(t).cost : model.default_cost;
}
double bytes_of(const Graph& graph, TaskId t) {
  return graph.task(t).bytes >= 0 ? graph.task(t).bytes : static_cast<double>(graph.task(t).codec->size_hint);
}
double transfer(const Graph& graph, const CostModel& model, TaskId t) {
  return model.latency + bytes_of(graph, t) / model.bandwidth;
}

// The machine the list schedule simulates: per rank, when each of its threads is next
// free, and the ranks ordered by their earliest free thread.
class SimulatedMachine {
 public:
  SimulatedMachine(int nranks, int threads) : slots_(nranks, std::vector<double>(threads, 0.0)) {
    for (int rank = 0; rank < nranks; ++rank) idle_.emplace(0.0, rank);
  }
  /// When a thread of `rank` is next free.
  double free_at(int rank) const { return slots_[rank][earliest_slot(rank)]; }
  /// The rank whose earliest free thread frees first.
  int first_idle() const { return idle_.begin()->second; }
  /// Gives `rank`'s earliest free thread a task that ends at `until`.
  void occupy(int rank, double until) {
    auto slot = earliest_slot(rank);
    idle_.erase({slots_[rank][slot], rank});
    slots_[rank][slot] = until;
    idle_.emplace(*std::min_element(slots_[rank].begin(), slots_[rank].end()), rank);
  }

 private:
  std::ptrdiff_t earliest_slot(int rank) const {
    return std::min_element(slots_[rank].begin(), slots_[rank].end()) - slots_[rank].begin();
  }
  std::vector<std::vector<double>> slots_;
  std::set<std::pair<double, int>> idle_;  // (earliest free thread, rank)
};

}  // namespace

// Pins: owner-computes hints (modulo the rank count, so a program runs at any count),
// and groups of tasks sharing a value that cannot be serialized.
struct Plan::Pins {
  std::vector<int> pin;                // task -> rank it is pinned to, or -1
  std::optional<Groups> groups;        // only when some value cannot cross ranks
  std::vector<int> group_pin;          // group -> rank, or -1
  std::vector<TaskId> group_pinned_by;  // group -> the task that pinned it
};

Plan::Plan(const Graph& graph, std::span<const TaskId> outputs, int nranks, int threads, Where where,
           const CostModel& model)
    : nranks_(std::max(1, nranks)), threads_(std::max(1, threads)), where_(where),
      outputs_(outputs.begin(), outputs.end()) {
  const std::size_t n = graph.size();
  order_ = graph.order(outputs);
  owner_.assign(n, -1);
  priority_.assign(n, 0);
  start_.assign(n, 0);
  finish_.assign(n, 0);
  tasks_per_rank_.assign(nranks_, 0);
  work_per_rank_.assign(nranks_, 0);
  for (std::uint32_t pos = 0; pos < order_.size(); ++pos) priority_[order_[pos]] = pos;
  collective_.assign(n, 0);
  for (TaskId t : order_)
    if (graph.task(t).collective) {
      collective_[t] = 1;
      collectives_.push_back(t);
    }
  Pins pins = pin_tasks(graph);  // not const: its groups compress their paths when searched
  choose_schedule(graph, model, pins);
  plan_sends(graph);
  predict_times(graph, model);
  predict_peak_bytes(graph);
}

Plan::Pins Plan::pin_tasks(const Graph& graph) const {
  const std::size_t n = graph.size();
  Pins pins;
  pins.pin.assign(n, -1);
  bool any_unserializable = false;
  for (TaskId t : order_) {
    if (graph.task(t).owner >= 0) pins.pin[t] = graph.task(t).owner % nranks_;
    // A collective value never crosses ranks: every rank holds its own piece.
    any_unserializable |= !graph.task(t).codec->serializable && !collective_[t];
  }
  // The same rule at every rank count, so a program that runs on one rank runs on many.
  if (any_unserializable && where_ == Where::all)
    for (TaskId t : outputs_)
      if (!graph.task(t).codec->serializable && !collective_[t])
        throw PlanError("result " + describe(graph, t) + " cannot be sent to every rank: its type has no " +
                        "rask::Serializer. Possible fixes: specialize rask::Serializer<" +
                        graph.task(t).codec->name + ">, or compute it on rank 0 only (Where::root)");
  if (!any_unserializable || nranks_ <= 1) return pins;
  Groups& groups = pins.groups.emplace(n);
  for (TaskId t : order_)
    for (TaskId d : graph.task(t).deps)
      if (!graph.task(d).codec->serializable && !collective_[t] && !collective_[d]) groups.join(d, t);
  pins.group_pin.assign(n, -1);
  pins.group_pinned_by.assign(n, 0);
  auto pin_group = [&](TaskId t, int rank, const std::string& why) {
    TaskId g = groups.find(t);
    if (pins.group_pin[g] >= 0 && pins.group_pin[g] != rank)
      throw PlanError("task " + describe(graph, pins.group_pinned_by[g]) + " must run on rank " +
                      std::to_string(pins.group_pin[g]) + " but " + describe(graph, t) + why +
                      std::to_string(rank) + ", and they share a value with no rask::Serializer. " +
                      "Possible fixes: specialize rask::Serializer for the type, or pin them to one rank");
    pins.group_pin[g] = rank;
    pins.group_pinned_by[g] = t;
  };
  for (TaskId t : order_)
    if (pins.pin[t] >= 0) pin_group(t, pins.pin[t], " is pinned to rank ");
  for (TaskId t : outputs_)
    if (!graph.task(t).codec->serializable && !collective_[t]) pin_group(t, 0, " is a result wanted on rank ");
  return pins;
}

// The list schedule, run twice on more than one rank: as designed, and with every
// task free to move kept on rank 0. The second is the simplest alternative; a plan
// predicted slower than it (a flood of tiny values to one consumer) is not taken.
void Plan::choose_schedule(const Graph& graph, const CostModel& model, Pins& pins) {
  const double spread = list_schedule(graph, model, pins, false);
  if (nranks_ > 1) {
    auto kept = std::make_tuple(owner_, start_, finish_, tasks_per_rank_, work_per_rank_);
    if (list_schedule(graph, model, pins, true) >= spread)
      std::tie(owner_, start_, finish_, tasks_per_rank_, work_per_rank_) = std::move(kept);
  }
}

// Places every task of order() (all on rank 0 when `one_rank`, but for pins) on a
// simulated clock; returns the predicted wall time, results delivered.
double Plan::list_schedule(const Graph& graph, const CostModel& model, Pins& pins, bool one_rank) {
  std::fill(owner_.begin(), owner_.end(), -1);
  std::fill(tasks_per_rank_.begin(), tasks_per_rank_.end(), 0);
  std::fill(work_per_rank_.begin(), work_per_rank_.end(), 0.0);
  total_work_ = 0;
  std::vector<int> group_pin = pins.group_pin;
  std::vector<TaskId> group_pinned_by = pins.group_pinned_by;
  // Roots are co-assigned in contiguous runs of the post-order, balanced by cost.
  double root_work = 0;
  for (TaskId t : order_)
    if (graph.task(t).deps.empty() && pins.pin[t] < 0) root_work += cost_of(graph, model, t);
  double root_seen = 0;

  SimulatedMachine machine(nranks_, threads_);
  std::vector<int> candidates;
  for (TaskId t : order_) {
    const Task& task = graph.task(t);
    const double cost = cost_of(graph, model, t);
    if (collective_[t]) {
      // Every rank at once: when its inputs exist and every rank has a free thread.
      double begin = 0;
      for (TaskId d : task.deps) begin = std::max(begin, finish_[d]);
      for (int rank = 0; rank < nranks_; ++rank) begin = std::max(begin, machine.free_at(rank));
      owner_[t] = 0;
      start_[t] = begin;
      finish_[t] = begin + cost;
      total_work_ += cost * nranks_;
      for (int rank = 0; rank < nranks_; ++rank) {
        ++tasks_per_rank_[rank];
        work_per_rank_[rank] += cost;
        machine.occupy(rank, finish_[t]);
      }
      continue;
    }
    int chosen = pins.pin[t];
    if (chosen < 0 && pins.groups) {
      TaskId g = pins.groups->find(t);
      if (group_pin[g] >= 0) chosen = group_pin[g];
    }
    if (chosen < 0 && one_rank) chosen = 0;
    if (chosen < 0 && task.deps.empty()) {
      double mid = root_work > 0 ? (root_seen + cost / 2) / root_work : 0;
      chosen = std::min(nranks_ - 1, static_cast<int>(mid * nranks_));
      root_seen += cost;
    }
    // Inputs arrive in parallel, but each message also costs the receiver its handling,
    // so of two equally early ranks the one holding more of the inputs wins.
    auto ready_on = [&](int rank) {
      double ready = 0;
      std::size_t remote = 0;
      for (TaskId d : task.deps) {
        const bool local = owner_[d] == rank || collective_[d];
        remote += !local;
        ready = std::max(ready, finish_[d] + (local ? 0.0 : transfer(graph, model, d)));
      }
      return ready + static_cast<double>(remote) * model.message_cost;
    };
    double best_start = 0;
    if (chosen >= 0) {
      best_start = std::max(ready_on(chosen), machine.free_at(chosen));
    } else {
      // Candidates: where the inputs are, and the rank that frees up first.
      candidates.clear();
      for (TaskId d : task.deps)
        if (!collective_[d] && std::find(candidates.begin(), candidates.end(), owner_[d]) == candidates.end())
          candidates.push_back(owner_[d]);
      int first_idle = machine.first_idle();
      if (std::find(candidates.begin(), candidates.end(), first_idle) == candidates.end())
        candidates.push_back(first_idle);
      double best_finish = INFINITY;
      for (int rank : candidates) {
        double s = std::max(ready_on(rank), machine.free_at(rank));
        if (s + cost < best_finish) {
          best_finish = s + cost;
          best_start = s;
          chosen = rank;
        }
      }
    }
    if (pins.groups) {
      TaskId g = pins.groups->find(t);
      if (group_pin[g] < 0) {
        group_pin[g] = chosen;
        group_pinned_by[g] = t;
      }
    }
    owner_[t] = chosen;
    start_[t] = best_start;
    finish_[t] = best_start + cost;
    ++tasks_per_rank_[chosen];
    work_per_rank_[chosen] += cost;
    total_work_ += cost;
    machine.occupy(chosen, finish_[t]);
  }
  double predicted = 0;
  for (TaskId t : order_) predicted = std::max(predicted, finish_[t]);
  for (TaskId t : outputs_)
    if (!collective_[t] && (owner_[t] != 0 || where_ == Where::all))
      predicted = std::max(predicted, finish_[t] + (nranks_ > 1 ? transfer(graph, model, t) : 0.0));
  return predicted;
}

// Who needs each value besides its owner: consumers on other ranks, and the ranks
// the results go to.
void Plan::plan_sends(const Graph& graph) {
  std::vector<std::pair<TaskId, int>> sends;
  // A collective task reads only its own rank's inputs, and each rank's consumers read
  // their own rank's piece of a collective value: neither is sent.
  for (TaskId t : order_)
    for (TaskId d : graph.task(t).deps)
      if (!collective_[t] && !collective_[d] && owner_[d] != owner_[t]) sends.emplace_back(d, owner_[t]);
  for (TaskId t : outputs_) {
    if (collective_[t]) continue;
    if (where_ == Where::all) {
      for (int rank = 0; rank < nranks_; ++rank)
        if (rank != owner_[t]) sends.emplace_back(t, rank);
    } else if (owner_[t] != 0) {
      sends.emplace_back(t, 0);
    }
  }
  std::sort(sends.begin(), sends.end());
  sends.erase(std::unique(sends.begin(), sends.end()), sends.end());
  send_begin_.assign(graph.size() + 1, 0);
  send_ranks_.reserve(sends.size());
  for (auto [task, rank] : sends) {
    if (!graph.task(task).codec->serializable)
      throw PlanError("value " + describe(graph, task) + " is needed on rank " + std::to_string(rank) +
                      " but made on rank " + std::to_string(owner_[task]) + ", and its type has no " +
                      "rask::Serializer. Possible fix: specialize rask::Serializer<" +
                      graph.task(task).codec->name + ">");
    ++send_begin_[task + 1];
    send_ranks_.push_back(rank);
    bytes_crossing_ += bytes_of(graph, task);
  }
  std::partial_sum(send_begin_.begin(), send_begin_.end(), send_begin_.begin());
  messages_ = sends.size();
}

// Critical path (work only) and the predicted wall time, results delivered.
void Plan::predict_times(const Graph& graph, const CostModel& model) {
  std::vector<double> longest(graph.size(), 0);
  for (TaskId t : order_) {
    double before = 0;
    for (TaskId d : graph.task(t).deps) before = std::max(before, longest[d]);
    longest[t] = before + cost_of(graph, model, t);
    critical_path_ = std::max(critical_path_, longest[t]);
    predicted_ = std::max(predicted_, finish_[t]);
  }
  for (TaskId t : outputs_)
    if (!collective_[t] && (owner_[t] != 0 || where_ == Where::all))
      predicted_ = std::max(predicted_, finish_[t] + (nranks_ > 1 ? transfer(graph, model, t) : 0.0));
}

// Peak memory per rank: the values held at once, walking order() as one thread would.
void Plan::predict_peak_bytes(const Graph& graph) {
  const std::size_t n = graph.size();
  peak_bytes_.assign(nranks_, 0);
  constexpr std::uint32_t kNever = 0xFFFFFFFFu, kToTheEnd = 0xFFFFFFFEu;
  std::vector<std::uint32_t> last_use(n, kNever);
  std::vector<std::uint8_t> held(n, 0);
  for (int rank = 0; rank < nranks_; ++rank) {
    std::fill(last_use.begin(), last_use.end(), kNever);
    std::fill(held.begin(), held.end(), 0);
    auto here = [&](TaskId d) {  // made on this rank, or sent to it
      if (runs_on(d, rank)) return true;
      auto dests = send_to(d);
      return std::binary_search(dests.begin(), dests.end(), rank);
    };
    for (std::uint32_t pos = 0; pos < order_.size(); ++pos) {
      TaskId t = order_[pos];
      if (!runs_on(t, rank)) continue;
      for (TaskId d : graph.task(t).deps)
        if (here(d)) last_use[d] = pos;
    }
    const bool results_here = where_ == Where::all || rank == 0;
    if (results_here)
      for (TaskId t : outputs_) last_use[t] = kToTheEnd;
    double live = 0, peak = 0;
    auto hold = [&](TaskId t) {
      if (!held[t]) {
        held[t] = 1;
        live += bytes_of(graph, t);
      }
    };
    for (std::uint32_t pos = 0; pos < order_.size(); ++pos) {
      TaskId t = order_[pos];
      if (!runs_on(t, rank)) {
        // A result made elsewhere is held here from about when it is made.
        if (results_here && last_use[t] == kToTheEnd) {
          hold(t);
          peak = std::max(peak, live);
        }
        continue;
      }
      for (TaskId d : graph.task(t).deps)
        if (here(d)) hold(d);  // received: held from its first local consumer on
      hold(t);
      peak = std::max(peak, live);
      for (TaskId d : graph.task(t).deps)
        if (held[d] && last_use[d] == pos) {
          held[d] = 0;
          live -= bytes_of(graph, d);
        }
      if (last_use[t] == kNever) {  // sent, or wanted by no one here: dropped at once
        held[t] = 0;
        live -= bytes_of(graph, t);
      }
    }
    peak_bytes_[rank] = peak;
  }
}

void Plan::print(std::ostream& out) const {
  std::ostringstream s;
  auto seconds = [](double v) {
    std::ostringstream o;
    if (v >= 1) o << std::fixed << std::setprecision(3) << v << " s";
    else if (v >= 1e-3) o << std::fixed << std::setprecision(3) << v * 1e3 << " ms";
    else o << std::fixed << std::setprecision(3) << v * 1e6 << " us";
    return o.str();
  };
  s << "plan: " << order_.size() << " tasks on " << nranks_ << " rank" << (nranks_ > 1 ? "s" : "") << " x "
    << threads_ << " thread" << (threads_ > 1 ? "s" : "") << "\n";
  s << "  rank       tasks         work    peak memory\n";
  for (int rank = 0; rank < nranks_; ++rank)
    s << "  " << std::setw(4) << rank << std::setw(12) << tasks_per_rank_[rank] << std::setw(13)
      << seconds(work_per_rank_[rank]) << std::setw(15) << format_bytes(peak_bytes_[rank]) << "\n";
  if (!collectives_.empty())
    s << "  collective tasks (every rank): " << collectives_.size() << "\n";
  s << "  between ranks: " << messages_ << " message" << (messages_ == 1 ? "" : "s") << ", ~"
    << static_cast<std::size_t>(bytes_crossing_) << " bytes\n";
  const int workers = nranks_ * threads_;
  s << "  work " << seconds(total_work_) << ", critical path " << seconds(critical_path_) << "\n";
  s << "  predicted wall time " << seconds(predicted_) << " (serial " << seconds(total_work_) << ", ideal "
    << seconds(std::max(critical_path_, total_work_ / workers)) << " on " << workers << " workers)\n";
  out << s.str();
}

}  // namespace rask
