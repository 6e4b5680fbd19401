#include "execute/comm.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

#include "rask/error.hpp"

namespace rask::detail {

void check_mpi(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(rc, text, &length);
  throw MpiError(std::string(call) + " failed: " + std::string(text, static_cast<std::size_t>(length)));
}

std::size_t piece_bytes() {
  static const std::size_t bytes = [] {
    std::size_t value = std::size_t{1} << 30;
    if (const char* env = std::getenv("RASK_MESSAGE_PIECE_BYTES")) {
      char* end = nullptr;
      unsigned long long parsed = std::strtoull(env, &end, 10);
      if (*end || parsed < 16 || parsed > value)
        throw InputError("RASK_MESSAGE_PIECE_BYTES must be a whole number from 16 to 1073741824, not '" +
                         std::string(env) + "'");
      value = parsed;
    }
    return value;
  }();
  return bytes;
}

void post_send(const std::shared_ptr<const Bytes>& bytes, int dest, int tag, bool synchronous, MPI_Comm comm,
               Outgoing& out) {
  out.bytes = bytes;
  out.dest = dest;
  const std::size_t total = bytes->size();
  for (std::size_t offset = 0; offset < total; offset += piece_bytes()) {
    const int count = static_cast<int>(std::min(piece_bytes(), total - offset));
    MPI_Request request;
    if (synchronous)
      check_mpi(MPI_Issend(bytes->data() + offset, count, MPI_BYTE, dest, tag, comm, &request), "MPI_Issend");
    else
      check_mpi(MPI_Isend(bytes->data() + offset, count, MPI_BYTE, dest, tag, comm, &request), "MPI_Isend");
    out.requests.push_back(request);
  }
}

void post_block_send(std::span<const std::byte> block, int dest, MPI_Comm comm, std::vector<MPI_Request>& out) {
  for (std::size_t offset = 0; offset < block.size(); offset += piece_bytes()) {
    const int count = static_cast<int>(std::min(piece_bytes(), block.size() - offset));
    MPI_Request request;
    check_mpi(MPI_Isend(block.data() + offset, count, MPI_BYTE, dest, kBlockTag, comm, &request), "MPI_Isend");
    out.push_back(request);
  }
}

void post_block_receive(std::span<std::byte> block, int source, MPI_Comm comm, std::vector<MPI_Request>& out) {
  for (std::size_t offset = 0; offset < block.size(); offset += piece_bytes()) {
    const int count = static_cast<int>(std::min(piece_bytes(), block.size() - offset));
    MPI_Request request;
    check_mpi(MPI_Irecv(block.data() + offset, count, MPI_BYTE, source, kBlockTag, comm, &request), "MPI_Irecv");
    out.push_back(request);
  }
}

Bytes receive_matched(MPI_Message& msg, const MPI_Status& status, MPI_Comm comm) {
  int count = 0;
  check_mpi(MPI_Get_count(&status, MPI_BYTE, &count), "MPI_Get_count");
  if (count < 8) {
    Bytes ignored(static_cast<std::size_t>(count));
    check_mpi(MPI_Mrecv(ignored.data(), count, MPI_BYTE, &msg, MPI_STATUS_IGNORE), "MPI_Mrecv");
    throw SerializeError("message from rank " + std::to_string(status.MPI_SOURCE) + " is too short (" +
                         std::to_string(count) + " bytes)");
  }
  Bytes first(static_cast<std::size_t>(count));
  check_mpi(MPI_Mrecv(first.data(), count, MPI_BYTE, &msg, MPI_STATUS_IGNORE), "MPI_Mrecv");
  std::uint64_t total = 0;
  std::memcpy(&total, first.data(), 8);
  if (total == first.size()) return first;
  Bytes all(total);
  std::memcpy(all.data(), first.data(), first.size());
  for (std::size_t offset = first.size(); offset < total; offset += piece_bytes()) {
    const int piece = static_cast<int>(std::min<std::uint64_t>(piece_bytes(), total - offset));
    check_mpi(MPI_Recv(all.data() + offset, piece, MPI_BYTE, status.MPI_SOURCE, status.MPI_TAG, comm,
                       MPI_STATUS_IGNORE),
              "MPI_Recv");
  }
  return all;
}

}  // namespace rask::detail
