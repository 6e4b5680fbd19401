#include "rask/token.hpp"

#include <atomic>

namespace rask {

Token token_bytes(const void* data, std::size_t size, Token seed) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  Token h = token_combine(seed, size);
  std::size_t word_idx = 0;
  for (; word_idx + 8 <= size; word_idx += 8) {
    std::uint64_t word;
    std::memcpy(&word, p + word_idx, 8);
    h = token_combine(h, word);
  }
  if (word_idx < size) {
    std::uint64_t tail = 0;
    std::memcpy(&tail, p + word_idx, size - word_idx);
    h = token_combine(h, tail ^ (0xffull << 56));
  }
  return h;
}

Token token_sequence() noexcept {
  // Ranks of an SPMD program create their calls in the same order, so the n-th call
  // gets the same token everywhere.
  static std::atomic<std::uint64_t> counter{0};
  return token_combine(0x5e9, counter.fetch_add(1, std::memory_order_relaxed));
}

}  // namespace rask
