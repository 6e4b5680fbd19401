#include "rask/value.hpp"

#include <sys/mman.h>

#include <cstdint>

#include <cxxabi.h>

#include <cstdlib>
#include <memory>

namespace rask {

void detail::prefer_huge_pages(void* data, std::size_t bytes) noexcept {
  constexpr std::uintptr_t kHuge = std::uintptr_t{2} << 20;
  if (bytes < 4 * kHuge) return;
  const auto begin = (reinterpret_cast<std::uintptr_t>(data) + kHuge - 1) & ~(kHuge - 1);
  const auto end = (reinterpret_cast<std::uintptr_t>(data) + bytes) & ~(kHuge - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
}

std::string type_name(const std::type_info& type) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> demangled(abi::__cxa_demangle(type.name(), nullptr, nullptr, &status),
                                                   std::free);
  std::string name = status == 0 && demangled ? demangled.get() : type.name();
  // The standard library's long names help nobody reading an error.
  for (const char* noise : {"std::__cxx11::", "std::__1::"}) {
    for (auto pos = name.find(noise); pos != std::string::npos; pos = name.find(noise))
      name.replace(pos, std::string_view(noise).size(), "std::");
  }
  for (const char* long_name :
       {"std::basic_string<char, std::char_traits<char>, std::allocator<char> >"}) {
    for (auto pos = name.find(long_name); pos != std::string::npos; pos = name.find(long_name))
      name.replace(pos, std::string_view(long_name).size(), "std::string");
  }
  // "vector<std::string >" reads better as "vector<std::string>" (C++11 allows ">>").
  for (auto pos = name.find(" >"); pos != std::string::npos; pos = name.find(" >")) name.erase(pos, 1);
  return name;
}

void Value::throw_type_error(const std::type_info& wanted) const {
  throw TypeError("value holds " + (has_value() ? type_name(type()) : std::string("nothing")) +
                  ", not the " + type_name(wanted) + " asked for");
}

}  // namespace rask
