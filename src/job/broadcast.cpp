// The job's broadcast protocol (see broadcast.hpp).
#include "job/broadcast.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include "execute/comm.hpp"

namespace rask::job {

using detail::check_mpi;

JobComm::JobComm() {
  check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
  check_mpi(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
}

JobComm::~JobComm() { MPI_Comm_free(&comm_); }  // a destructor never throws

// Nonblocking, as the other ranks receive it: a blocking and a nonblocking broadcast do
// not match each other.
void send_command(const JobComm& comm, Command command) {
  MPI_Request request;
  check_mpi(MPI_Ibcast(&command, sizeof command, MPI_BYTE, 0, comm.get(), &request), "MPI_Ibcast");
  check_mpi(MPI_Wait(&request, MPI_STATUS_IGNORE), "MPI_Wait");
}

Command receive_command(const JobComm& comm) {
  Command command{};
  MPI_Request request;
  check_mpi(MPI_Ibcast(&command, sizeof command, MPI_BYTE, 0, comm.get(), &request), "MPI_Ibcast");
  auto begin = std::chrono::steady_clock::now();
  for (;;) {
    int done = 0;
    check_mpi(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (done) return command;
    // Spin briefly (a compute often follows a compute), then sleep: ranks may
    // outnumber cores, and rank 0 needs its core for the script.
    auto waited = std::chrono::steady_clock::now() - begin;
    if (waited < std::chrono::milliseconds(2))
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(std::chrono::microseconds(waited < std::chrono::seconds(1) ? 200 : 2000));
  }
}

void broadcast_bytes(const JobComm& comm, std::string& bytes, int root) {
  const std::size_t piece = detail::piece_bytes();
  for (std::size_t offset = 0; offset < bytes.size(); offset += piece) {
    const int count = static_cast<int>(std::min(piece, bytes.size() - offset));
    check_mpi(MPI_Bcast(bytes.data() + offset, count, MPI_BYTE, root, comm.get()), "MPI_Bcast");
  }
}

void broadcast_text(const JobComm& comm, std::string& text, int root) {
  std::uint64_t length = text.size();
  check_mpi(MPI_Bcast(&length, 1, MPI_UINT64_T, root, comm.get()), "MPI_Bcast");
  text.resize(length);
  broadcast_bytes(comm, text, root);
}

std::optional<std::pair<int, std::string>> first_failure(const JobComm& comm, int rank, int size,
                                                         const std::string& error) {
  int mine = error.empty() ? size : rank, first = 0;
  check_mpi(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm.get()), "MPI_Allreduce");
  if (first == size) return std::nullopt;
  std::string text = error;
  broadcast_text(comm, text, first);
  return std::make_pair(first, std::move(text));
}

}  // namespace rask::job
