// LinkServerStream: one stream being served on a link (ServerStream, rpc/stream.h).
//
// Two threads meet here: the session's thread, which receives the client's stream
// requests (its messages and its pulls, docs/wire-format.md "Streams") and hands them in,
// and the method's thread, which reads the messages and answers the pulls with what it
// writes. Every request handed in is answered exactly once, through `reply` (which queues
// the answer for the session's thread):
//   - a message when the method has read it and is done with it (at its next Read(), or
//     when it returns: its attachment is the client's buffer, readable until then);
//   - a pull with the next message the method writes, or with the end once it returned;
//   - everything left when Close() is called, once the method returned.
//
// Flow control: the client keeps at most its window of messages and pulls outstanding;
// more than kMaxQueued of either is refused with RESOURCE_EXHAUSTED, so a hostile client
// cannot grow the queues. Write() waits for a pull, Read() for a message, each until the
// stream's deadline, its cancellation (Cancel(), the context's cancelled()) or Close().
//
// Thread safety: all methods from any thread; Read() and Write() from the method's threads.

#ifndef SYSLINK_RPC_INTERNAL_LINK_SERVER_STREAM_H_
#define SYSLINK_RPC_INTERNAL_LINK_SERVER_STREAM_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "rpc/attachment.h"
#include "rpc/context.h"
#include "rpc/stream.h"

namespace syslink::rpc::internal {

class LinkServerStream final : public ServerStream {
 public:
  static constexpr size_t kMaxQueued = 1024;

  // Answers request `id` with `status` and, when OK, a call header with `flags`, the
  // serialized message and the attachment.
  using Reply = std::function<void(uint64_t id, absl::Status status, uint16_t flags,
                                   std::string message, Attachment attachment)>;

  // `context` is the method's and must outlive the stream.
  LinkServerStream(uint32_t stream_id, ServerContext* context, Reply reply);

  uint32_t stream_id() const { return stream_id_; }

  // The session's thread hands in the client's requests. RESOURCE_EXHAUSTED (which the
  // caller answers the request with) past kMaxQueued; FAILED_PRECONDITION for a message
  // after the client's half-close. After Close(), messages are answered at once
  // (FAILED_PRECONDITION: the method returned) and pulls with the end.
  absl::Status AddMessage(uint64_t id, std::string message, Attachment attachment);
  absl::Status AddPull(uint64_t id);
  void HalfClose();
  // The client gave up, or its link is closing: Read() and Write() return false from now,
  // and the context reads cancelled().
  void Cancel();

  // The method returned: answers every request still held. Called once, before the final
  // status is sent, so the client sees the end of the messages before it.
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

  // Whether the method must stop waiting. mutex_ held.
  bool Ended() const;
  // Waits until `ready` or Ended(), or the deadline; then whether `ready`. mutex_ held.
  template <typename Ready>
  bool Wait(std::unique_lock<std::mutex>& lock, Ready ready);

  const uint32_t stream_id_;
  ServerContext* const context_;
  const Reply reply_;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Incoming> messages_;  // guarded by mutex_
  std::deque<uint64_t> pulls_;     // guarded by mutex_
  uint64_t last_read_ = 0;         // guarded by mutex_: the message read last, unanswered
  bool half_closed_ = false;       // guarded by mutex_
  bool cancelled_ = false;         // guarded by mutex_
  bool closed_ = false;            // guarded by mutex_
};

}  // namespace syslink::rpc::internal

#endif  // SYSLINK_RPC_INTERNAL_LINK_SERVER_STREAM_H_
