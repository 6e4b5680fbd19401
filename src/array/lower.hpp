#pragma once
// Lowering: an array expression becomes the core's chunk tasks, identically on every
// rank (no messages), each pinned to its chunk's rank on the block-cyclic grid.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "array/node.hpp"
#include "rask/graph.hpp"

namespace rask::detail {

/// Results computed before a graph is lowered, by every rank together (ScaLAPACK):
/// expression token -> a persisted array holding the result. Keeps them alive.
struct Prepared {
  std::unordered_map<Token, ArrayNodePtr> results;
};

/// Collective: runs what `outputs` need that must run on every rank at once, before
/// their graph (ScaLAPACK's SVD). Every rank calls it with the same outputs.
std::shared_ptr<Prepared> prepare(const std::vector<ArrayNodePtr>& outputs);

class Lowering {
 public:
  Lowering(Graph& graph, int nranks, std::shared_ptr<const Prepared> prepared = nullptr);
  /// A result prepared before the graph; throws if there is none (an internal error).
  const ArrayNodePtr& prepared(Token token) const;

  /// The task whose value is chunk (bi, bj) of `n` as a Block. Shared chunks (same
  /// expression, same index) are one task.
  TaskId chunk(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj);
  /// Every chunk of `n`, row-major.
  std::vector<TaskId> chunks(const ArrayNodePtr& n);

  /// Adds a task returning a Block, unless one with this token exists. `owner` -1 lets
  /// the plan place it (with its biggest input).
  TaskId add(const std::string& name, Token token, std::vector<TaskId> deps, std::function<Block(const Inputs&)> body,
             int owner, double cost, double bytes);
  /// Adds a task of another serializable type (used by linalg for factor bundles).
  template <class T>
  TaskId add_as(const std::string& name, Token token, std::vector<TaskId> deps, std::function<T(const Inputs&)> body,
                int owner, double cost, double bytes) {
    if (auto id = graph_.find(token)) return *id;
    auto wrapped = std::make_shared<const TaskBody>([f = std::move(body)](const Inputs& in) { return Value(f(in)); });
    return graph_.add_task(Key{name, token}, std::move(deps), std::move(wrapped), codec_for<T>(),
                           TaskOptions{.name = name, .cost = cost, .bytes = bytes, .owner = owner});
  }

  int owner(const ArrayNode& n, std::int64_t bi, std::int64_t bj) const { return chunk_owner(n, bi, bj, nranks_); }
  int nranks() const noexcept { return nranks_; }
  Graph& graph() noexcept { return graph_; }

 private:
  TaskId fused(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj);
  TaskId reduce(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj);
  TaskId dot(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj);
  TaskId random(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj);
  TaskId rechunk(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj);
  TaskId slice(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj);
  TaskId persisted(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj);
  TaskId literal(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj);

  Graph& graph_;
  int nranks_;
  std::shared_ptr<const Prepared> prepared_;
};

/// Token of chunk (bi, bj) of a node in a given role.
Token chunk_token(const ArrayNode& n, std::int64_t bi, std::int64_t bj, std::uint64_t role = 0);

/// Implemented by src/hdf5: the task reading chunk (bi, bj) of an Op::hdf5 node.
TaskId lower_hdf5_chunk(Lowering& lowering, const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj);
/// Implemented by src/linalg: the task making chunk (bi, bj) of an Op::linalg node.
TaskId lower_linalg_chunk(Lowering& lowering, const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj);

/// This rank's persisted chunks, by (persist id, bi, bj). Thread-safe.
void store_put(std::uint64_t id, std::int64_t bi, std::int64_t bj, std::shared_ptr<const Block> block);
std::shared_ptr<const Block> store_get(std::uint64_t id, std::int64_t bi, std::int64_t bj);
/// A handle to a live persisted array by id (for deserialized expressions), or null.
std::shared_ptr<PersistHandle> persist_handle(std::uint64_t id);

/// Collective: computes every chunk of `arrays` where it lives and keeps it in this
/// rank's store under a fresh id each; returns the persisted nodes.
std::vector<ArrayNodePtr> persist_nodes(const std::vector<ArrayNodePtr>& arrays);

/// Limits BLAS to one thread: rask's own threads run the chunk tasks in parallel.
void single_threaded_blas();

}  // namespace rask::detail
