#pragma once
/// Graph: tasks, their keys and their dependencies, as Dask holds them (a dict of keys to
/// tasks), before any rank is chosen. Building a graph is local (no MPI): every rank of
/// a C++ program builds the same graph; a job script's graph is built on rank 0 and
/// broadcast.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rask/detail/token_index.hpp"
#include "rask/token.hpp"
#include "rask/value.hpp"

namespace rask {

/// Index of a task in its graph.
using TaskId = std::uint32_t;

/// A task key: a readable name and a token, printed `name-<16 hex digits>` as Dask
/// prints `inc-<token>`. A key given by hand (Graph::add) prints as the name alone.
struct Key {
  std::string name;
  Token token = 0;
  bool by_hand = false;  ///< the name is the whole key

  /// The printed key.
  std::string str() const;
  friend bool operator==(const Key& a, const Key& b) { return a.token == b.token; }
};

/// Hints and constraints for one task. All optional.
struct TaskOptions {
  std::string name{};  ///< readable part of the key; default: the function's name
  double cost = -1;    ///< expected seconds of work; < 0: unknown (the cost model's default)
  double bytes = -1;   ///< expected size of the result in bytes; < 0: the type's size hint
  int owner = -1;      ///< pin the task to this rank (owner-computes); -1: let the plan choose
  bool pure = true;    ///< false: never share this call with an equal one (side effects)
  /// Every rank runs this task together, as one SPMD call (an MPI collective, ScaLAPACK):
  /// its body may use rask::collective_comm() (execute.hpp). It sees only the inputs on
  /// its own rank (Inputs::has), and its value is one piece per rank: a consumer reads
  /// the piece of the rank it runs on. Not with `owner`. See docs/design.md.
  bool collective = false;
};

class Graph;
namespace detail {
class Executor;
}

/// What a task body sees: its inputs, in the order of its dependencies.
class Inputs {
 public:
  /// How many inputs the task has.
  std::size_t size() const noexcept { return deps_.size(); }
  /// Input i as a T; throws TypeError naming the task, the input key and both types.
  /// Throws GraphError when the task has no input i.
  template <class T>
  const T& get(std::size_t i) const {
    if (i >= deps_.size()) range_error(i);
    if (!present_ || present_[i])
      if (const T* p = values_[deps_[i]].template try_get<T>()) return *p;
    type_error(i, typeid(T));
  }
  /// Whether input i is on this rank: always, except for a collective task's inputs
  /// made on other ranks (a collective task is not sent values; it exchanges what it
  /// needs over its communicator).
  bool has(std::size_t i) const {
    if (i >= deps_.size()) range_error(i);
    return (!present_ || present_[i]) && values_[deps_[i]].has_value();
  }
  /// Input i; an empty Value when it is not on this rank (see has).
  const Value& operator[](std::size_t i) const {
    if (i >= deps_.size()) range_error(i);
    return !present_ || present_[i] ? values_[deps_[i]] : absent();
  }

 private:
  // Only the executor hands a task its inputs (as Taskflow's Task(Node*) is its graph's).
  friend class detail::Executor;
  Inputs(const Value* values, std::span<const TaskId> deps, const Graph& graph, TaskId task)
      : values_(values), deps_(deps), graph_(graph), task_(task) {}
  // A collective task's view: input i is visible only when present[i] is nonzero.
  Inputs(const Value* values, std::span<const TaskId> deps, const Graph& graph, TaskId task,
         const std::uint8_t* present)
      : values_(values), deps_(deps), graph_(graph), task_(task), present_(present) {}

  [[noreturn]] void type_error(std::size_t i, const std::type_info& wanted) const;
  [[noreturn]] void range_error(std::size_t i) const;
  static const Value& absent();
  const Value* values_;
  std::span<const TaskId> deps_;
  const Graph& graph_;
  TaskId task_;
  const std::uint8_t* present_ = nullptr;
};

/// The work of one task: reads its inputs, returns its value.
using TaskBody = std::function<Value(const Inputs&)>;

/// One task of a graph.
struct Task {
  Key key;
  std::vector<TaskId> deps;                  ///< in argument order; a task named twice is there twice
  std::shared_ptr<const TaskBody> body;      ///< shared: equal calls share one body
  const Codec* codec = nullptr;              ///< how its value crosses ranks
  double cost = -1;                          ///< seconds, < 0 unknown
  double bytes = -1;                         ///< result size, < 0 unknown
  int owner = -1;                            ///< pinned rank or -1
  bool collective = false;                   ///< run by every rank together
};

/// A task graph. Keys are unique: adding a task whose key exists returns the existing
/// task (a shared intermediate is computed once). Not thread-safe; local.
class Graph {
 public:
  /// Adds a task computing a T by hand, Dask-dict style: `deps` are keys, and may name
  /// tasks added later (checked by `finalize`). `body` gets the dependencies' values:
  ///
  ///     g.add<int>("total", {"a", "b"}, [](const rask::Inputs& in) {
  ///       return in.get<int>(0) + in.get<int>(1); });
  template <class T, class F>
  TaskId add(const std::string& key, std::vector<std::string> deps, F&& body, TaskOptions options = {}) {
    auto wrapped = std::make_shared<const TaskBody>(
        [f = std::forward<F>(body)](const Inputs& in) { return Value(T(f(in))); });
    return add_by_hand(key, std::move(deps), std::move(wrapped), codec_for<T>(), options);
  }

  /// Adds a task whose dependencies are already in the graph (used by rask::delayed).
  /// Returns the existing task when the key is taken.
  TaskId add_task(Key key, std::vector<TaskId> deps, std::shared_ptr<const TaskBody> body,
                  const Codec* codec, const TaskOptions& options);

  /// Resolves dependencies given by key; throws GraphError naming a task whose
  /// dependency is missing. Idempotent.
  void finalize();

  /// Tasks in the graph, and each by its id (ids are positions, in the order added).
  std::size_t size() const noexcept { return tasks_.size(); }
  const Task& task(TaskId id) const { return tasks_[id]; }
  std::span<const Task> tasks() const noexcept { return tasks_; }
  /// The task with this printed key, if any.
  std::optional<TaskId> find(std::string_view key) const;
  /// The task with this token, if any.
  std::optional<TaskId> find(Token token) const { return index_.find(token); }
  /// Like find, but throws GraphError naming the key when it is absent.
  TaskId at(std::string_view key) const;

  /// The tasks `outputs` need, dependencies first, in depth-first post-order from the
  /// outputs (tasks feeding the same consumer stay adjacent, as in dask.order). Tasks
  /// no output needs are left out: this is culling. Throws GraphError on a cycle,
  /// naming the keys around it.
  std::vector<TaskId> order(std::span<const TaskId> outputs) const;

  /// A new graph holding only the tasks `outputs` need, in `order(outputs)`.
  Graph cull(std::span<const TaskId> outputs) const;

 private:
  TaskId add_by_hand(const std::string& key, std::vector<std::string> deps,
                     std::shared_ptr<const TaskBody> body, const Codec* codec, const TaskOptions& options);

  std::vector<Task> tasks_;
  detail::TokenIndex index_;
  // Dependencies named by key, resolved by finalize(): (task, dep key).
  std::vector<std::pair<TaskId, std::string>> unresolved_;
};

}  // namespace rask

namespace rask {

class Plan;

/// Graphviz DOT of the tasks `plan` runs, drawn as Dask's visualize draws a graph: a
/// circle per function call labelled with its name, a box per value labelled with its
/// key, edges call → value → consumer; each node filled with its owner rank's colour.
/// Local: no MPI.
std::string to_dot(const Graph& graph, const Plan& plan);

/// Writes to_dot(graph, plan) to `path`: a `.dot` path as text; `.svg`, `.png` or `.pdf`
/// rendered by Graphviz's `dot` program. Written under a temporary name and renamed
/// when complete. Local: any one rank may call it. Throws a local InputError when the
/// file cannot be written or `dot` is not installed (Delayed::visualize shares it with
/// every rank).
void visualize(const Graph& graph, const Plan& plan, const std::string& path);

}  // namespace rask
