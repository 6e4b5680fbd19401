#pragma once
/// Serialization of task values that cross ranks.
///
/// A value moves between ranks only when the plan puts its producer and a consumer on
/// different ranks (or a result must reach rank 0). rask serializes scalars, strings,
/// std::vector/array/pair/tuple/map/unordered_map/optional of serializable types and
/// dense Eigen matrices. A user type opts in by specializing `rask::Serializer`:
///
///     template <> struct rask::Serializer<Point> {
///       static void write(rask::Writer& w, const Point& p) { w.write(p.x); w.write(p.y); }
///       static Point read(rask::Reader& r) { Point p; p.x = r.read<double>(); p.y = r.read<double>(); return p; }
///     };
///
/// A type without one can still be a task value; the planner then keeps it on the rank
/// that made it, and reports a PlanError if that is impossible.
#include <Eigen/Core>
#include <array>
#include <concepts>
#include <cstddef>
#include <cstring>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "rask/error.hpp"

namespace rask {

/// The byte buffer a value is serialized into.
using Bytes = std::vector<std::byte>;

/// Customization point; see the file comment. The primary template is left undefined so
/// that `Serializable<T>` is false for types nobody taught rask to serialize.
template <class T, class Enable = void>
struct Serializer;

class Writer;
class Reader;

/// True when T can cross ranks.
template <class T>
concept Serializable = requires(Writer& w, Reader& r, const T& v) {
  Serializer<T>::write(w, v);
  { Serializer<T>::read(r) } -> std::same_as<T>;
};

/// Appends values to a byte buffer. The buffer is owned by the caller.
class Writer {
 public:
  explicit Writer(Bytes& out) : out_(out) {}
  void write_bytes(const void* data, std::size_t size) {
    const auto* p = static_cast<const std::byte*>(data);
    out_.insert(out_.end(), p, p + size);
  }
  template <class T>
  void write(const T& v) {
    Serializer<T>::write(*this, v);
  }
  std::size_t size() const noexcept { return out_.size(); }

 private:
  Bytes& out_;
};

/// Reads values back, in the order they were written. Throws SerializeError on a short
/// buffer rather than reading past its end.
class Reader {
 public:
  Reader(const std::byte* data, std::size_t size) : p_(data), end_(data + size) {}
  void read_bytes(void* dst, std::size_t size) {
    if (static_cast<std::size_t>(end_ - p_) < size)
      throw SerializeError("serialized value is truncated: need " + std::to_string(size) +
                           " more bytes, have " + std::to_string(end_ - p_) +
                           " (a rask::Serializer's read does not match its write?)");
    std::memcpy(dst, p_, size);
    p_ += size;
  }
  template <class T>
  T read() {
    return Serializer<T>::read(*this);
  }
  std::size_t remaining() const noexcept { return static_cast<std::size_t>(end_ - p_); }

 private:
  const std::byte* p_;
  const std::byte* end_;
};

template <class T>
struct Serializer<T, std::enable_if_t<std::is_arithmetic_v<T> || std::is_enum_v<T>>> {
  static void write(Writer& w, const T& v) { w.write_bytes(&v, sizeof v); }
  static T read(Reader& r) {
    T v;
    r.read_bytes(&v, sizeof v);
    return v;
  }
};

namespace detail {
/// Asks the kernel for transparent huge pages over a large buffer not yet touched, so
/// that receiving a large value into new memory costs hundreds of page faults, not
/// hundreds of thousands. A hint: ignored where THP is off.
void prefer_huge_pages(void* data, std::size_t bytes) noexcept;

inline void write_size(Writer& w, std::size_t n) { w.write(static_cast<std::uint64_t>(n)); }
inline std::size_t read_size(Reader& r, std::size_t element_size) {
  auto n = r.read<std::uint64_t>();
  // A corrupt length must not turn into a huge allocation.
  if (element_size && n > r.remaining() / element_size)
    throw SerializeError("serialized container claims " + std::to_string(n) +
                         " elements but only " + std::to_string(r.remaining()) + " bytes remain");
  return static_cast<std::size_t>(n);
}
}  // namespace detail

template <>
struct Serializer<std::string> {
  static void write(Writer& w, const std::string& s) {
    detail::write_size(w, s.size());
    w.write_bytes(s.data(), s.size());
  }
  static std::string read(Reader& r) {
    std::string s(detail::read_size(r, 1), '\0');
    r.read_bytes(s.data(), s.size());
    return s;
  }
};

template <Serializable T>
struct Serializer<std::vector<T>> {
  static void write(Writer& w, const std::vector<T>& v) {
    detail::write_size(w, v.size());
    if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
      w.write_bytes(v.data(), v.size() * sizeof(T));
    } else {
      for (const auto& e : v) Serializer<T>::write(w, static_cast<const T&>(e));
    }
  }
  static std::vector<T> read(Reader& r) {
    std::size_t n = detail::read_size(r, std::is_arithmetic_v<T> ? sizeof(T) : 1);
    std::vector<T> v;
    if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
      v.resize(n);
      r.read_bytes(v.data(), n * sizeof(T));
    } else {
      v.reserve(n);
      for (std::size_t element_idx = 0; element_idx < n; ++element_idx) v.push_back(Serializer<T>::read(r));
    }
    return v;
  }
};

template <Serializable T, std::size_t N>
struct Serializer<std::array<T, N>> {
  static void write(Writer& w, const std::array<T, N>& a) {
    for (const auto& e : a) Serializer<T>::write(w, e);
  }
  static std::array<T, N> read(Reader& r) {
    std::array<T, N> a;
    for (auto& e : a) e = Serializer<T>::read(r);
    return a;
  }
};

template <Serializable A, Serializable B>
struct Serializer<std::pair<A, B>> {
  static void write(Writer& w, const std::pair<A, B>& p) {
    Serializer<A>::write(w, p.first);
    Serializer<B>::write(w, p.second);
  }
  static std::pair<A, B> read(Reader& r) {
    A a = Serializer<A>::read(r);
    B b = Serializer<B>::read(r);
    return {std::move(a), std::move(b)};
  }
};

template <Serializable... Ts>
struct Serializer<std::tuple<Ts...>> {
  static void write(Writer& w, const std::tuple<Ts...>& t) {
    std::apply([&](const auto&... e) { (Serializer<std::decay_t<decltype(e)>>::write(w, e), ...); }, t);
  }
  static std::tuple<Ts...> read(Reader& r) {
    // Braced init guarantees left-to-right evaluation, matching write's order.
    return std::tuple<Ts...>{Serializer<Ts>::read(r)...};
  }
};

template <Serializable T>
struct Serializer<std::optional<T>> {
  static void write(Writer& w, const std::optional<T>& o) {
    w.write(static_cast<std::uint8_t>(o.has_value()));
    if (o) Serializer<T>::write(w, *o);
  }
  static std::optional<T> read(Reader& r) {
    if (!r.read<std::uint8_t>()) return std::nullopt;
    return Serializer<T>::read(r);
  }
};

namespace detail {
template <class Map>
struct MapSerializer {
  using K = typename Map::key_type;
  using V = typename Map::mapped_type;
  static void write(Writer& w, const Map& m) {
    write_size(w, m.size());
    for (const auto& [k, v] : m) {
      Serializer<K>::write(w, k);
      Serializer<V>::write(w, v);
    }
  }
  static Map read(Reader& r) {
    std::size_t n = read_size(r, 1);
    Map m;
    for (std::size_t entry_idx = 0; entry_idx < n; ++entry_idx) {
      K k = Serializer<K>::read(r);
      m.emplace(std::move(k), Serializer<V>::read(r));
    }
    return m;
  }
};
}  // namespace detail

template <Serializable K, Serializable V, class C, class A>
struct Serializer<std::map<K, V, C, A>> : detail::MapSerializer<std::map<K, V, C, A>> {};
template <Serializable K, Serializable V, class H, class E, class A>
struct Serializer<std::unordered_map<K, V, H, E, A>>
    : detail::MapSerializer<std::unordered_map<K, V, H, E, A>> {};

/// Dense Eigen matrices and vectors of arithmetic scalars, fixed or dynamic size.
template <class S, int R, int C, int O, int MR, int MC>
  requires std::is_arithmetic_v<S>
struct Serializer<Eigen::Matrix<S, R, C, O, MR, MC>> {
  using M = Eigen::Matrix<S, R, C, O, MR, MC>;
  static void write(Writer& w, const M& m) {
    w.write(static_cast<std::int64_t>(m.rows()));
    w.write(static_cast<std::int64_t>(m.cols()));
    w.write_bytes(m.data(), static_cast<std::size_t>(m.size()) * sizeof(S));
  }
  static M read(Reader& r) {
    auto rows = r.read<std::int64_t>();
    auto cols = r.read<std::int64_t>();
    if (rows < 0 || cols < 0 || (R != Eigen::Dynamic && rows != R) || (C != Eigen::Dynamic && cols != C) ||
        (rows && static_cast<std::size_t>(cols) > r.remaining() / sizeof(S) / static_cast<std::size_t>(rows)))
      throw SerializeError("serialized Eigen matrix has a bad shape " + std::to_string(rows) + "x" +
                           std::to_string(cols));
    M m;
    m.resize(rows, cols);
    r.read_bytes(m.data(), static_cast<std::size_t>(m.size()) * sizeof(S));
    return m;
  }
};

/// Opt-in for values whose bulk is one contiguous block of bytes (a vector of numbers,
/// an Eigen matrix, an array chunk). Such a value crosses ranks from and into its own
/// storage: a few bytes of header (its shape) travel with other small values, and the
/// block goes as its own MPI message straight from the sender's object into the
/// receiver's, with no serialization copy. Specialize with:
///
///     static void header(Writer&, const T&);             // what `make` needs (shape)
///     static std::span<const std::byte> bytes(const T&); // the block
///     static T make(Reader& header);                     // a T of that shape, contents unset
///     static std::span<std::byte> storage(T&);           // where its block goes
///
/// The type must also have a Serializer (used for small values and by other paths).
template <class T, class Enable = void>
struct Contiguous;

/// True when T opted into Contiguous.
template <class T>
concept ContiguousValue = requires(Writer& w, Reader& r, const T& v, T& m) {
  Contiguous<T>::header(w, v);
  { Contiguous<T>::bytes(v) } -> std::same_as<std::span<const std::byte>>;
  { Contiguous<T>::make(r) } -> std::same_as<T>;
  { Contiguous<T>::storage(m) } -> std::same_as<std::span<std::byte>>;
};

template <class T>
  requires(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>)
struct Contiguous<std::vector<T>> {
  static void header(Writer& w, const std::vector<T>& v) { detail::write_size(w, v.size()); }
  static std::span<const std::byte> bytes(const std::vector<T>& v) { return std::as_bytes(std::span(v)); }
  static std::vector<T> make(Reader& r) {
    std::vector<T> v;
    const auto n = r.read<std::uint64_t>();
    v.reserve(n);
    detail::prefer_huge_pages(v.data(), n * sizeof(T));  // before the first touch
    v.resize(n);
    return v;
  }
  static std::span<std::byte> storage(std::vector<T>& v) { return std::as_writable_bytes(std::span(v)); }
};

template <class S, int O, int MR, int MC>
  requires std::is_arithmetic_v<S>
struct Contiguous<Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, O, MR, MC>> {
  using M = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, O, MR, MC>;
  static void header(Writer& w, const M& m) {
    w.write(static_cast<std::int64_t>(m.rows()));
    w.write(static_cast<std::int64_t>(m.cols()));
  }
  static std::span<const std::byte> bytes(const M& m) {
    return {reinterpret_cast<const std::byte*>(m.data()), static_cast<std::size_t>(m.size()) * sizeof(S)};
  }
  static M make(Reader& r) {
    auto rows = r.read<std::int64_t>();
    auto cols = r.read<std::int64_t>();
    if (rows < 0 || cols < 0)
      throw SerializeError("Eigen matrix header has a bad shape " + std::to_string(rows) + "x" + std::to_string(cols));
    return M(rows, cols);
  }
  static std::span<std::byte> storage(M& m) {
    return {reinterpret_cast<std::byte*>(m.data()), static_cast<std::size_t>(m.size()) * sizeof(S)};
  }
};

}  // namespace rask
