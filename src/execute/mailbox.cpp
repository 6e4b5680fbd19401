// Values crossing ranks: a value another rank needs is queued in its destination's
// outbox as soon as it is made; whichever thread may call MPI posts the batches, retires
// finished sends, and takes in what arrived (progress).
#include "execute/mailbox.hpp"

#include <omp.h>

#include <cstring>
#include <string>

#include "execute/executor.hpp"
#include "rask/error.hpp"

namespace rask::detail {

void Outbox::add(TaskId t, bool block, const Bytes& bytes) {
  if (open_.frame.size() >= kBatchBytes) close();
  Bytes& f = open_.frame;
  if (f.empty()) f.resize(12);
  const std::size_t at = f.size();
  const std::uint32_t task = t;
  const std::uint8_t is_block = block;
  const std::uint64_t size = bytes.size();
  f.resize(at + 13 + bytes.size());
  std::memcpy(f.data() + at, &task, 4);
  std::memcpy(f.data() + at + 4, &is_block, 1);
  std::memcpy(f.data() + at + 5, &size, 8);
  if (size) std::memcpy(f.data() + at + 13, bytes.data(), size);
  ++open_.count;
  if (block) open_.blocks.push_back(t);
}

Batch Outbox::take() {
  if (closed_.empty()) close();
  Batch b = std::move(closed_.front());
  closed_.pop_front();
  return b;
}

void Outbox::close() {
  closed_.push_back(std::move(open_));
  open_ = Batch{};
}

void seal(Batch& batch) {
  const std::uint64_t total = batch.frame.size();
  std::memcpy(batch.frame.data(), &total, 8);
  std::memcpy(batch.frame.data() + 8, &batch.count, 4);
}

// Queues task t's value for `dests`. Returns false when it could not be serialized (the
// rank has failed then).
bool Executor::queue_sends(TaskId t, std::span<const int> dests, bool& held_for_blocks) {
  const Task& task = graph_.task(t);
  // Encoded once, into this thread's scratch buffer, then copied into the open
  // batch of each destination: no allocation per value.
  thread_local Bytes scratch;
  scratch.clear();
  bool block = false;
  try {
    Writer w(scratch);
    const BlockCodec* bc = task.codec->block;
    block = bc && bc->bytes(values_[t]).size() >= kBlockBytes;
    if (block)
      bc->header(values_[t], w);
    else
      task.codec->encode(values_[t], w);
  } catch (const std::exception& e) {
    fail(t, std::string("could not serialize its result (") + task.codec->name + ") to send it to rank " +
                std::to_string(dests[0]) + ": " + e.what());
    return false;
  }
  if (block) {
    // The block is sent from the value itself: keep it until every send is done.
    uses_[t].fetch_add(static_cast<std::uint32_t>(dests.size()), std::memory_order_acq_rel);
    held_for_blocks = true;
  }
  std::lock_guard lock(outbox_mutex_);
  for (int dest : dests) outbox_[dest].add(t, block, scratch);
  any_queued_ = true;
  return true;
}

bool Executor::try_progress() {
  std::unique_lock lock(mpi_mutex_, std::try_to_lock);
  if (!lock.owns_lock()) return false;
  return progress(false);
}

// Posts queued sends, retires finished ones, takes in arrived messages. Caller holds
// the MPI lock (or is the only thread). Returns whether anything happened.
bool Executor::progress(bool single_threaded) {
  std::unique_lock<std::mutex> lock;
  if (single_threaded) lock = std::unique_lock(mpi_mutex_);
  bool did = false;
  check_signal();
  try {
    did |= post_batches();
    did |= retire_sends();
    did |= retire_block_receives();
    while (true) {
      int found = 0;
      MPI_Message msg;
      MPI_Status status;
      check_mpi(MPI_Improbe(MPI_ANY_SOURCE, MPI_ANY_TAG, ctx_.comm, &found, &msg, &status), "MPI_Improbe");
      if (!found) break;
      did = true;
      if (status.MPI_TAG == kErrorTag) {
        record_remote_failure(decode_failure(receive_matched(msg, status, ctx_.comm)), status.MPI_SOURCE);
      } else if (status.MPI_TAG == kBatchTag) {
        take_batch(receive_matched(msg, status, ctx_.comm), status.MPI_SOURCE);
      } else {
        // Blocks are matched by receives posted when their batch arrived, never probed.
        throw MpiError("unexpected message with tag " + std::to_string(status.MPI_TAG) + " from rank " +
                       std::to_string(status.MPI_SOURCE));
      }
    }
    did |= retire_block_receives();
  } catch (const MpiError& e) {
    fail("", e.what());
  }
  if (failed_here_ && !failure_sent_) announce_failure();
  return did;
}

// Posts the batches waiting for each destination, as many as its window allows; an
// open batch goes too when a window has room, so a value never waits for company.
bool Executor::post_batches() {
  std::vector<std::pair<int, Batch>> ready;
  {
    std::lock_guard out_lock(outbox_mutex_);
    if (!any_queued_) return false;
    any_queued_ = false;
    for (int dest = 0; dest < ctx_.nranks; ++dest) {
      Outbox& box = outbox_[dest];
      for (int open = window_[dest]; open < kBatchWindow && !box.empty(); ++open) ready.emplace_back(dest, box.take());
      any_queued_ |= !box.empty();
    }
  }
  for (auto& [dest, batch] : ready) {
    seal(batch);
    auto frame = std::make_shared<Bytes>(std::move(batch.frame));
    Outgoing& out = in_flight_.emplace_back();
    out.batch = true;
    post_send(frame, dest, kBatchTag, /*synchronous=*/true, ctx_.comm, out);
    ++window_[dest];
    ++sent_to_[dest];
    stats_.messages_sent++;
    stats_.bytes_sent += frame->size();
    // Blocks follow their batch, so the receiver has posted their receives by the
    // time they are matched: MPI keeps messages between two ranks in order.
    for (TaskId t : batch.blocks) {
      auto block = graph_.task(t).codec->block->bytes(values_[t]);
      Outgoing& data = in_flight_.emplace_back();
      data.dest = dest;
      data.holds.push_back(t);
      post_block_send(block, dest, ctx_.comm, data.requests);
      stats_.bytes_sent += block.size();
    }
  }
  return !ready.empty();
}

namespace {

// Removes the entries of `list` whose requests have all completed, calling `done`
// on each first (order is not kept). Returns whether any completed.
template <class T, class Done>
bool retire(std::vector<T>& list, Done done) {
  bool did = false;
  for (std::size_t i = 0; i < list.size();) {
    int complete = 1;
    auto& reqs = list[i].requests;
    if (!reqs.empty())
      check_mpi(MPI_Testall(static_cast<int>(reqs.size()), reqs.data(), &complete, MPI_STATUSES_IGNORE),
                "MPI_Testall");
    if (!complete) {
      ++i;
      continue;
    }
    done(list[i]);
    list[i] = std::move(list.back());
    list.pop_back();
    did = true;
  }
  return did;
}

}  // namespace

bool Executor::retire_sends() {
  return retire(in_flight_, [this](Outgoing& out) {
    if (out.batch) --window_[out.dest];
    for (TaskId t : out.holds) release(t);
  });
}

// Unpacks a batch: small values are ready at once; a large value's block has a
// receive posted straight into the value's own storage.
void Executor::take_batch(const Bytes& bytes, int source) {
  ++received_from_[source];
  const std::byte* p = bytes.data() + 8;
  const std::byte* end = bytes.data() + bytes.size();
  auto read = [&](auto& field) {
    if (static_cast<std::size_t>(end - p) < sizeof field)
      throw MpiError("truncated batch from rank " + std::to_string(source));
    std::memcpy(&field, p, sizeof field);
    p += sizeof field;
  };
  std::uint32_t count = 0;
  read(count);
  for (std::uint32_t item_idx = 0; item_idx < count; ++item_idx) {
    std::uint32_t t = 0;
    std::uint8_t block = 0;
    std::uint64_t size = 0;
    read(t);
    read(block);
    read(size);
    if (t >= n_ || size > static_cast<std::size_t>(end - p))
      throw MpiError("malformed batch from rank " + std::to_string(source) + " (task " + std::to_string(t) + ")");
    Reader item(p, size);
    p += size;
    const Codec& codec = *graph_.task(t).codec;
    try {
      if (block) {
        std::span<std::byte> storage;
        Incoming& in = incoming_.emplace_back();
        in.task = t;
        in.value = codec.block->make(item, storage);
        post_block_receive(storage, source, ctx_.comm, in.requests);
      } else if (!stopped()) {  // a failed compute drops late values
        values_[t] = codec.decode(item);
        arrived(t);
      }
    } catch (const MpiError&) {
      throw;
    } catch (const std::exception& e) {
      fail(t, std::string("its value, received from rank ") + std::to_string(source) + ", could not be read: " +
                  e.what());
    }
  }
}

bool Executor::retire_block_receives() {
  return retire(incoming_, [this](Incoming& in) {
    if (stopped()) return;
    values_[in.task] = std::move(in.value);
    arrived(in.task);
  });
}

void Executor::arrived(TaskId t) {
  ++receives_;
  stats_.messages_received++;
  deliver(t, omp_in_parallel() ? omp_get_thread_num() : 0);
}

bool Executor::sends_in_flight() {
  std::lock_guard lock(outbox_mutex_);
  return any_queued_ || !in_flight_.empty();
}

// After a failure: drains every value still addressed to this rank, so that every send
// completes and the communicator carries nothing stale into the next compute.
void Executor::drain_messages() {
  std::vector<std::uint64_t> expected_from(ctx_.nranks);
  check_mpi(MPI_Alltoall(sent_to_.data(), 1, MPI_UINT64_T, expected_from.data(), 1, MPI_UINT64_T, ctx_.comm),
            "MPI_Alltoall");
  for (int source = 0; source < ctx_.nranks; ++source) {
    while (received_from_[source] < expected_from[source]) {
      MPI_Message msg;
      MPI_Status status;
      check_mpi(MPI_Mprobe(source, kBatchTag, ctx_.comm, &msg, &status), "MPI_Mprobe");
      take_batch(receive_matched(msg, status, ctx_.comm), source);
    }
  }
  {
    std::lock_guard lock(outbox_mutex_);
    for (auto& box : outbox_) box = Outbox{};  // never posted, so never counted
    any_queued_ = false;
  }
  for (auto& in : incoming_)
    check_mpi(MPI_Waitall(static_cast<int>(in.requests.size()), in.requests.data(), MPI_STATUSES_IGNORE),
              "MPI_Waitall");
  for (auto& out : in_flight_)
    check_mpi(MPI_Waitall(static_cast<int>(out.requests.size()), out.requests.data(), MPI_STATUSES_IGNORE),
              "MPI_Waitall");
}

}  // namespace rask::detail
