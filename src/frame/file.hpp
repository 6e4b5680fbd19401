#pragma once
// A file opened for reading, closed with its owner; reads by offset (pread) so that
// threads parsing different blocks of one file need no shared position.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "rask/error.hpp"

namespace rask::detail {

class ReadFile {
 public:
  explicit ReadFile(const std::string& path) : path_(path), fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (fd_ < 0) throw Error("cannot open " + path + ": " + std::strerror(errno));
  }
  ~ReadFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  ReadFile(const ReadFile&) = delete;
  ReadFile& operator=(const ReadFile&) = delete;

  /// Reads up to `size` bytes at `offset`; fewer only at the end of the file.
  std::size_t read_at(char* dst, std::size_t size, std::int64_t offset) const {
    std::size_t done = 0;
    while (done < size) {
      const ssize_t got = ::pread(fd_, dst + done, size - done, static_cast<off_t>(offset + done));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) throw Error("cannot read " + path_ + ": " + std::strerror(errno));
      if (got == 0) break;
      done += static_cast<std::size_t>(got);
    }
    return done;
  }

 private:
  std::string path_;
  int fd_;
};

}  // namespace rask::detail
