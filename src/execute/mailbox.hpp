#pragma once
// The mailbox of one rank's executor: values bound for other ranks, coalesced per
// destination into batches, and blocks being received into the values they become.
// The wire format is comm.hpp's; the executor's members that move them are in mailbox.cpp.
#include <mpi.h>

#include <cstdint>
#include <deque>
#include <vector>

#include "rask/graph.hpp"
#include "rask/serialize.hpp"
#include "rask/value.hpp"

namespace rask::detail {

/// Values for one destination, framed as they will travel: 8 bytes of total size, a
/// 4-byte count, then per value its task, whether a block follows, and its bytes (the
/// serialized value, or a block's header).
struct Batch {
  Bytes frame;
  std::uint32_t count = 0;
  std::vector<TaskId> blocks;  // in the order their headers appear
};

/// One destination's batches: an open one being filled, and closed ones waiting for the
/// destination's window.
class Outbox {
 public:
  /// Appends one value's bytes (or a block's header, when `block`) to the open batch.
  void add(TaskId t, bool block, const Bytes& bytes);
  bool empty() const { return closed_.empty() && open_.count == 0; }
  /// The oldest batch, closing the open one when no other waits. Not when empty().
  Batch take();

 private:
  void close();
  Batch open_;
  std::deque<Batch> closed_;
};

/// Fills in a batch's size and count, as the receiver reads them.
void seal(Batch& batch);

/// A block being received into the value it will become.
struct Incoming {
  TaskId task = 0;
  Value value;
  std::vector<MPI_Request> requests;
};

}  // namespace rask::detail
