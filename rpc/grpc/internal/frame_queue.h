#ifndef SYSLINK_RPC_GRPC_INTERNAL_FRAME_QUEUE_H_
#define SYSLINK_RPC_GRPC_INTERNAL_FRAME_QUEUE_H_

// A stream's messages queued one way beyond gRPC's own flow control: read ahead for the
// reader, or written and not yet taken by gRPC (the front is then in flight). Bounded in
// messages and in bytes, so that a peer sending large messages cannot make a stream hold
// kStreamWindow of them.
//
// Not thread-safe: its owner guards it with the stream's mutex.

#include <cstddef>
#include <deque>
#include <utility>

#include "grpcpp/support/byte_buffer.h"

namespace syslink::rpc::grpc_internal {

// Messages a stream queues each way beyond gRPC's own flow control: read ahead, and
// written but not yet taken by gRPC (GrpcChannel's streams and GrpcServer's).
inline constexpr size_t kStreamWindow = 16;
// ... and bytes: a queue takes another message only while it holds fewer than this. The
// message that crosses it is kept whole, so a queue holds at most this plus one message.
inline constexpr size_t kStreamWindowBytes = size_t{1} << 20;

class FrameQueue {
 public:
  // Whether another message may join: fewer than kStreamWindow are queued, holding fewer
  // than kStreamWindowBytes. An empty queue always has room, for a message of any size.
  bool HasRoom() const { return frames_.size() < kStreamWindow && bytes_ < kStreamWindowBytes; }

  bool empty() const { return frames_.empty(); }
  size_t size() const { return frames_.size(); }
  // The bytes of the messages queued.
  size_t bytes() const { return bytes_; }

  // Queues `frame`, whose contents it takes (leaving it empty).
  void Push(grpc::ByteBuffer& frame) {
    frames_.emplace_back();
    frames_.back().bytes = frame.Length();
    frames_.back().frame.Swap(&frame);
    bytes_ += frames_.back().bytes;
  }
  // The oldest message; the queue must not be empty. It stays where it is (a write in
  // flight points at it) until PopFront().
  grpc::ByteBuffer& front() { return frames_.front().frame; }
  // Takes the oldest message out into `out` (replacing what it held); the queue must not
  // be empty.
  void PopFront(grpc::ByteBuffer* out) {
    out->Swap(&frames_.front().frame);
    DropFront();
  }
  // Drops the oldest message; the queue must not be empty.
  void DropFront() {
    bytes_ -= frames_.front().bytes;
    frames_.pop_front();
  }
  void Clear() {
    frames_.clear();
    bytes_ = 0;
  }

 private:
  struct Entry {
    grpc::ByteBuffer frame;
    size_t bytes = 0;  // its length when queued (gRPC may take it, for a write in flight)
  };
  std::deque<Entry> frames_;
  size_t bytes_ = 0;
};

}  // namespace syslink::rpc::grpc_internal

#endif  // SYSLINK_RPC_GRPC_INTERNAL_FRAME_QUEUE_H_
