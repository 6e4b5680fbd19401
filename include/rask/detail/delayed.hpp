#pragma once
// The machinery behind rask::delayed (include/rask/delayed.hpp): the node a lazy call
// leaves in its graph, how a callable is named and tokenized the same on every rank, and
// how each argument reaches the function. Not for programs to use directly.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <unordered_map>
#include <utility>
#include <vector>

#include "rask/graph.hpp"
#include "rask/plan.hpp"
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


/// The values of one compute, taken as the types asked for.
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

}  // namespace rask
