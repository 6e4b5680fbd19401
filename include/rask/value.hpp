#pragma once
/// Value: what a task returns and its consumers read. A type-erased holder (std::any)
/// with errors that name the types involved; Codec: how a value of one C++ type is
/// written to and read from bytes when it crosses ranks.
#include <any>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "rask/error.hpp"
#include "rask/serialize.hpp"

namespace rask {

/// Readable name of a C++ type (demangled), for error messages and plans.
std::string type_name(const std::type_info& type);

/// One task's result. Copying a Value copies what it holds.
class Value {
 public:
  Value() = default;
  template <class T>
    requires(!std::is_same_v<std::decay_t<T>, Value>)
  explicit Value(T&& v) : data_(std::forward<T>(v)) {}

  bool has_value() const noexcept { return data_.has_value(); }
  const std::type_info& type() const noexcept { return data_.type(); }

  /// The held T, or nullptr when it holds something else.
  template <class T>
  const T* try_get() const noexcept {
    return std::any_cast<T>(&data_);
  }
  /// The held T; throws TypeError naming both types when it holds something else.
  template <class T>
  const T& get() const {
    if (const T* p = std::any_cast<T>(&data_)) return *p;
    throw_type_error(typeid(T));
  }
  /// Moves the held T out (used to hand results to the caller without a copy).
  template <class T>
  T take() {
    if (T* p = std::any_cast<T>(&data_)) return std::move(*p);
    throw_type_error(typeid(T));
  }
  void reset() noexcept { data_.reset(); }

 private:
  [[noreturn]] void throw_type_error(const std::type_info& wanted) const;
  std::any data_;
};

/// How a value whose bulk is one contiguous block crosses ranks without copies (see
/// rask::Contiguous): the header travels with small values, the block on its own.
struct BlockCodec {
  void (*header)(const Value&, Writer&);
  std::span<const std::byte> (*bytes)(const Value&);
  /// A value of the header's shape and the storage its block is received into.
  Value (*make)(Reader& header, std::span<std::byte>& storage);
};

/// How values of one C++ type become bytes and back. One static Codec per type.
struct Codec {
  std::string name;       ///< demangled type name
  bool serializable;      ///< false: values of this type never leave the rank that made them
  std::size_t size_hint;  ///< bytes a value is expected to take when sent (plan estimate)
  void (*encode)(const Value&, Writer&);
  Value (*decode)(Reader&);
  const BlockCodec* block = nullptr;  ///< set for ContiguousValue types
};

/// The Codec of T (a pointer to a process-wide constant).
template <class T>
const Codec* codec_for() {
  static const Codec codec = [] {
    Codec c;
    c.name = type_name(typeid(T));
    c.serializable = Serializable<T>;
    c.size_hint = std::is_trivially_copyable_v<T> ? sizeof(T) : 64;
    if constexpr (Serializable<T>) {
      c.encode = [](const Value& v, Writer& w) { Serializer<T>::write(w, v.get<T>()); };
      c.decode = [](Reader& r) { return Value(Serializer<T>::read(r)); };
    } else {
      c.encode = nullptr;
      c.decode = nullptr;
    }
    if constexpr (Serializable<T> && ContiguousValue<T>) {
      static const BlockCodec block{
          [](const Value& v, Writer& w) { Contiguous<T>::header(w, v.get<T>()); },
          [](const Value& v) { return Contiguous<T>::bytes(v.get<T>()); },
          [](Reader& r, std::span<std::byte>& storage) {
            Value v(Contiguous<T>::make(r));
            // The block lives in the heap storage the Value now owns; moving the Value
            // later moves the owner, not the block.
            storage = Contiguous<T>::storage(const_cast<T&>(v.get<T>()));
            return v;
          }};
      c.block = &block;
    }
    return c;
  }();
  return &codec;
}

}  // namespace rask
