#pragma once
/// Tokens: 64-bit fingerprints of functions and arguments, the second half of a task key
/// (`inc-3f9a0c2b7d1e4a55`). Equal calls get equal tokens, so a shared intermediate is
/// computed once; tokens depend only on values, never on addresses, so every rank of
/// an SPMD program derives the same keys without talking.
#include <array>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace rask {

/// A 64-bit fingerprint. 0 is never produced by the functions below.
using Token = std::uint64_t;

/// A bijective 64-bit mixer (MurmurHash3's finalizer).
inline std::uint64_t token_mix(std::uint64_t x) noexcept {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

/// Mixes `value` into `seed`; order-sensitive. The seed is mixed before the value is
/// added, so pairs of small numbers cannot cancel out (with hash_combine's
/// xor-and-shift, (0, 63) and (1, 0) gave the same token): for one seed, distinct values
/// give distinct tokens, and across seeds a collision is as unlikely as for random keys.
inline Token token_combine(Token seed, std::uint64_t value) noexcept {
  return token_mix(token_mix(seed + 0x9E3779B97F4A7C15ull) + value) | 1;  // never 0
}

/// Fingerprint of a byte range.
Token token_bytes(const void* data, std::size_t size, Token seed = 0x5ca1ab1e) noexcept;

/// A token no other call in this process gets, yet the same on every rank of an SPMD
/// program, since ranks create tasks in the same order. Used for calls that must not
/// be deduplicated (`pure = false`) and arguments rask cannot fingerprint.
Token token_sequence() noexcept;

/// Customization point: specialize `Tokenizer<T>` with `static Token token(const T&)`
/// to let equal values of a user type share tasks. Without it, an argument of type T
/// makes its call unique (no deduplication), which is always safe.
template <class T, class Enable = void>
struct Tokenizer;

/// True when rask can fingerprint a T.
template <class T>
concept Tokenizable = requires(const T& v) {
  { Tokenizer<T>::token(v) } -> std::convertible_to<Token>;
};

/// The token of `v`, or a fresh sequence token when T cannot be fingerprinted.
template <class T>
Token tokenize(const T& v) {
  if constexpr (Tokenizable<T>) {
    return Tokenizer<T>::token(v);
  } else {
    return token_sequence();
  }
}

template <class T>
struct Tokenizer<T, std::enable_if_t<std::is_arithmetic_v<T> || std::is_enum_v<T>>> {
  static Token token(const T& v) noexcept {
    // Normalize -0.0/0.0 would change semantics; hash the exact bits, as NumPy does.
    return token_bytes(&v, sizeof v, 0xa11ce + sizeof(T));
  }
};

template <>
struct Tokenizer<std::string> {
  static Token token(const std::string& s) noexcept { return token_bytes(s.data(), s.size(), 0x57); }
};
template <>
struct Tokenizer<std::string_view> {
  static Token token(std::string_view s) noexcept { return token_bytes(s.data(), s.size(), 0x57); }
};
template <>
struct Tokenizer<const char*> {
  static Token token(const char* s) noexcept { return token_bytes(s, std::strlen(s), 0x57); }
};
template <std::size_t N>
struct Tokenizer<char[N]> {
  static Token token(const char (&s)[N]) noexcept { return token_bytes(s, std::strlen(s), 0x57); }
};

namespace detail {
template <class Range>
Token token_range(const Range& r, Token seed) {
  Token h = token_combine(seed, static_cast<std::uint64_t>(std::size(r)));
  for (const auto& e : r) h = token_combine(h, Tokenizer<std::decay_t<decltype(e)>>::token(e));
  return h;
}
}  // namespace detail

template <Tokenizable T>
struct Tokenizer<std::vector<T>> {
  static Token token(const std::vector<T>& v) {
    if constexpr (std::is_arithmetic_v<T>) {
      return token_bytes(v.data(), v.size() * sizeof(T), 0x7ec + sizeof(T));
    } else {
      return detail::token_range(v, 0x7ec);
    }
  }
};
template <Tokenizable T, std::size_t N>
struct Tokenizer<std::array<T, N>> {
  static Token token(const std::array<T, N>& v) { return detail::token_range(v, 0xa77); }
};
template <Tokenizable K, Tokenizable V>
struct Tokenizer<std::map<K, V>> {
  static Token token(const std::map<K, V>& m) {
    Token h = token_combine(0x3a9, m.size());
    for (const auto& [k, v] : m) {
      h = token_combine(h, Tokenizer<K>::token(k));
      h = token_combine(h, Tokenizer<V>::token(v));
    }
    return h;
  }
};
template <Tokenizable A, Tokenizable B>
struct Tokenizer<std::pair<A, B>> {
  static Token token(const std::pair<A, B>& p) {
    return token_combine(token_combine(0x9a1, Tokenizer<A>::token(p.first)), Tokenizer<B>::token(p.second));
  }
};
template <Tokenizable... Ts>
struct Tokenizer<std::tuple<Ts...>> {
  static Token token(const std::tuple<Ts...>& t) {
    Token h = 0x7a9;
    std::apply([&](const auto&... e) { ((h = token_combine(h, tokenize(e))), ...); }, t);
    return h;
  }
};

}  // namespace rask
