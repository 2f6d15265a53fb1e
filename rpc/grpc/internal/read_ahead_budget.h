// ReadAheadBudget: the bytes all of a GrpcServer's streams may hold read ahead together
// (GrpcServerOptions::max_read_ahead_bytes); ReadAheadQueue: one stream's read-ahead
// queue, whose bytes count against it.
//
//   ReadAheadBudget budget(256 << 20);            // the server's, for all its streams
//   ReadAheadQueue received(&budget);             // each stream's
//   if (received.MayRead(handler_waiting)) StartRead(&buffer);
//   received.Push(buffer);                        // the read's message: counted
//   received.PopFront(&frame);                    // taken by the handler: given back
//
// A stream reads ahead only while its own window (FrameQueue) has room and the budget holds
// fewer bytes than its limit; the message that crosses the limit is kept whole. A handler
// waiting on an empty queue always gets the one message it asks for, whatever the budget:
// streams that hold the whole budget cannot stall one whose handler waits (that message is
// counted too, until the handler takes it). So the queues hold together at most the limit
// plus about one message per stream: each stream has one read in flight at a time.
//
// Thread safety: ReadAheadBudget is thread-safe. Its count is one atomic, read and written
// relaxed: it guards no other memory, and a stream that sees a count a moment old reads
// ahead one message more or fewer, which the bound above allows for. ReadAheadQueue is not
// thread-safe: its stream guards it with the stream's mutex. Ownership: the budget must
// outlive its queues; a queue gives back its bytes when cleared and when destroyed.

#ifndef SYSLINK_RPC_GRPC_INTERNAL_READ_AHEAD_BUDGET_H_
#define SYSLINK_RPC_GRPC_INTERNAL_READ_AHEAD_BUDGET_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "grpcpp/support/byte_buffer.h"
#include "rpc/grpc/internal/frame_queue.h"

namespace syslink::rpc::grpc_internal {

class ReadAheadBudget {
 public:
  explicit ReadAheadBudget(uint64_t limit) : limit_(limit) {}
  ReadAheadBudget(const ReadAheadBudget&) = delete;
  ReadAheadBudget& operator=(const ReadAheadBudget&) = delete;

  // Whether a stream may start another read ahead: fewer than limit() bytes are held.
  bool HasRoom() const { return held() < limit_; }
  uint64_t limit() const { return limit_; }
  // The bytes the queues hold now.
  uint64_t held() const { return held_.load(std::memory_order_relaxed); }

  void Take(size_t bytes) { held_.fetch_add(bytes, std::memory_order_relaxed); }
  // Gives back bytes Take() took.
  void GiveBack(size_t bytes) { held_.fetch_sub(bytes, std::memory_order_relaxed); }

 private:
  const uint64_t limit_;
  std::atomic<uint64_t> held_{0};
};

class ReadAheadQueue {
 public:
  explicit ReadAheadQueue(ReadAheadBudget* budget) : budget_(budget) {}
  ~ReadAheadQueue() { Clear(); }
  ReadAheadQueue(const ReadAheadQueue&) = delete;
  ReadAheadQueue& operator=(const ReadAheadQueue&) = delete;

  // Whether the stream may start a read: its handler waits (`handler_waiting`) on an empty
  // queue, or both the stream's window and the budget have room.
  bool MayRead(bool handler_waiting) const {
    if (handler_waiting && queue_.empty()) return true;
    return queue_.HasRoom() && budget_->HasRoom();
  }

  bool empty() const { return queue_.empty(); }
  // The bytes of the messages queued, all of them taken from the budget.
  size_t bytes() const { return queue_.bytes(); }

  // Queues `frame`, whose contents it takes (leaving it empty), and takes its bytes from
  // the budget.
  void Push(grpc::ByteBuffer& frame) {
    const size_t before = queue_.bytes();
    queue_.Push(frame);
    budget_->Take(queue_.bytes() - before);
  }
  // Takes the oldest message out into `out` and gives its bytes back; the queue must not
  // be empty.
  void PopFront(grpc::ByteBuffer* out) {
    const size_t before = queue_.bytes();
    queue_.PopFront(out);
    budget_->GiveBack(before - queue_.bytes());
  }
  // Drops every message and gives their bytes back.
  void Clear() {
    budget_->GiveBack(queue_.bytes());
    queue_.Clear();
  }

 private:
  ReadAheadBudget* const budget_;
  FrameQueue queue_;
};

}  // namespace syslink::rpc::grpc_internal

#endif  // SYSLINK_RPC_GRPC_INTERNAL_READ_AHEAD_BUDGET_H_
