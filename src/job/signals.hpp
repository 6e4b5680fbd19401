#pragma once
// Signals in a job. Inside a compute, SIGINT (Ctrl-C reaches every rank of the terminal's
// process group) stops the compute as SIGTERM does, through the Runtime's handler: a
// failure every rank agrees on. Outside one, SIGTERM ends the rank as it would without
// rask (rank 0 says why first) and SIGINT goes to Python's handler on rank 0
// (KeyboardInterrupt in the script).
#include <atomic>

namespace rask::job {

/// Set while a compute runs on this rank.
extern std::atomic<bool> g_in_compute;
/// Set when SIGINT stopped this rank's compute; exchanged back to false by whoever
/// raises KeyboardInterrupt for it.
extern std::atomic<bool> g_got_sigint;

/// Installs the job's handlers for SIGTERM and SIGINT; restores the previous ones. Local.
class SignalScope {
 public:
  explicit SignalScope(int rank);
  ~SignalScope();
  SignalScope(const SignalScope&) = delete;
  SignalScope& operator=(const SignalScope&) = delete;
};

}  // namespace rask::job
