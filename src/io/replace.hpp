#pragma once
// Replacing a file safely from an MPI job: the new contents are written under a
// temporary name in the same directory and renamed over the file only when every rank
// succeeded, so a failed job leaves the old file (or none) and no partial one.
#include <mpi.h>

#include <functional>
#include <string>

namespace rask::detail {

/// MPI_COMM_WORLD duplicated for one write, so its messages meet no other traffic.
/// Collective: every rank creates and destroys it together.
class WriteComm {
 public:
  WriteComm();
  ~WriteComm();
  WriteComm(const WriteComm&) = delete;
  WriteComm& operator=(const WriteComm&) = delete;
  MPI_Comm get() const noexcept { return comm_; }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
};

/// Collective over `comm`: ends the writing of `tmp`, which is to replace `path`. Each
/// rank passes its own failure (`error`; empty when its part succeeded). When any rank
/// failed, rank 0 removes `tmp` and every rank throws IoError with the lowest failing
/// rank's message. Otherwise rank 0 renames `tmp` over `path`, and every rank throws
/// IoError when that failed (the data is then left in `tmp`).
void replace_file(MPI_Comm comm, const std::string& tmp, const std::string& path, std::string error);

/// Collective: rank 0 alone runs `write(tmp)`, `tmp` being `path` + ".tmp-<pid>", and
/// `path` is replaced by it as replace_file says. A failure (any exception of `write`)
/// is IoError("cannot write <path>: <what>") on every rank.
void write_on_root(const std::string& path, const std::function<void(const std::string& tmp)>& write);

}  // namespace rask::detail
