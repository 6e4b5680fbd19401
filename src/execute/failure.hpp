#pragma once
// A failure as it travels between ranks: the rank that failed, the task to blame, and
// whether it failed inside a collective task's body. How the ranks agree on one is the
// executor's (failure.cpp).
#include <string>

#include "rask/serialize.hpp"

namespace rask::detail {

/// A failure report.
struct Failure {
  std::string key;  // empty when no task is to blame
  int rank = -1;
  std::string what;
  bool in_collective = false;  // inside a collective task's body: its communicator is spoiled

  /// The text every rank's TaskError carries.
  std::string message() const;
};

/// Framed as post_send sends it: 8 bytes of total size, then the fields.
Bytes encode_failure(const Failure& f);
Failure decode_failure(const Bytes& bytes);

}  // namespace rask::detail
