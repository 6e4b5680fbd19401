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
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <unordered_map>
#include <utility>
#include <vector>

#include "rask/graph.hpp"
#include "rask/plan.hpp"
#include "rask/runtime.hpp"
#include "rask/token.hpp"
#include "rask/value.hpp"

namespace rask {

template <class T>
class Delayed;

namespace detail {

/// One lazy call: what the graph gets when a Delayed is computed. Immutable, shared
/// between every Delayed that depends on it, so a graph is a DAG of these.
struct Node {
  Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  /// Frees a chain of nodes iteratively: a chain of a million Delayed values must not
  /// recurse a million deep when its last handle goes.
  ~Node();
  Key key;
  std::vector<std::shared_ptr<const Node>> deps;
  TaskBody body;  // the graph's task shares it through the node (no allocation of its own)
  const Codec* codec = nullptr;
  double cost = -1, bytes = -1;
  int owner = -1;
};
using NodePtr = std::shared_ptr<const Node>;

/// A callable's readable name and a token stable across ranks of one binary.
struct FunctionId {
  std::string name;
  Token token;
};
/// For a function pointer: its symbol name (programs linked with -rdynamic, as
/// rask_program() does) and its offset in its module, which ASLR does not change.
FunctionId function_id(const void* address);
/// For a function object: its type. Closures with state mix in their bytes.
FunctionId type_function_id(const std::type_info& type);

/// Builds the graph of `outputs` (shared nodes once) and returns the outputs' ids.
std::vector<TaskId> build_graph(std::span<const NodePtr> outputs, Graph& graph);
/// Collective: builds, plans and runs the graph of `outputs`.
std::vector<Value> compute_nodes(std::span<const NodePtr> outputs, Where where);
/// Local: the plan of `outputs` on this job's ranks.
Plan plan_nodes(std::span<const NodePtr> outputs, Where where, Graph& graph);
/// Collective: rank 0 writes the DOT picture of `outputs`; its failure reaches every rank.
void visualize_nodes(std::span<const NodePtr> outputs, const std::string& path);

template <class T>
struct is_delayed : std::false_type {};
template <class T>
struct is_delayed<Delayed<T>> : std::true_type {};
template <class T>
inline constexpr bool is_delayed_v = is_delayed<std::decay_t<T>>::value;

template <class T>
struct is_delayed_vector : std::false_type {};
template <class T>
struct is_delayed_vector<std::vector<Delayed<T>>> : std::true_type {};

/// Collects a call's distinct dependencies; an argument refers to them by slot.
class DepCollector {
 public:
  std::uint32_t slot(const NodePtr& node) {
    const Token token = node->key.token;
    if (index_.empty()) {  // few dependencies: a scan beats hashing
      for (std::uint32_t slot_idx = 0; slot_idx < deps_.size(); ++slot_idx)
        if (deps_[slot_idx]->key.token == token) return slot_idx;
    } else if (auto it = index_.find(token); it != index_.end()) {
      return it->second;
    }
    const auto new_slot = static_cast<std::uint32_t>(deps_.size());
    deps_.push_back(node);
    if (!index_.empty()) {
      index_.emplace(token, new_slot);
    } else if (deps_.size() == kScanLimit) {
      for (std::uint32_t slot_idx = 0; slot_idx < deps_.size(); ++slot_idx)
        index_.emplace(deps_[slot_idx]->key.token, slot_idx);
    }
    return new_slot;
  }
  std::vector<NodePtr> take() { return std::move(deps_); }

 private:
  static constexpr std::size_t kScanLimit = 16;
  std::vector<NodePtr> deps_;
  std::unordered_map<Token, std::uint32_t> index_;
};

/// How one argument reaches the function: a captured plain value...
template <class A>
struct ArgSlot {
  A value;
  ArgSlot(A v, DepCollector&) : value(std::move(v)) {}
  Token token() const { return tokenize(value); }
  const A& get(const Inputs&) const { return value; }
};
/// ...the value of a Delayed...
template <class T>
struct ArgSlot<Delayed<T>> {
  std::uint32_t slot;
  Token tok;
  ArgSlot(const Delayed<T>& d, DepCollector& deps) : slot(deps.slot(d.node())), tok(d.node()->key.token) {}
  Token token() const { return tok; }
  const T& get(const Inputs& in) const { return in.get<T>(slot); }
};
/// ...or the values of a vector of Delayed, as a std::vector.
template <class T>
struct ArgSlot<std::vector<Delayed<T>>> {
  std::vector<std::uint32_t> slots;
  Token tok;
  ArgSlot(const std::vector<Delayed<T>>& ds, DepCollector& deps) : tok(token_combine(0xdec, ds.size())) {
    slots.reserve(ds.size());
    for (const auto& d : ds) {
      slots.push_back(deps.slot(d.node()));
      tok = token_combine(tok, d.node()->key.token);
    }
  }
  Token token() const { return tok; }
  std::vector<T> get(const Inputs& in) const {
    std::vector<T> values;
    values.reserve(slots.size());
    for (auto slot : slots) values.push_back(in.get<T>(slot));
    return values;
  }
};

template <class A>
using arg_t = decltype(std::declval<const ArgSlot<std::decay_t<A>>&>().get(std::declval<const Inputs&>()));

template <class F>
struct is_std_function : std::false_type {};
template <class R, class... A>
struct is_std_function<std::function<R(A...)>> : std::true_type {
  using pointer = R (*)(A...);
};

template <class F>
FunctionId callable_id(const F& f) {
  if constexpr (std::is_pointer_v<F> && std::is_function_v<std::remove_pointer_t<F>>) {
    return function_id(reinterpret_cast<const void*>(f));
  } else if constexpr (std::is_empty_v<F>) {
    return type_function_id(typeid(F));
  } else if constexpr (is_std_function<F>::value) {
    // A std::function wrapping a plain function is that function.
    using Pointer = typename is_std_function<F>::pointer;
    if (const Pointer* target = f.template target<Pointer>()) return function_id(reinterpret_cast<const void*>(*target));
    FunctionId id = type_function_id(f ? f.target_type() : typeid(F));
    id.token = token_sequence();
    return id;
  } else {
    // A closure's state: its bytes may hold addresses (a captured reference or
    // pointer) or padding, which differ between ranks. The n-th stateful callable made
    // lazy is the same on every rank, so it takes a sequence token: calls through the
    // same wrapper with equal arguments are still shared.
    FunctionId id = type_function_id(typeid(F));
    id.token = token_sequence();
    return id;
  }
}

}  // namespace detail

/// A lazy value of type T: the result of a delayed call. Cheap to copy (shares its node).
template <class T>
class Delayed {
 public:
  using value_type = T;
  explicit Delayed(detail::NodePtr node) : node_(std::move(node)) {}

  /// The task key, e.g. "inc-3f9a0c2b7d1e4a55".
  std::string key() const { return node_->key.str(); }
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
  detail::NodePtr node_;
};

template <class T>
struct Tokenizer<Delayed<T>> {
  static Token token(const Delayed<T>& d) noexcept { return d.node()->key.token; }
};

/// A function made lazy: calling it returns a Delayed instead of running.
template <class F>
class DelayedFunction {
 public:
  DelayedFunction(F f, TaskOptions options) : f_(std::move(f)), options_(std::move(options)) {
    id_ = detail::callable_id(f_);
    if (!options_.name.empty()) id_.name = options_.name;
  }

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

namespace detail {
template <class... Ts, std::size_t... Is>
std::tuple<std::optional<Ts>...> take_tuple(std::vector<Value>& values, std::index_sequence<Is...>) {
  return std::tuple<std::optional<Ts>...>{values[Is].template take<Ts>()...};
}
template <class... Ts>
std::tuple<std::optional<Ts>...> compute_tuple(Where where, const Delayed<Ts>&... ds) {
  std::vector<NodePtr> nodes{ds.node()...};
  auto values = compute_nodes(nodes, where);
  if (values.empty()) return {};
  return take_tuple<Ts...>(values, std::index_sequence_for<Ts...>{});
}
}  // namespace detail

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
