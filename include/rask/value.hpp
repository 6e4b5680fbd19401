#pragma once
/// Value: what a task returns and its consumers read. A type-erased holder (std::any)
/// with errors that name the types involved; Codec: how a value of one C++ type is
/// written to and read from bytes when it crosses ranks.
#include <any>
#include <cstddef>
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

/// How values of one C++ type become bytes and back. One static Codec per type.
struct Codec {
  std::string name;       ///< demangled type name
  bool serializable;      ///< false: values of this type never leave the rank that made them
  std::size_t size_hint;  ///< bytes a value is expected to take when sent (plan estimate)
  void (*encode)(const Value&, Writer&);
  Value (*decode)(Reader&);
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
    return c;
  }();
  return &codec;
}

}  // namespace rask
