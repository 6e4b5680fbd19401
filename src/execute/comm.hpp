#pragma once
// Checked MPI calls and the messages values travel in between ranks.
//
// Three kinds of message, by tag:
//  - a failure report (kErrorTag);
//  - a batch (kBatchTag): small values and the headers of large ones, for one
//    destination, coalesced by the sending rank. Batches go as synchronous sends and at
//    most kBatchWindow per destination are unmatched at a time: the receiver never holds
//    an unbounded queue of unexpected messages (Open MPI's ob1 loses messages when more
//    than 2^16 from one peer wait out of sequence, which a flood of tiny values from
//    two threads produced);
//  - a block (kBlockTag): the bulk of a large contiguous value, sent from the sender's
//    object and received into the receiver's, matched by order to the headers.
#include <mpi.h>

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "rask/serialize.hpp"

namespace rask::detail {

/// Throws MpiError carrying MPI's own error string when `rc` is not MPI_SUCCESS.
void check_mpi(int rc, const char* call);

constexpr int kErrorTag = 0;
constexpr int kBatchTag = 1;
constexpr int kBlockTag = 2;

/// Unmatched batches allowed per destination.
constexpr int kBatchWindow = 4;
/// A batch is closed when it holds this many bytes (a larger single value goes alone).
constexpr std::size_t kBatchBytes = std::size_t{1} << 20;
/// Values whose contiguous block is at least this large travel as blocks.
constexpr std::size_t kBlockBytes = std::size_t{64} << 10;

/// Largest piece of one message: MPI counts are ints, values may not be.
/// 1 GiB unless RASK_MESSAGE_PIECE_BYTES says otherwise (read once; at least 16).
std::size_t piece_bytes();

/// A message being sent and what must stay alive until its requests complete.
struct Outgoing {
  std::shared_ptr<const Bytes> bytes;  // framed bytes of a batch or failure; null for a block
  std::vector<MPI_Request> requests;
  int dest = -1;
  bool batch = false;                  // counts against the destination's window
  std::vector<std::uint32_t> holds;    // tasks whose blocks this message sends from
};

/// Starts sending framed `bytes` (they open with their 8-byte total size) to `dest` in
/// pieces of at most piece_bytes(); synchronous sends when `synchronous`. Nonblocking.
void post_send(const std::shared_ptr<const Bytes>& bytes, int dest, int tag, bool synchronous, MPI_Comm comm,
               Outgoing& out);

/// Starts sending or receiving a block in pieces of at most piece_bytes(). Nonblocking.
void post_block_send(std::span<const std::byte> block, int dest, MPI_Comm comm, std::vector<MPI_Request>& out);
void post_block_receive(std::span<std::byte> block, int source, MPI_Comm comm, std::vector<MPI_Request>& out);

/// Receives the framed message `msg` matched by MPI_(I)mprobe and any further pieces.
/// Blocking only for pieces already in flight.
Bytes receive_matched(MPI_Message& msg, const MPI_Status& status, MPI_Comm comm);

}  // namespace rask::detail
