// Lowering array expressions to chunk tasks: one task per chunk, made by the file that
// holds its operation's kernels (fused.cpp, reduce.cpp, linear_sum.cpp, copy.cpp,
// persist_store.cpp, dot.cpp, src/random, src/io, src/linalg).
#include "array/lower.hpp"

#include <cblas.h>

#include <algorithm>

#include "rask/token.hpp"

namespace rask::detail {

Token chunk_token(const ArrayNode& n, std::int64_t bi, std::int64_t bj, std::uint64_t role) {
  Token t = token_combine(n.token, static_cast<std::uint64_t>(bi));
  t = token_combine(t, static_cast<std::uint64_t>(bj));
  return token_combine(t, role);
}

void single_threaded_blas() { openblas_set_num_threads(1); }

BlasThreads::BlasThreads(int threads) { openblas_set_num_threads(std::max(1, threads)); }
BlasThreads::~BlasThreads() { single_threaded_blas(); }

Lowering::Lowering(Graph& graph, int nranks, SvdWants svd_wants)
    : graph_(graph), nranks_(nranks), svd_wants_(std::move(svd_wants)) {
  single_threaded_blas();
}

std::pair<bool, bool> Lowering::svd_wants(Token x, const ArrayNode& part) const {
  if (auto it = svd_wants_.find(x); it != svd_wants_.end()) return it->second;
  const LinalgPart which = part.as<ops::Linalg>().part;
  return {which == LinalgPart::svd_u, which == LinalgPart::svd_v};
}

TaskId Lowering::add(const std::string& name, Token token, std::vector<TaskId> deps,
                     std::function<Block(const Inputs&)> body, int owner, double cost, double bytes) {
  return add_as<Block>(name, token, std::move(deps), std::move(body), owner, cost, bytes);
}

std::vector<TaskId> Lowering::chunks(const ArrayNodePtr& n) {
  std::vector<TaskId> out;
  for (std::int64_t bi = 0; bi < n->row_blocks(); ++bi)
    for (std::int64_t bj = 0; bj < n->col_blocks(); ++bj) out.push_back(chunk(n, bi, bj));
  return out;
}

TaskId Lowering::chunk(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj) {
  if (auto id = graph_.find(chunk_token(*n, bi, bj))) return *id;
  switch (n->op()) {
    case Op::full:
    case Op::arange:
    case Op::unary:
    case Op::binary:
    case Op::transpose:
      return fused(n, bi, bj);
    case Op::random:
      return random(n, bi, bj);
    case Op::hdf5:
      return lower_hdf5_chunk(*this, n, bi, bj);
    case Op::persisted:
      return persisted(n, bi, bj);
    case Op::dot:
      return dot(n, bi, bj);
    case Op::reduce:
      return reduce(n, bi, bj);
    case Op::rechunk:
      return rechunk(n, bi, bj);
    case Op::slice:
      return slice(n, bi, bj);
    case Op::linalg:
      if (n->as<ops::Linalg>().method == LinalgMethod::scalapack) return lower_scalapack_chunk(*this, n, bi, bj);
      return lower_tsqr_chunk(*this, n, bi, bj);
    case Op::literal:
      return literal(n, bi, bj);
  }
  throw Error("internal: unknown array operation");
}

}  // namespace rask::detail
