// StreamReactor: one streaming call GrpcServer serves (grpc_server.h), and the
// GrpcServerStream its handler reads and writes.
//
//   // GrpcServer's Accept(), for a path whose handler says it streams:
//   auto* reactor = new StreamReactor(call, kind, handler, &stream_threads);
//   call->Start(reactor);
//   reactor->Begin();
//
// The reactions (OnReadDone, OnWriteDone, OnCancel; async_call.h) run on GrpcServer's
// pollers and only move buffers and wake the handler's thread; the handler runs on a thread of its
// own (StreamThreads), since it waits for the caller. The caller's messages are read ahead, and
// written ones queue for gRPC, one in flight at a time, each way up to a FrameQueue's bound. The
// messages read ahead also count against the server's ReadAheadBudget (read_ahead_budget.h):
// while it is used up, the stream starts no read but the one its waiting handler asks for,
// and gRPC's flow control holds the caller back. A stream so stopped tries again each time
// its handler reads and each time a read of its own completes. The messages read ahead that
// the handler will never take are dropped, their bytes given back, as soon as that is
// known: the handler returned or called StopReading(), or the call ended. When the handler
// returns, the queued writes go out, then its client-streaming response (if any) and the
// final status, with the reply's trailing metadata.
//
// Thread safety: Read() and Write() from the handler's threads (one each), StopReading()
// from any. Ownership: deletes itself once gRPC is done with the call (OnDone) and the
// handler's thread is done with it; the ReadAheadBudget must outlive it.

#ifndef SYSLINK_RPC_GRPC_INTERNAL_STREAM_REACTOR_H_
#define SYSLINK_RPC_GRPC_INTERNAL_STREAM_REACTOR_H_

#include <atomic>
#include <functional>
#include <limits>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/support/byte_buffer.h"
#include "rpc/grpc/grpc_server.h"
#include "rpc/grpc/internal/async_call.h"
#include "rpc/grpc/internal/frame_queue.h"
#include "rpc/grpc/internal/read_ahead_budget.h"
#include "rpc/metadata.h"

namespace syslink::rpc::grpc_internal {

// Adds `metadata` to the trailing metadata `context` sends with the status, if all of it
// follows rpc/metadata.h's rules; else adds none and returns INVALID_ARGUMENT naming the
// entry (GrpcReply::trailing_metadata). Defined in grpc_server.cc.
absl::Status AddTrailingMetadata(const Metadata& metadata, grpc::ServerContextBase& context);

// Runs tasks (each streaming call's handler, GrpcServer's pollers) on threads of their
// own, and waits for them all. At most `max_streams` streams' handlers run at once.
class StreamThreads {
 public:
  explicit StreamThreads(int max_streams = std::numeric_limits<int>::max())
      : max_streams_(max_streams) {}
  ~StreamThreads() { Wait(); }
  // Runs `task` on a new thread (detached; Wait() waits for it to end). False, `task`
  // dropped, when the system makes no thread (RLIMIT_NPROC, a cgroup's pids).
  [[nodiscard]] bool Start(std::function<void()> task);
  // Takes one of the max_streams places for a stream's handler; false when all are taken.
  // Each place taken goes to StartStream(), which gives it back when its task ends.
  bool TakeStreamPlace();
  // Runs `task` as Start() does, in a place TakeStreamPlace() took. False, the place given
  // back and `task` dropped, when the system makes no thread.
  bool StartStream(std::function<void()> task);
  // Returns once every task started has returned.
  void Wait();

 private:
  // Shared with the threads, which touch it until the last moment.
  struct Count {
    absl::Mutex mutex;
    int running ABSL_GUARDED_BY(mutex) = 0;
    int streams ABSL_GUARDED_BY(mutex) = 0;  // places taken
  };
  // Start() on a thread that gives back a stream's place when `stream`.
  bool Launch(std::function<void()> task, bool stream);

  const int max_streams_;
  std::shared_ptr<Count> count_ = std::make_shared<Count>();
};

class StreamReactor final : public AsyncReactor, public GrpcServerStream {
 public:
  StreamReactor(AsyncCall* async_call, MethodKind kind, GrpcCallHandler* handler,
                StreamThreads* threads, ReadAheadBudget* read_ahead);
  // Starts reading ahead and the handler's thread; the reactions may run from then on.
  // Ends the call with RESOURCE_EXHAUSTED instead when StreamThreads has no place or
  // no thread for it.
  void Begin();

  // GrpcServerStream.
  bool Read(google::protobuf::MessageLite* message, Attachment* attachment) override;
  bool ReadBytes(std::string* message, Attachment* attachment) override;
  bool Write(const google::protobuf::MessageLite& message, Attachment attachment) override;
  void StopReading() override;

  // The call's reactions.
  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  // The handler's thread: runs it, then ends the call.
  void Run();
  // Ends the call, unserved, with RESOURCE_EXHAUSTED saying `why`.
  void Refuse(absl::string_view why);
  // Starts the next read, if none is in flight and received_ may take its message.
  void StartReadIfRoom() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Ends the stream: a message that did not parse. Read() and Write() return false.
  void Fail(absl::Status status);
  void Release();

  // Set up by the constructor, then used by the handler's thread (Run and the handler);
  // from the pollers only call_.Cancel(), which is thread-safe, touches them.
  GrpcCallHandler* const handler_;
  StreamThreads* const threads_;
  GrpcServerCall call_;
  GrpcReply reply_;
  bool framed_ = false;  // the caller announced attachments in its messages

  absl::Mutex mutex_;
  grpc::ByteBuffer read_buffer_ ABSL_GUARDED_BY(mutex_);  // gRPC's while a read is in flight
  ReadAheadQueue received_ ABSL_GUARDED_BY(mutex_);
  bool reading_ ABSL_GUARDED_BY(mutex_) = false;
  bool handler_waiting_ ABSL_GUARDED_BY(mutex_) = false;  // in ReadBytes(), for a message
  bool read_done_ ABSL_GUARDED_BY(mutex_) = false;        // the caller half-closed or is gone
  bool stop_reading_ ABSL_GUARDED_BY(mutex_) = false;
  FrameQueue writes_ ABSL_GUARDED_BY(mutex_);  // the front is in flight
  bool writing_ ABSL_GUARDED_BY(mutex_) = false;
  bool ended_ ABSL_GUARDED_BY(mutex_) = false;    // cancelled, or a write failed
  absl::Status failure_ ABSL_GUARDED_BY(mutex_);  // a message that did not parse
  // Atomic, not guarded: the last Release() deletes the reactor, mutex_ included.
  std::atomic<int> holds_{2};  // gRPC's, until OnDone; the handler thread's, until Run ends
};

}  // namespace syslink::rpc::grpc_internal

#endif  // SYSLINK_RPC_GRPC_INTERNAL_STREAM_REACTOR_H_
