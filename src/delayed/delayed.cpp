#include "rask/delayed.hpp"

#include <cxxabi.h>
#include <dlfcn.h>

#include <cstring>
#include <mutex>
#include <unordered_map>

namespace rask::detail {

namespace {

// "ns::inc(int)" -> "inc"; "std::plus<void>" -> "plus"; "show[abi:cxx11]" -> "show".
std::string short_name(std::string name) {
  for (auto tag = name.find("[abi:"); tag != std::string::npos; tag = name.find("[abi:"))
    name.erase(tag, name.find(']', tag) - tag + 1);
  if (auto paren = name.find('('); paren != std::string::npos) name.resize(paren);
  int depth = 0;
  std::string flat;
  for (char c : name) {  // drop template arguments
    if (c == '<') ++depth;
    if (depth == 0) flat += c;
    if (c == '>') --depth;
  }
  if (auto colon = flat.rfind("::"); colon != std::string::npos) flat = flat.substr(colon + 2);
  return flat.empty() ? std::string("function") : flat;
}

std::mutex g_ids_mutex;
std::unordered_map<const void*, FunctionId> g_function_ids;
std::unordered_map<const std::type_info*, FunctionId> g_type_ids;

}  // namespace

FunctionId function_id(const void* address) {
  std::lock_guard lock(g_ids_mutex);
  if (auto it = g_function_ids.find(address); it != g_function_ids.end()) return it->second;
  FunctionId id{"function", 0};
  Dl_info info{};
  if (dladdr(address, &info) && info.dli_fbase) {
    // The offset in its module is the same in every process running this binary.
    auto offset = static_cast<std::uint64_t>(static_cast<const char*>(address) -
                                             static_cast<const char*>(info.dli_fbase));
    const char* module = info.dli_fname ? info.dli_fname : "";
    id.token = token_combine(token_bytes(module, std::strlen(module), 0xf17e), offset);
    if (info.dli_sname) {
      int status = 0;
      char* demangled = abi::__cxa_demangle(info.dli_sname, nullptr, nullptr, &status);
      id.name = short_name(status == 0 && demangled ? demangled : info.dli_sname);
      std::free(demangled);
    }
  } else {
    id.token = token_sequence();
  }
  return g_function_ids.emplace(address, id).first->second;
}

FunctionId type_function_id(const std::type_info& type) {
  std::lock_guard lock(g_ids_mutex);
  if (auto it = g_type_ids.find(&type); it != g_type_ids.end()) return it->second;
  const char* mangled = type.name();
  FunctionId id{"", token_bytes(mangled, std::strlen(mangled), 0x7e7e)};
  std::string readable = type_name(type);
  id.name = readable.find("lambda") != std::string::npos ? "lambda" : short_name(readable);
  return g_type_ids.emplace(&type, id).first->second;
}

std::vector<TaskId> build_graph(std::span<const NodePtr> outputs, Graph& graph) {
  struct Frame {
    const NodePtr* node;  // points into the parent's deps or into outputs: alive throughout
    std::size_t next_dep;
  };
  std::vector<Frame> path;
  std::vector<TaskId> deps;
  std::vector<TaskId> output_ids;
  output_ids.reserve(outputs.size());
  for (const NodePtr& output : outputs) {
    if (auto id = graph.find(output->key.token)) {
      output_ids.push_back(*id);
      continue;
    }
    path.push_back({&output, 0});
    while (!path.empty()) {
      Frame& top = path.back();
      const Node& node = **top.node;
      if (top.next_dep < node.deps.size()) {
        const NodePtr& dep = node.deps[top.next_dep++];
        if (!graph.find(dep->key.token)) path.push_back({&dep, 0});
        continue;
      }
      deps.clear();
      for (const NodePtr& dep : node.deps) deps.push_back(*graph.find(dep->key.token));
      // The task's body shares ownership of its node rather than copying the closure.
      graph.add_task(node.key, deps, std::shared_ptr<const TaskBody>(*top.node, &node.body), node.codec,
                     TaskOptions{.name = {}, .cost = node.cost, .bytes = node.bytes, .owner = node.owner});
      path.pop_back();
    }
    output_ids.push_back(*graph.find(output->key.token));
  }
  return output_ids;
}

std::vector<Value> compute_nodes(std::span<const NodePtr> outputs, Where where) {
  Runtime& runtime = Runtime::current();
  Graph graph;
  auto ids = build_graph(outputs, graph);
  return runtime.compute(graph, ids, where);
}

Plan plan_nodes(std::span<const NodePtr> outputs, Where where, Graph& graph) {
  auto ids = build_graph(outputs, graph);
  return Runtime::current().plan(graph, ids, where);
}

void visualize_nodes(std::span<const NodePtr> outputs, const std::string& path) {
  Runtime& runtime = Runtime::current();
  std::string error;
  if (runtime.rank() == 0) {
    try {
      Graph graph;
      Plan plan = plan_nodes(outputs, Where::root, graph);
      visualize(graph, plan, path);
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  // Rank 0 alone wrote: the others must not go on into a compute it will never join.
  error = runtime.broadcast_from_root(error);
  if (!error.empty()) throw InputError(error);
}

Node::~Node() {
  std::vector<NodePtr> pending = std::move(deps);
  while (!pending.empty()) {
    NodePtr node = std::move(pending.back());
    pending.pop_back();
    // The last owner of a node takes over its inputs instead of letting the node's
    // destructor recurse into them.
    if (node.use_count() == 1) {
      auto& inputs = const_cast<Node&>(*node).deps;
      for (auto& input : inputs) pending.push_back(std::move(input));
      inputs.clear();
    }
  }
}

}  // namespace rask::detail
