#include "job/expression.hpp"

#include <map>
#include <stdexcept>

namespace rask::job {
namespace {

std::map<std::string, LowerExpression, std::less<>>& expressions() {
  static std::map<std::string, LowerExpression, std::less<>> table;
  return table;
}

std::map<std::string, CollectiveCall, std::less<>>& collectives() {
  static std::map<std::string, CollectiveCall, std::less<>> table;
  return table;
}

}  // namespace

void register_expression(std::string kind, LowerExpression lower) { expressions()[std::move(kind)] = std::move(lower); }

const LowerExpression& expression_lowering(std::string_view kind) {
  auto it = expressions().find(kind);
  if (it == expressions().end())
    throw std::runtime_error("no lowering for expression records of kind '" + std::string(kind) + "'");
  return it->second;
}

void register_collective(std::string name, CollectiveCall call) { collectives()[std::move(name)] = std::move(call); }

const CollectiveCall& collective_call(std::string_view name) {
  auto it = collectives().find(name);
  if (it == collectives().end()) throw std::runtime_error("no collective call named '" + std::string(name) + "'");
  return it->second;
}

void register_kinds() {
  register_frame_kinds();
  // One line per collection kind: its registering function, defined beside its bindings.
  register_array_kinds();
}

}  // namespace rask::job
