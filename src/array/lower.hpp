#pragma once
// Lowering: an array expression becomes the core's chunk tasks, identically on every
// rank (no messages), each pinned to its chunk's rank on the block-cyclic grid.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "array/node.hpp"
#include "rask/graph.hpp"

namespace rask::detail {

/// Which vectors each ScaLAPACK SVD must make, (u, v) by its input's token: one
/// collective task serves every part of an SVD a compute reaches, and computes no vector
/// nobody asked for.
using SvdWants = std::unordered_map<Token, std::pair<bool, bool>>;

/// Local: scans `outputs` for the ScaLAPACK SVD parts they reach. Every rank calls it
/// with the same outputs and gets the same answer.
SvdWants scan_svd_wants(const std::vector<ArrayNodePtr>& outputs);

class Lowering {
 public:
  /// `svd_wants`: from scan_svd_wants over the outputs; without it (visualize), each
  /// ScaLAPACK SVD makes the vectors of the part being lowered.
  Lowering(Graph& graph, int nranks, SvdWants svd_wants = {});
  /// Whether some output of this compute wants u and v of the ScaLAPACK SVD of the
  /// array with token `x`; without a scan, what `part` itself is.
  std::pair<bool, bool> svd_wants(Token x, const ArrayNode& part) const;

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

  /// What lowering computes in place of the product `n` (an equal array that costs less:
  /// see dot.cpp), or null when `n` is lowered as it is.
  ArrayNodePtr rewritten(const ArrayNodePtr& n);

  int owner(const ArrayNode& n, std::int64_t bi, std::int64_t bj) const { return chunk_owner(n, bi, bj, nranks_); }
  int nranks() const noexcept { return nranks_; }
  Graph& graph() noexcept { return graph_; }

 private:
  TaskId fused(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj);
  TaskId reduce(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj);
  std::optional<TaskId> linear_sum(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj);
  TaskId dot(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj);
  TaskId product(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj, int at);
  TaskId gram(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj);
  bool gram_multiplies(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj);
  TaskId random(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj);
  TaskId rechunk(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj);
  TaskId slice(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj);
  TaskId persisted(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj);
  TaskId literal(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj);

  Graph& graph_;
  int nranks_;
  SvdWants svd_wants_;
  std::unordered_map<Token, ArrayNodePtr> rewrites_;      // by product token; null: none
  std::unordered_map<Token, std::vector<std::uint8_t>> gram_multiplied_;  // by product token, per chunk
};

/// Whether `n` is a.dot(a.T) or a.T.dot(a): symmetric positive semi-definite (dot.cpp).
bool is_gram_product(const ArrayNode& n);

/// Token of chunk (bi, bj) of a node in a given role.
Token chunk_token(const ArrayNode& n, std::int64_t bi, std::int64_t bj, std::uint64_t role = 0);

/// Implemented by src/random: the values of an Op::random node, element (r, c) from
/// Philox4x64 at counter (flat index / 4, or / 2 for normals) under key (seed, kind).
struct RandomFill {
  RandomKind kind;
  std::uint64_t seed;
  double p0, p1;
  std::int64_t width;  // the whole array's columns: flat index = r * width + c
  explicit RandomFill(const ArrayNode& n);
  /// Writes rows [row0, row0 + rows) x columns [col0, col0 + cols), row-major, to dst.
  void operator()(std::int64_t row0, std::int64_t col0, std::int64_t rows, std::int64_t cols, double* dst) const;
};

/// Implemented by src/io/array_hdf5.cpp: the task reading chunk (bi, bj) of an Op::hdf5 node.
TaskId lower_hdf5_chunk(Lowering& lowering, const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj);
/// Implemented by src/linalg: the task making chunk (bi, bj) of a TSQR part
/// (LinalgMethod::tsqr).
TaskId lower_tsqr_chunk(Lowering& lowering, const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj);
/// Implemented by src/linalg/scalapack.cpp: chunk (bi, bj) of a ScaLAPACK SVD part
/// (LinalgMethod::scalapack), cut from the collective PDGESVD task's pieces.
TaskId lower_scalapack_chunk(Lowering& lowering, const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj);

/// This rank's persisted chunks, by (persist id, bi, bj). Thread-safe.
void store_put(std::uint64_t id, std::int64_t bi, std::int64_t bj, std::shared_ptr<const Block> block);
std::shared_ptr<const Block> store_get(std::uint64_t id, std::int64_t bi, std::int64_t bj);
/// A handle to a live persisted array by id (for deserialized expressions), or null.
std::shared_ptr<PersistHandle> persist_handle(std::uint64_t id);
/// The handle of a newly persisted array, which frees its chunks when the last goes.
std::shared_ptr<PersistHandle> new_persist_handle(std::uint64_t id);

/// Collective: computes every chunk of `arrays` where it lives and keeps it in this
/// rank's store under a fresh id each; returns the persisted nodes.
std::vector<ArrayNodePtr> persist_nodes(const std::vector<ArrayNodePtr>& arrays);

/// Limits BLAS to one thread: rask's own threads run the chunk tasks in parallel.
void single_threaded_blas();

/// OpenBLAS may use `threads` threads for this scope, then one again: for a collective
/// body, whose inputs are all made, so that this rank's other threads are mostly idle.
class BlasThreads {
 public:
  explicit BlasThreads(int threads);
  ~BlasThreads();
  BlasThreads(const BlasThreads&) = delete;
  BlasThreads& operator=(const BlasThreads&) = delete;
};

}  // namespace rask::detail
