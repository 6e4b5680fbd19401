#pragma once
// The Graph's index from token to task (include/rask/graph.hpp). Not for programs to use.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "rask/token.hpp"

namespace rask {

using TaskId = std::uint32_t;  // as graph.hpp declares it

namespace detail {
/// Token -> task, by open addressing in one array: no allocation per task, which
/// matters when a graph has millions of tiny tasks. Token 0 marks an empty slot.
class TokenIndex {
 public:
  std::optional<TaskId> find(Token token) const;
  /// Stores (token, id) unless the token is present; returns the stored id and whether
  /// it was inserted.
  std::pair<TaskId, bool> insert(Token token, TaskId id);

 private:
  void grow();
  std::vector<Token> tokens_;
  std::vector<TaskId> ids_;
  std::size_t size_ = 0;
};
}  // namespace detail

}  // namespace rask
