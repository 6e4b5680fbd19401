#pragma once
/// The delayed API: lazy function calls that build a task graph, as dask.delayed does.
///
///     int inc(int x) { return x + 1; }
///     int add(int x, int y) { return x + y; }
///
///     auto x = rask::delayed(inc)(1);        // nothing runs yet
///     auto y = rask::delayed(inc)(2);
///     auto z = rask::delayed(add)(x, y);     // Delayed<int>, key "add-<token>"
///     std::optional<int> v = z.compute();    // collective; the value on rank 0
///
/// Arguments may be plain values, Delayed values, or std::vector of Delayed values
/// (the function then receives a std::vector of their values, as `delayed(sum)(results)`).
/// Calls are pure by default: two equal calls (same function, equal arguments) have the
/// same key and run once. Every rank must build the same graph (SPMD). A task's result
/// type must be copy-constructible (one value may feed several consumers); to cross
/// ranks it needs a rask::Serializer (see serialize.hpp). A task must not call compute.
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "rask/detail/delayed.hpp"
#include "rask/graph.hpp"
#include "rask/plan.hpp"
#include "rask/runtime.hpp"
#include "rask/token.hpp"
#include "rask/value.hpp"

namespace rask {

/// A lazy value of type T: the result of a delayed call. Cheap to copy (shares its node).
template <class T>
class Delayed {
 public:
  using value_type = T;

  /// The task key, e.g. "inc-3f9a0c2b7d1e4a55".
  std::string key() const { return node_->key.str(); }
  /// The lazy call behind this value, as the graph builder reads it (detail/delayed.hpp).
  const detail::NodePtr& node() const noexcept { return node_; }

  /// Collective: runs the graph this value needs. The value on rank 0 (every rank with
  /// Where::all); std::nullopt elsewhere.
  std::optional<T> compute(Where where = Where::root) const {
    auto values = detail::compute_nodes(std::span<const detail::NodePtr>(&node_, 1), where);
    if (values.empty()) return std::nullopt;
    return values[0].template take<T>();
  }
  /// Collective: writes a picture of the graph, coloured by owner rank (see
  /// rask::visualize). Rank 0 writes; a failure (no Graphviz, a bad path) is thrown on
  /// every rank.
  void visualize(const std::string& path) const {
    detail::visualize_nodes(std::span<const detail::NodePtr>(&node_, 1), path);
  }
  /// Local: the plan compute would follow (print it with Plan::print).
  Plan plan(Where where = Where::root) const {
    Graph graph;
    return detail::plan_nodes(std::span<const detail::NodePtr>(&node_, 1), where, graph);
  }

 private:
  // Only a delayed call makes a Delayed (as Taskflow's Task(Node*) is its builder's).
  template <class F>
  friend class DelayedFunction;
  explicit Delayed(detail::NodePtr node) : node_(std::move(node)) {}

  detail::NodePtr node_;
};

/// A Delayed argument's token is its key's: equal lazy values make equal calls.
template <class T>
struct Tokenizer<Delayed<T>> {
  static Token token(const Delayed<T>& d) noexcept { return d.node()->key.token; }
};

/// A function made lazy: calling it returns a Delayed instead of running.
template <class F>
class DelayedFunction {
 public:
  /// `f` made lazy with `options` (rask::delayed makes one).
  DelayedFunction(F f, TaskOptions options) : f_(std::move(f)), options_(std::move(options)) {
    id_ = detail::callable_id(f_);
    if (!options_.name.empty()) id_.name = options_.name;
  }

  /// Local: records the call and returns its lazy result; nothing runs.
  template <class... Args>
  auto operator()(Args&&... args) const {
    using R = std::decay_t<std::invoke_result_t<const F&, detail::arg_t<Args>...>>;
    static_assert(!std::is_void_v<R>, "rask::delayed: a task must return a value");
    static_assert(!detail::is_delayed_v<R>, "rask::delayed: a task must not return a Delayed");
    detail::DepCollector deps;
    auto slots = std::make_tuple(detail::ArgSlot<std::decay_t<Args>>(std::forward<Args>(args), deps)...);

    auto node = std::make_shared<detail::Node>();
    Token token = options_.pure ? id_.token : token_combine(id_.token, token_sequence());
    std::apply([&](const auto&... slot) { ((token = token_combine(token, slot.token())), ...); }, slots);
    node->key = Key{id_.name, token, false};
    node->deps = deps.take();
    node->body = [f = f_, slots = std::move(slots)](const Inputs& in) -> Value {
      return std::apply([&](const auto&... slot) { return Value(R(std::invoke(f, slot.get(in)...))); }, slots);
    };
    node->codec = codec_for<R>();
    node->cost = options_.cost;
    node->bytes = options_.bytes;
    node->owner = options_.owner;
    return Delayed<R>(std::move(node));
  }

 private:
  F f_;
  TaskOptions options_;
  detail::FunctionId id_;
};

/// Makes `f` lazy. Options give the key's name, cost and size hints, a pinned owner,
/// or `pure = false` for calls that must never be shared:
///
///     auto slow_inc = rask::delayed(inc, {.name = "inc", .cost = 1.0});
template <class F>
DelayedFunction<std::decay_t<F>> delayed(F&& f, TaskOptions options = {}) {
  return DelayedFunction<std::decay_t<F>>(std::forward<F>(f), std::move(options));
}

/// A Delayed holding a plain value (dask's delayed(value)).
template <class T>
Delayed<std::decay_t<T>> delayed_value(T&& value, const std::string& name = "literal") {
  using V = std::decay_t<T>;
  return delayed([](const V& v) { return v; }, {.name = name})(std::forward<T>(value));
}

/// Collective: computes several values in one graph, sharing their intermediates.
/// Values on rank 0; std::nullopt elsewhere.
template <class... Ts>
std::tuple<std::optional<Ts>...> compute(const Delayed<Ts>&... ds) {
  return detail::compute_tuple(Where::root, ds...);
}
/// Collective: as compute(ds...), with the values where `where` says.
template <class... Ts>
std::tuple<std::optional<Ts>...> compute(Where where, const Delayed<Ts>&... ds) {
  return detail::compute_tuple(where, ds...);
}
/// Collective: computes a list of values in one graph (dask.compute(*values)).
template <class T>
std::optional<std::vector<T>> compute(const std::vector<Delayed<T>>& ds, Where where = Where::root) {
  std::vector<detail::NodePtr> nodes;
  nodes.reserve(ds.size());
  for (const auto& d : ds) nodes.push_back(d.node());
  auto values = detail::compute_nodes(nodes, where);
  if (values.empty() && !ds.empty()) return std::nullopt;
  std::vector<T> out;
  out.reserve(values.size());
  for (auto& v : values) out.push_back(v.template take<T>());
  return out;
}

/// Local: the plan compute(ds) would follow.
template <class T>
Plan plan(const std::vector<Delayed<T>>& ds, Where where = Where::root) {
  std::vector<detail::NodePtr> nodes;
  nodes.reserve(ds.size());
  for (const auto& d : ds) nodes.push_back(d.node());
  Graph graph;
  return detail::plan_nodes(nodes, where, graph);
}

/// Collective: writes the picture of several values' shared graph; rank 0 writes, and a
/// failure is thrown on every rank.
template <class... Ts>
void visualize(const std::string& path, const Delayed<Ts>&... ds) {
  std::vector<detail::NodePtr> nodes{ds.node()...};
  detail::visualize_nodes(nodes, path);
}

// Arithmetic on Delayed values builds tasks named as Dask names them.
namespace detail {
template <class A, class B>
concept DelayedOperands = is_delayed_v<A> || is_delayed_v<B>;
template <class Op>
auto delayed_op(const char* name) {
  return delayed(Op{}, {.name = name});
}
}  // namespace detail

template <class A, class B>
  requires detail::DelayedOperands<A, B>
auto operator+(const A& a, const B& b) {
  return detail::delayed_op<std::plus<>>("add")(a, b);
}
template <class A, class B>
  requires detail::DelayedOperands<A, B>
auto operator-(const A& a, const B& b) {
  return detail::delayed_op<std::minus<>>("sub")(a, b);
}
template <class A, class B>
  requires detail::DelayedOperands<A, B>
auto operator*(const A& a, const B& b) {
  return detail::delayed_op<std::multiplies<>>("mul")(a, b);
}
template <class A, class B>
  requires detail::DelayedOperands<A, B>
auto operator/(const A& a, const B& b) {
  return detail::delayed_op<std::divides<>>("truediv")(a, b);
}
template <class A, class B>
  requires detail::DelayedOperands<A, B>
auto operator%(const A& a, const B& b) {
  return detail::delayed_op<std::modulus<>>("mod")(a, b);
}
template <class T>
auto operator-(const Delayed<T>& a) {
  return detail::delayed_op<std::negate<>>("neg")(a);
}

}  // namespace rask
