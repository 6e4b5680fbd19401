#pragma once
/// rask's exceptions. Every failure a user can cause is one of these, with a message
/// that says what failed, where, and how to fix it.
///
/// Two kinds, as large MPI codes split them:
///  - collective errors are thrown by every rank together (a bad graph, a plan that
///    cannot be made, a task failure after the ranks have agreed on it): the program
///    may catch them and go on, since every rank sees the same thing;
///  - local errors are seen by one rank only (for example a user exception outside a
///    compute): if uncaught, that rank prints `ERROR on rank N: ...` and aborts the job.
#include <stdexcept>
#include <string>

namespace rask {

/// Base of every rask exception. `collective()` says whether every rank threw it.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, bool collective = false)
      : std::runtime_error(message), collective_(collective) {}
  /// True when every rank of the job throws this same error at the same point.
  bool collective() const noexcept { return collective_; }

 private:
  bool collective_;
};

/// A graph that cannot run: a dependency cycle, a missing dependency, a duplicate key.
/// Thrown on every rank, since every rank holds the same graph.
class GraphError : public Error {
 public:
  explicit GraphError(const std::string& m) : Error(m, true) {}
};

/// A plan that cannot be made: a value with no serializer must cross ranks, or owner
/// pins contradict each other. Thrown on every rank.
class PlanError : public Error {
 public:
  explicit PlanError(const std::string& m) : Error(m, true) {}
};

/// A task threw. After the ranks agree on the failure, every rank throws this with the
/// same message naming the task key, the rank it ran on and the original error.
class TaskError : public Error {
 public:
  TaskError(const std::string& m, std::string key, int rank)
      : Error(m, true), key_(std::move(key)), rank_(rank) {}
  const std::string& key() const noexcept { return key_; }
  int rank() const noexcept { return rank_; }

 private:
  std::string key_;
  int rank_;
};

/// Bytes that cannot be turned back into a value (truncated, wrong type). Local.
class SerializeError : public Error {
 public:
  explicit SerializeError(const std::string& m) : Error(m, false) {}
};

/// A value held by a task input is not of the type asked for. Local (raised in a task).
class TypeError : public Error {
 public:
  explicit TypeError(const std::string& m) : Error(m, false) {}
};

/// An operation NumPy refuses for its operands' dtypes (bool - bool, -bool), with NumPy's
/// own message. Thrown while building the expression, before any work: every rank
/// building the same expression throws it alike.
class DTypeError : public Error {
 public:
  explicit DTypeError(const std::string& m) : Error(m, true) {}
};

/// Bad user input: a missing file or directory, a bad option. Collective when every
/// rank found it the same way (the default); local when one rank alone looked (a file
/// only that rank writes).
class InputError : public Error {
 public:
  explicit InputError(const std::string& m, bool collective = true) : Error(m, collective) {}
};

/// The ranks of an SPMD program disagree: they built different graphs for the same
/// compute, or one rank left the program (or waited at a barrier) while others
/// computed. Thrown on every rank with one message naming the first task that differs
/// and the ranks on each side.
class SpmdError : public Error {
 public:
  explicit SpmdError(const std::string& m) : Error(m, true) {}
};

/// A compute the plan predicts would need more memory than a rank has: refused before
/// any task runs, on every rank, naming the predicted and available bytes.
class MemoryError : public Error {
 public:
  explicit MemoryError(const std::string& m) : Error(m, true) {}
};

/// An MPI call failed; carries MPI's own error string. Local.
class MpiError : public Error {
 public:
  explicit MpiError(const std::string& m) : Error(m, false) {}
};

}  // namespace rask
