// InProcessStream: one stream between a caller and a method in the same process
// (InProcessChannel::OpenStream, rpc/in_process_channel.h), both sides of it in one object.
//
//   auto stream = std::make_shared<InProcessStream>(method.path, window, deadline);
//   // the method's thread: call.set_stream(stream.get()); ... stream->Return(outcome);
//   // the caller's: stream->ClientWrite(...), stream->ClientRead(...), stream->Finish()
//
// Each side's messages wait in a queue of their own, serialized as over a link, until the
// other side reads them (a message that does not parse ends the stream as over a link);
// attachments move with them, uncopied. A queue holds at most `window` messages and, past
// its first, kStreamWindowBytes bytes: a writer whose reader is slow waits, or, when it
// asked not to, is refused with RESOURCE_EXHAUSTED, so memory stays bounded on both sides.
//
// Ending: the method returns (Return(): its status and, for client streaming, its
// response), and the caller reads the messages it wrote before that, then the end. Or the
// caller gives up (Cancel(): its TryCancel(), or its stream destroyed before Finish()), or
// the deadline passes: both queues are dropped, both sides end at once, and the method's
// context reads cancelled(), its Read() and Write() returning false. A message from the
// method that does not parse as the caller's type ends the method's side the same way, and
// Finish() gives INVALID_ARGUMENT; one from the caller that does not parse as the method's
// ends the method's side, and Finish() gives whatever the method returns.
//
// Errors the caller's side gives: FAILED_PRECONDITION (a write after WritesDone(), or
// after the method returned OK), RESOURCE_EXHAUSTED (the window is full and the writer did
// not wait), CANCELLED (Cancel()), DEADLINE_EXCEEDED (the deadline passed before the method
// returned), INVALID_ARGUMENT (a message from the method that does not parse), or else the
// method's own status. Each names the method's path.
//
// Thread safety: thread-safe. The Client* functions and Finish() are the caller's (one
// thread may read while another writes), Read(), Write() and Return() the method's thread's;
// Cancel() any thread's. Ownership: shared by the caller's stream and the method's thread;
// it owns the method's ServerContext, which lives as long as it does.

#ifndef SYSLINK_RPC_INTERNAL_IN_PROCESS_STREAM_H_
#define SYSLINK_RPC_INTERNAL_IN_PROCESS_STREAM_H_

#include <cstddef>
#include <deque>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "google/protobuf/message_lite.h"
#include "rpc/attachment.h"
#include "rpc/context.h"
#include "rpc/metadata.h"
#include "rpc/stream.h"

namespace syslink::rpc::internal {

class InProcessStream final : public ServerStream {
 public:
  // How the stream ended, as Finish() gives it to the caller.
  struct Outcome {
    absl::Status status;
    std::string response;            // serialized: a client-streaming method's, when OK
    Attachment response_attachment;  // the method context's, when OK
    Metadata trailing;               // the method's trailing metadata, checked
  };

  // A stream of the method at `path`, `window` messages each way (at least 1), ending at
  // `deadline`. The method's context (server_context()) is this process's caller's, with
  // `deadline`; the channel adds the caller's metadata and attachment before it runs.
  InProcessStream(absl::string_view path, int window, absl::Time deadline);

  const std::string& path() const { return path_; }
  ServerContext& server_context() { return server_context_; }

  // The caller's side (ClientStream, rpc/stream.h, says what each does).
  [[nodiscard]] absl::Status ClientWrite(const google::protobuf::MessageLite& message,
                                         Attachment* attachment, bool wait);
  [[nodiscard]] absl::Status WritesDone();
  bool ClientRead(google::protobuf::MessageLite* message, Attachment* attachment);
  // Waits until the method returned or the stream ended, dropping the method's messages
  // not read (and those it writes meanwhile); then the final status and the rest of the
  // outcome, moved out.
  Outcome Finish();
  // The caller gave up (`why` says how, after the method's path): ends the stream with
  // CANCELLED unless the method returned already.
  void Cancel(absl::string_view why);

  // The method returned, with `outcome`: the caller reads what it wrote, then the end.
  void Return(Outcome outcome);

  // ServerStream: the method's side.
  bool Read(google::protobuf::MessageLite* message, Attachment* attachment) override;
  bool Write(const google::protobuf::MessageLite& message, Attachment attachment) override;

 private:
  struct Queued {
    std::string bytes;
    Attachment attachment;
  };
  // One direction's messages, written and not yet read.
  struct Queue {
    std::deque<Queued> messages;
    size_t bytes = 0;
    // Whether a message of `size` bytes fits in the window of `window` messages.
    bool HasRoom(size_t size, int window) const;
    void Push(std::string bytes, Attachment attachment);
    Queued Pop();
    void Clear();
  };

  // Ends the stream with `status` (CANCELLED or DEADLINE_EXCEEDED) unless it ended already.
  void EndLocked(absl::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Whether the caller's side waits no more: the method returned or the stream ended.
  bool OverForClient() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return returned_ || !ended_.ok();
  }
  // Whether the method's side waits no more.
  bool OverForMethod() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return !ended_.ok() || method_stopped_ || server_context_.cancelled();
  }
  // Waits until `ready` or `over`, ending the stream if the deadline passes first.
  template <typename Ready, typename Over>
  void WaitUntil(Ready ready, Over over) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  // Set by the constructor and never changed.
  const std::string path_;
  const int window_;
  const absl::Time deadline_;
  // The method's; its own thread's but for cancelled() and MarkCancelled (any thread's).
  ServerContext server_context_;

  absl::Mutex mutex_;
  absl::CondVar changed_;  // a message was written or read, or a side ended
  Queue to_method_ ABSL_GUARDED_BY(mutex_);
  Queue to_caller_ ABSL_GUARDED_BY(mutex_);
  bool writes_done_ ABSL_GUARDED_BY(mutex_) = false;  // the caller's WritesDone()
  bool finishing_ ABSL_GUARDED_BY(mutex_) = false;    // the caller's in Finish(): drop
  bool returned_ ABSL_GUARDED_BY(mutex_) = false;     // the method returned: `outcome_`
  // The method's Read() and Write() return false: a message it could not parse, or one of
  // its messages the caller could not (`bad_message_`).
  bool method_stopped_ ABSL_GUARDED_BY(mutex_) = false;
  absl::Status ended_ ABSL_GUARDED_BY(mutex_);        // CANCELLED, DEADLINE_EXCEEDED
  absl::Status bad_message_ ABSL_GUARDED_BY(mutex_);  // the caller could not parse one
  Outcome outcome_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace syslink::rpc::internal

#endif  // SYSLINK_RPC_INTERNAL_IN_PROCESS_STREAM_H_
