#pragma once
// Checked MPI calls and the message format values travel in.
#include <mpi.h>

#include <cstddef>
#include <memory>
#include <vector>

#include "rask/serialize.hpp"

namespace rask::detail {

/// Throws MpiError carrying MPI's own error string when `rc` is not MPI_SUCCESS.
void check_mpi(int rc, const char* call);

/// Tags: 0 carries a failure report; a value of task t travels with tag t + 1.
constexpr int kErrorTag = 0;
inline int tag_of(std::uint32_t task) { return static_cast<int>(task) + 1; }

/// Largest piece of one value per MPI message: MPI counts are ints, values may not be.
/// 1 GiB unless RASK_MESSAGE_PIECE_BYTES says otherwise (read once; at least 16).
std::size_t piece_bytes();

/// A value being sent: the serialized bytes (shared by every destination) and the
/// requests of its pieces. The bytes stay alive until every request completes.
struct Outgoing {
  std::shared_ptr<const Bytes> bytes;
  std::vector<MPI_Request> requests;
};

/// Starts sending `bytes` to `dest` as one or more pieces of at most kMaxPiece bytes;
/// the first piece opens with the total size so the receiver can allocate once.
/// Nonblocking; appends the requests to `out`.
void post_send(const std::shared_ptr<const Bytes>& bytes, int dest, int tag, MPI_Comm comm, Outgoing& out);

/// Receives the message `msg` matched by MPI_Improbe and any further pieces of it.
/// Blocking only for pieces already in flight.
Bytes receive_matched(MPI_Message& msg, const MPI_Status& status, MPI_Comm comm);

}  // namespace rask::detail
