#include "rask/graph.hpp"

#include <cstdio>

#include "rask/error.hpp"

namespace rask {

namespace {
// Hand-written keys live in their own token space, so "a" never meets a delayed key.
constexpr Token kByHandSeed = 0xb1a4d;

Token by_hand_token(std::string_view key) { return token_bytes(key.data(), key.size(), kByHandSeed); }

// Reads "name-<16 hex digits>" back into its token.
std::optional<Token> parse_token(std::string_view key) {
  if (key.size() < 18 || key[key.size() - 17] != '-') return std::nullopt;
  Token token = 0;
  for (char c : key.substr(key.size() - 16)) {
    int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0) return std::nullopt;
    token = token << 4 | static_cast<Token>(digit);
  }
  return token;
}
}  // namespace

namespace detail {

std::optional<TaskId> TokenIndex::find(Token token) const {
  if (tokens_.empty()) return std::nullopt;
  const std::size_t mask = tokens_.size() - 1;
  for (std::size_t slot = token & mask;; slot = (slot + 1) & mask) {
    if (tokens_[slot] == token) return ids_[slot];
    if (tokens_[slot] == 0) return std::nullopt;
  }
}

std::pair<TaskId, bool> TokenIndex::insert(Token token, TaskId id) {
  if (token == 0) throw GraphError("task token 0 is reserved; tokens come from rask::token_* functions");
  if (2 * (size_ + 1) > tokens_.size()) grow();  // at most half full: short probes
  const std::size_t mask = tokens_.size() - 1;
  for (std::size_t slot = token & mask;; slot = (slot + 1) & mask) {
    if (tokens_[slot] == token) return {ids_[slot], false};
    if (tokens_[slot] == 0) {
      tokens_[slot] = token;
      ids_[slot] = id;
      ++size_;
      return {id, true};
    }
  }
}

void TokenIndex::grow() {
  std::vector<Token> old_tokens(std::max<std::size_t>(64, tokens_.size() * 2), 0);
  std::vector<TaskId> old_ids(old_tokens.size());
  old_tokens.swap(tokens_);
  old_ids.swap(ids_);
  size_ = 0;
  for (std::size_t slot = 0; slot < old_tokens.size(); ++slot)
    if (old_tokens[slot] != 0) insert(old_tokens[slot], old_ids[slot]);
}

}  // namespace detail

std::string Key::str() const {
  if (by_hand) return name;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(token));
  return name + "-" + hex;
}

const Value& Inputs::absent() {
  static const Value empty;
  return empty;
}

void Inputs::type_error(std::size_t i, const std::type_info& wanted) const {
  const Task& consumer = graph_.task(task_);
  const Task& input = graph_.task(deps_[i]);
  const Value& v = (*this)[i];
  if (consumer.collective && !v.has_value())
    throw TypeError("collective task '" + consumer.key.str() + "' reads input " + std::to_string(i) + " ('" +
                    input.key.str() + "'), which was made on another rank: a collective task sees only the " +
                    "inputs on its own rank; test Inputs::has(i) and exchange values over rask::collective_comm()");
  throw TypeError("task '" + consumer.key.str() + "' reads input " + std::to_string(i) + " ('" +
                  input.key.str() + "') as " + type_name(wanted) + ", but it holds " +
                  (v.has_value() ? type_name(v.type()) : std::string("no value")));
}

void Inputs::range_error(std::size_t i) const {
  throw GraphError("task '" + graph_.task(task_).key.str() + "' reads input " + std::to_string(i) + ", but it has " +
                   std::to_string(deps_.size()) + " input" + (deps_.size() == 1 ? "" : "s"));
}

TaskId Graph::add_task(Key key, std::vector<TaskId> deps, std::shared_ptr<const TaskBody> body,
                       const Codec* codec, const TaskOptions& options) {
  for (TaskId dep : deps)
    if (dep >= tasks_.size())
      throw GraphError("task '" + key.str() + "' depends on task #" + std::to_string(dep) +
                       ", which is not in the graph");
  if (options.collective && options.owner >= 0)
    throw GraphError("task '" + key.str() + "' is collective (every rank runs it) and also pinned to rank " +
                     std::to_string(options.owner) + "; drop one of TaskOptions::collective and TaskOptions::owner");
  auto [id, inserted] = index_.insert(key.token, static_cast<TaskId>(tasks_.size()));
  if (!inserted) return id;
  Task& task = tasks_.emplace_back();
  task.key = std::move(key);
  task.deps = std::move(deps);
  task.body = std::move(body);
  task.codec = codec;
  task.cost = options.cost;
  task.bytes = options.bytes;
  task.owner = options.owner;
  task.collective = options.collective;
  return id;
}

TaskId Graph::add_by_hand(const std::string& key, std::vector<std::string> deps,
                          std::shared_ptr<const TaskBody> body, const Codec* codec,
                          const TaskOptions& options) {
  if (key.empty()) throw GraphError("a task key must not be empty");
  Token token = by_hand_token(key);
  if (index_.find(token)) throw GraphError("key '" + key + "' is added twice; keys of a graph must be unique");
  TaskId id = add_task(Key{key, token, true}, {}, std::move(body), codec, options);
  for (auto& dep : deps) unresolved_.emplace_back(id, std::move(dep));
  return id;
}

void Graph::finalize() {
  for (auto& [task, dep_key] : unresolved_) {
    auto dep = find(dep_key);
    if (!dep)
      throw GraphError("task '" + tasks_[task].key.str() + "' depends on '" + dep_key +
                       "', which is not in the graph; add it, or fix the dependency's name");
    // A dependency named twice, as Dask's (add, 'a', 'a'), is input 0 and input 1.
    tasks_[task].deps.push_back(*dep);
  }
  unresolved_.clear();
}

std::optional<TaskId> Graph::find(std::string_view key) const {
  if (auto id = index_.find(by_hand_token(key))) return id;
  if (auto token = parse_token(key)) {
    if (auto id = index_.find(*token); id && !tasks_[*id].key.by_hand) return id;
  }
  return std::nullopt;
}

TaskId Graph::at(std::string_view key) const {
  if (auto id = find(key)) return *id;
  throw GraphError("no task has the key '" + std::string(key) + "'");
}

std::vector<TaskId> Graph::order(std::span<const TaskId> outputs) const {
  if (!unresolved_.empty())
    throw GraphError("graph has dependencies given by key that are not resolved yet; call finalize() first");
  enum : std::uint8_t { kUnseen, kOnPath, kDone };
  std::vector<std::uint8_t> state(tasks_.size(), kUnseen);
  std::vector<TaskId> order;
  order.reserve(tasks_.size());
  struct Frame {
    TaskId task;
    std::uint32_t next_dep;
  };
  std::vector<Frame> path;  // explicit stack: a chain of 10^6 tasks must not overflow
  for (TaskId output : outputs) {
    if (output >= tasks_.size()) throw GraphError("output #" + std::to_string(output) + " is not in the graph");
    if (state[output] != kUnseen) continue;
    path.push_back({output, 0});
    state[output] = kOnPath;
    while (!path.empty()) {
      Frame& top = path.back();
      const auto& deps = tasks_[top.task].deps;
      if (top.next_dep < deps.size()) {
        TaskId dep = deps[top.next_dep++];
        if (state[dep] == kUnseen) {
          state[dep] = kOnPath;
          path.push_back({dep, 0});
        } else if (state[dep] == kOnPath) {
          std::string cycle;
          bool in_cycle = false;
          for (const Frame& f : path) {
            in_cycle |= f.task == dep;
            if (in_cycle) cycle.append("'").append(tasks_[f.task].key.str()).append("' -> ");
          }
          cycle.append("'").append(tasks_[dep].key.str()).append("'");
          throw GraphError("dependency cycle: " + cycle +
                           " (each task needs the next); a task graph must be acyclic");
        }
      } else {
        state[top.task] = kDone;
        order.push_back(top.task);
        path.pop_back();
      }
    }
  }
  return order;
}

Graph Graph::cull(std::span<const TaskId> outputs) const {
  auto needed = order(outputs);
  std::vector<TaskId> new_id(tasks_.size(), static_cast<TaskId>(-1));
  Graph culled;
  culled.tasks_.reserve(needed.size());
  for (TaskId old : needed) {
    const Task& t = tasks_[old];
    new_id[old] = static_cast<TaskId>(culled.tasks_.size());
    Task& copy = culled.tasks_.emplace_back(t);
    for (TaskId& dep : copy.deps) dep = new_id[dep];
    culled.index_.insert(t.key.token, new_id[old]);
  }
  return culled;
}

}  // namespace rask
