#pragma once
// The job's broadcast protocol, on a communicator of its own. Rank 0 broadcasts a
// Command (compute or collective call, with a payload size; or exit, with a status); a
// payload follows as bytes. Idle ranks poll a nonblocking broadcast and sleep between
// polls, so that while rank 0 runs the script's own Python they leave the cores to it.
#include <mpi.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace rask::job {

/// A dup of the world for the job's own messages, so they never meet the executor's.
/// Collective to make and to free (every rank, in the same order).
class JobComm {
 public:
  JobComm();
  ~JobComm();
  JobComm(const JobComm&) = delete;
  JobComm& operator=(const JobComm&) = delete;
  MPI_Comm get() const { return comm_; }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
};

enum class Kind : std::int64_t { compute = 1, exit = 2, call = 3 };
struct Command {
  Kind kind;
  std::int64_t value;  // compute, call: payload bytes; exit: status
};

/// Collective (rank 0 sends, every other rank is in receive_command): what comes next.
void send_command(const JobComm& comm, Command command);
/// Collective, the other ranks' half of send_command: waits without holding a core.
Command receive_command(const JobComm& comm);

/// Collective: `bytes` (already sized on every rank) from `root` to every rank, in
/// pieces of at most detail::piece_bytes() (RASK_MESSAGE_PIECE_BYTES).
void broadcast_bytes(const JobComm& comm, std::string& bytes, int root = 0);

/// Collective: `text` of any length, sized by `root`, to every rank.
void broadcast_text(const JobComm& comm, std::string& text, int root = 0);

/// Collective: every rank says whether it failed (`error` non-empty); returns the lowest
/// failing rank and its message on every rank, or nothing when all succeeded.
std::optional<std::pair<int, std::string>> first_failure(const JobComm& comm, int rank, int size,
                                                         const std::string& error);

}  // namespace rask::job
