// Persisted chunks: a rank-local store, filled by persist and read by later computes.
#include <limits>
#include <map>
#include <mutex>
#include <unordered_map>

#include "array/lower.hpp"

namespace rask::detail {

namespace {
struct Store {
  std::mutex mutex;
  std::map<std::tuple<std::uint64_t, std::int64_t, std::int64_t>, std::shared_ptr<const Block>> chunks;
  std::unordered_map<std::uint64_t, std::weak_ptr<PersistHandle>> handles;
};
Store& store() {
  static Store s;
  return s;
}
}  // namespace

PersistHandle::~PersistHandle() {
  Store& s = store();
  std::lock_guard lock(s.mutex);
  auto it = s.chunks.lower_bound({id, std::numeric_limits<std::int64_t>::min(), 0});
  while (it != s.chunks.end() && std::get<0>(it->first) == id) it = s.chunks.erase(it);
  s.handles.erase(id);
}

void store_put(std::uint64_t id, std::int64_t bi, std::int64_t bj, std::shared_ptr<const Block> block) {
  Store& s = store();
  std::lock_guard lock(s.mutex);
  s.chunks[{id, bi, bj}] = std::move(block);
}

std::shared_ptr<const Block> store_get(std::uint64_t id, std::int64_t bi, std::int64_t bj) {
  Store& s = store();
  std::lock_guard lock(s.mutex);
  auto it = s.chunks.find({id, bi, bj});
  return it == s.chunks.end() ? nullptr : it->second;
}

std::shared_ptr<PersistHandle> persist_handle(std::uint64_t id) {
  Store& s = store();
  std::lock_guard lock(s.mutex);
  auto it = s.handles.find(id);
  return it == s.handles.end() ? nullptr : it->second.lock();
}

std::shared_ptr<PersistHandle> new_persist_handle(std::uint64_t id) {
  auto handle = std::make_shared<PersistHandle>(id);
  Store& s = store();
  std::lock_guard lock(s.mutex);
  s.handles[id] = handle;
  return handle;
}

TaskId Lowering::persisted(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj) {
  const std::uint64_t id = n->as<ops::Persisted>().id;
  const std::int64_t rows = n->row_chunks[bi], cols = n->col_chunks[bj];
  return add(
      "persisted", chunk_token(*n, bi, bj), {},
      [id, bi, bj](const Inputs&) {
        auto block = store_get(id, bi, bj);
        if (!block)
          throw Error("persisted chunk (" + std::to_string(bi) + ", " + std::to_string(bj) +
                      ") is not on this rank: persist and compute must run with the same ranks");
        return *block;
      },
      owner(*n, bi, bj), static_cast<double>(rows * cols) * 2e-10, 8.0 * rows * cols);
}

}  // namespace rask::detail
