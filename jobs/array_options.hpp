#pragma once
// Options of the array jobs: `--name value` pairs after the positional arguments.
#include <charconv>
#include <cstdint>
#include <string>
#include <vector>

#include <rask/rask.hpp>

namespace jobs {

/// The value of `--name` as a whole number >= minimum, or `fallback` when absent. Every
/// rank parses the same command line, so a bad value is a collective InputError.
inline std::int64_t int_option(int argc, char** argv, const std::string& name, std::int64_t fallback,
                               std::int64_t minimum = 1) {
  for (int arg_idx = 1; arg_idx < argc; ++arg_idx) {
    if (argv[arg_idx] != "--" + name) continue;
    if (arg_idx + 1 >= argc) throw rask::InputError("missing value after --" + name);
    const std::string text = argv[arg_idx + 1];
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < minimum)
      throw rask::InputError("--" + name + " wants a whole number >= " + std::to_string(minimum) + ", got '" + text +
                             "'");
    return value;
  }
  return fallback;
}

/// True when the flag `--name` is given.
inline bool flag(int argc, char** argv, const std::string& name) {
  for (int arg_idx = 1; arg_idx < argc; ++arg_idx)
    if (argv[arg_idx] == "--" + name) return true;
  return false;
}

/// The positional argument `index` (0 first), or an InputError naming `usage`.
inline std::string positional(int argc, char** argv, int index, const std::string& usage) {
  int seen = 0;
  for (int arg_idx = 1; arg_idx < argc; ++arg_idx) {
    std::string arg = argv[arg_idx];
    if (arg.rfind("--", 0) == 0) {
      if (arg_idx + 1 < argc && std::string(argv[arg_idx + 1]).rfind("--", 0) != 0) ++arg_idx;
      continue;
    }
    if (seen++ == index) return arg;
  }
  throw rask::InputError("usage: " + usage);
}

}  // namespace jobs
