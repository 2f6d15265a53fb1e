// LinkServerStream: one stream being served on a link (ServerStream, rpc/stream.h).
//
// Two threads meet here: the session's thread, which receives the client's stream
// requests (its messages and its pulls, docs/wire-format.md "Streams") and hands them in,
// and the method's thread, which reads the messages and answers the pulls with what it
// writes. Every request handed in is answered exactly once, through `reply` (which queues
// the answer for the session's thread):
//   - a message when the method has read it and is done with it (at its next Read(), or
//     when it returns: its attachment is the client's buffer, readable until then);
//   - a pull, which gives room for up to N messages, with what the method wrote: at once
//     with the messages written and not yet sent (several in one reply, kCallStreamBatch,
//     up to N), or else with the next message written; with the end once it returned;
//   - everything left when Close() is called, once the method returned.
//
// So a method that writes faster than its client reads fills a buffer (as many messages as
// the client's window, which its pulls announce; at most kMaxBuffered messages and
// kMaxBufferedBytes bytes) and its messages go out in batches, one
// reply per pull, without the method waking for each; one that writes slower sends each at
// once. A message with an attachment goes alone (a reply carries one buffer).
//
// Flow control: the client keeps at most its window of messages and pulls outstanding;
// more than kMaxQueued of either (or a message past kMaxQueuedBytes held unread) is refused
// with RESOURCE_EXHAUSTED, so a hostile client cannot grow the queues. Write() waits for room in
// the buffer, Read() for a message, each until the stream's deadline, its cancellation (Cancel(),
// the context's cancelled()) or Close().
//
// Thread safety: all methods from any thread; Read() and Write() from the method's threads.

#ifndef SYSLINK_RPC_INTERNAL_LINK_SERVER_STREAM_H_
#define SYSLINK_RPC_INTERNAL_LINK_SERVER_STREAM_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "rpc/attachment.h"
#include "rpc/context.h"
#include "rpc/internal/call_format.h"
#include "rpc/stream.h"

namespace syslink::rpc::internal {

class LinkServerStream final : public ServerStream {
 public:
  static constexpr size_t kMaxQueued = 1024;
  static constexpr size_t kMaxQueuedBytes = 2 * kStreamWindowBytes;
  static constexpr size_t kMaxBuffered = 1024;
  static constexpr size_t kMaxBufferedBytes = 1 << 20;

  // Answers request `id` with `status` and, when OK, a call header with `flags`, the
  // serialized message and the attachment.
  using Reply = std::function<void(uint64_t id, absl::Status status, uint16_t flags,
                                   std::string message, Attachment attachment)>;

  // `context` is the method's, shared: the session may still cancel the stream (Cancel())
  // after the method returned. A reply carries at most `batch_bytes` of batched messages (a
  // message larger than that goes alone).
  LinkServerStream(uint32_t stream_id, std::shared_ptr<ServerContext> context, Reply reply,
                   size_t batch_bytes = 64 * 1024);

  uint32_t stream_id() const { return stream_id_; }

  // The session's thread hands in the client's requests. RESOURCE_EXHAUSTED (which the
  // caller answers the request with) past kMaxQueued; FAILED_PRECONDITION for a message
  // after the client's half-close. After Close(), messages are answered at once
  // (FAILED_PRECONDITION: the method returned) and pulls with the end.
  absl::Status AddMessage(uint64_t id, std::string message, Attachment attachment);
  absl::Status AddPull(uint64_t id, uint32_t room);
  void HalfClose();
  // The client gave up, or its link is closing: Read() and Write() return false from now,
  // and the context reads cancelled().
  void Cancel();

  // The method returned: waits until the client has pulled what it wrote (or the stream
  // ended), then answers every request still held. Called once, before the final status
  // is sent, so the client sees the method's messages and their end before it.
  void Close();

  // ServerStream.
  bool Read(google::protobuf::MessageLite* message, Attachment* attachment) override;
  bool Write(const google::protobuf::MessageLite& message, Attachment attachment) override;

 private:
  struct Incoming {
    uint64_t id;
    std::string message;
    Attachment attachment;
  };
  struct Pull {
    uint64_t id;
    uint32_t room;  // messages the client has room for, at least 1
  };
  // Written, not yet sent: one message with its attachment, or (packed) a run of messages
  // without, each behind its 4-byte little-endian length, as a batch reply carries them.
  // A method's small messages are serialized straight into the run at the back, so
  // buffering one costs no allocation of its own.
  struct Outgoing {
    std::string message;
    Attachment attachment;  // only when !packed
    uint32_t count = 1;     // messages in it
    bool packed = false;
    size_t bytes() const { return message.size() + attachment.size(); }
  };
  struct Batch {
    uint64_t pull;
    uint16_t flags;
    std::string message;
    Attachment attachment;
  };

  // Takes from outgoing_ what one reply to a pull with `room` carries. outgoing_ not
  // empty.
  Batch TakeBatch(uint64_t pull, uint32_t room) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Adds a message without attachment to the packed run at the back of outgoing_, or
  // starts a run.
  void Buffer(const std::string& message) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void Send(Batch batch) {
    reply_(batch.pull, absl::OkStatus(), batch.flags, std::move(batch.message),
           std::move(batch.attachment));
  }

  // Whether the method must stop waiting.
  bool Ended() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Waits until `ready` or Ended(), or the deadline; then whether `ready`. `ready` is
  // called with mutex_ held.
  template <typename Ready>
  bool Wait(Ready ready) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  // Set by the constructor and never changed (reply_ and the context are thread-safe).
  const uint32_t stream_id_;
  const std::shared_ptr<ServerContext> context_;
  const Reply reply_;
  const size_t batch_bytes_;

  absl::Mutex mutex_;
  absl::CondVar changed_;  // a request came in, room was made, or the stream ended
  std::deque<Incoming> messages_ ABSL_GUARDED_BY(mutex_);
  size_t messages_bytes_ ABSL_GUARDED_BY(mutex_) = 0;      // of messages_
  std::deque<Pull> pulls_ ABSL_GUARDED_BY(mutex_);         // only while outgoing_ is empty
  std::deque<Outgoing> outgoing_ ABSL_GUARDED_BY(mutex_);  // written, not yet sent
  size_t outgoing_count_ ABSL_GUARDED_BY(mutex_) = 0;      // messages in outgoing_
  // Bytes in outgoing_: messages (with their lengths when packed) and attachments.
  size_t outgoing_bytes_ ABSL_GUARDED_BY(mutex_) = 0;
  size_t buffer_limit_ ABSL_GUARDED_BY(mutex_) = 1;  // the most room a pull announced
  uint64_t last_read_ ABSL_GUARDED_BY(mutex_) = 0;   // the message read last, unanswered
  bool half_closed_ ABSL_GUARDED_BY(mutex_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mutex_) = false;
  bool closed_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace syslink::rpc::internal

#endif  // SYSLINK_RPC_INTERNAL_LINK_SERVER_STREAM_H_
