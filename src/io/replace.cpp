// Replacing a file from an MPI job: agreement on the outcome, then one rename.
#include "io/replace.hpp"

#include <unistd.h>

#include <cstdio>
#include <exception>

#include "execute/comm.hpp"
#include "rask/io.hpp"

namespace rask::detail {

WriteComm::WriteComm() { check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup"); }

// A destructor cannot throw; freeing a duplicate fails only when MPI itself is gone.
WriteComm::~WriteComm() { MPI_Comm_free(&comm_); }

void replace_file(MPI_Comm comm, const std::string& tmp, const std::string& path, std::string error) {
  int rank = 0, size = 1;
  check_mpi(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(comm, &size), "MPI_Comm_size");
  // The lowest failing rank, or size when none failed.
  int mine = error.empty() ? size : rank, lowest = size;
  check_mpi(MPI_Allreduce(&mine, &lowest, 1, MPI_INT, MPI_MIN, comm), "MPI_Allreduce");
  if (lowest < size) {
    // The lowest failing rank's message, on every rank.
    int length = rank == lowest ? static_cast<int>(error.size()) : 0;
    check_mpi(MPI_Bcast(&length, 1, MPI_INT, lowest, comm), "MPI_Bcast");
    error.resize(static_cast<std::size_t>(length));
    check_mpi(MPI_Bcast(error.data(), length, MPI_CHAR, lowest, comm), "MPI_Bcast");
    if (rank == 0) std::remove(tmp.c_str());
    throw IoError(error);
  }
  int renamed = 1;
  if (rank == 0) renamed = std::rename(tmp.c_str(), path.c_str()) == 0;
  check_mpi(MPI_Bcast(&renamed, 1, MPI_INT, 0, comm), "MPI_Bcast");
  if (!renamed) throw IoError("cannot rename '" + tmp + "' to '" + path + "'; the new data is left in '" + tmp + "'");
}

void write_on_root(const std::string& path, const std::function<void(const std::string& tmp)>& write) {
  WriteComm comm;
  int rank = 0;
  check_mpi(MPI_Comm_rank(comm.get(), &rank), "MPI_Comm_rank");
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  std::string error;
  if (rank == 0) {
    try {
      write(tmp);
    } catch (const std::exception& e) {
      error = "cannot write " + path + ": " + e.what();
    }
  }
  replace_file(comm.get(), tmp, path, std::move(error));
}

}  // namespace rask::detail
