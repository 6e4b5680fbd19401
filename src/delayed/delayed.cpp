#include "rask/delayed.hpp"

#include <cxxabi.h>
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

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

// The name of the function at `offset` in the ELF file `path`, from its full symbol
// table (.symtab), which also lists `static` functions and functions of a program not
// linked with -rdynamic, both invisible to dladdr. Empty when the file is stripped.
std::string symtab_name(const char* path, std::uint64_t offset, std::uint64_t base) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  struct stat st {};
  void* map = fstat(fd, &st) == 0 && st.st_size > static_cast<off_t>(sizeof(Elf64_Ehdr))
                  ? mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0)
                  : MAP_FAILED;
  close(fd);
  if (map == MAP_FAILED) return {};
  const std::uint64_t load_base = base;
  const auto* image = static_cast<const unsigned char*>(map);
  const auto size = static_cast<std::size_t>(st.st_size);
  std::string name;
  const auto* ehdr = reinterpret_cast<const Elf64_Ehdr*>(image);
  const bool elf64 = std::memcmp(ehdr->e_ident, ELFMAG, SELFMAG) == 0 && ehdr->e_ident[EI_CLASS] == ELFCLASS64;
  if (elf64 && ehdr->e_shoff + std::size_t{ehdr->e_shnum} * sizeof(Elf64_Shdr) <= size) {
    const auto* sections = reinterpret_cast<const Elf64_Shdr*>(image + ehdr->e_shoff);
    // A position-independent file's symbols are offsets from where it is loaded; a
    // fixed-address executable's are addresses.
    if (ehdr->e_type == ET_EXEC) offset += load_base;
    for (unsigned s_idx = 0; s_idx < ehdr->e_shnum && name.empty(); ++s_idx) {
      const Elf64_Shdr& symtab = sections[s_idx];
      if (symtab.sh_type != SHT_SYMTAB || symtab.sh_link >= ehdr->e_shnum) continue;
      const Elf64_Shdr& strtab = sections[symtab.sh_link];
      if (symtab.sh_offset + symtab.sh_size > size || strtab.sh_offset + strtab.sh_size > size) break;
      const auto* symbols = reinterpret_cast<const Elf64_Sym*>(image + symtab.sh_offset);
      for (std::size_t sym_idx = 0; sym_idx < symtab.sh_size / sizeof(Elf64_Sym); ++sym_idx) {
        const Elf64_Sym& sym = symbols[sym_idx];
        if (ELF64_ST_TYPE(sym.st_info) != STT_FUNC || offset < sym.st_value || offset >= sym.st_value + sym.st_size ||
            sym.st_name >= strtab.sh_size)
          continue;
        const char* raw = reinterpret_cast<const char*>(image + strtab.sh_offset + sym.st_name);
        name.assign(raw, strnlen(raw, strtab.sh_size - sym.st_name));
        break;
      }
    }
  }
  munmap(map, size);
  return name;
}

std::string demangled_short_name(const char* symbol) {
  int status = 0;
  char* demangled = abi::__cxa_demangle(symbol, nullptr, nullptr, &status);
  std::string name = short_name(status == 0 && demangled ? demangled : symbol);
  std::free(demangled);
  return name;
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
      id.name = demangled_short_name(info.dli_sname);
    } else if (std::string local = symtab_name(module, offset, reinterpret_cast<std::uint64_t>(info.dli_fbase));
               !local.empty() ||
               // The program itself, named relative to a directory it has since left.
               (module[0] != '/' &&
                !(local = symtab_name("/proc/self/exe", offset, reinterpret_cast<std::uint64_t>(info.dli_fbase)))
                     .empty())) {
      id.name = demangled_short_name(local.c_str());
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
