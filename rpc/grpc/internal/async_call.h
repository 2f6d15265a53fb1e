// AsyncCall and AsyncReactor: one call GrpcServer (grpc_server.h) serves on gRPC's async
// completion-queue API, seen by its reactor as reactions in the manner of gRPC's callback
// API (OnReadDone, OnWriteDone, OnCancel, OnDone). GrpcServer's pollers take each
// completion from the queue and run the reaction on their own thread, so a reaction that
// answers a call inline answers it on the thread that polled, with no hand-off.
//
//   // GrpcServer, for each call it wants to accept:
//   AsyncCall::Request(&service, queue, &acceptor);
//   // acceptor.Accept(call), on a poller once the call arrived:
//   auto* reactor = new CallReactor(call, ...);   // an AsyncReactor
//   call->Start(reactor);                          // its reactions may run from now on
//
// Reactor rules (those of gRPC's reactors): at most one read and one write in flight;
// Finish() or StartWriteAndFinish() exactly once, with no write in flight; OnDone() comes
// last, once Finish() completed, no read or write is in flight, and gRPC is done with the
// call (OnCancel() first, if the call was cancelled: the caller gave up, its deadline
// passed, its connection dropped, or the server cancelled it on shutdown).
//
// Thread safety: the operations may be started from any thread; reactions run on pollers,
// any number at once for one call (a read's and a write's), never two of one kind.
// Ownership: an AsyncCall deletes itself after its reactor's OnDone(), or when the request
// fails (the server is shutting down); the context must not be used after OnDone().

#ifndef SYSLINK_RPC_GRPC_INTERNAL_ASYNC_CALL_H_
#define SYSLINK_RPC_GRPC_INTERNAL_ASYNC_CALL_H_

#include <atomic>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/completion_queue.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/status.h"

namespace syslink::rpc::grpc_internal {

// What a poller does with a tag it took from the completion queue: every tag GrpcServer
// puts on its queue is one.
class CompletionTag {
 public:
  virtual void Complete(bool ok) = 0;

 protected:
  ~CompletionTag() = default;
};

class AsyncCall;

class AsyncReactor {
 public:
  virtual ~AsyncReactor() = default;
  virtual void OnReadDone(bool ok) { (void)ok; }
  virtual void OnWriteDone(bool ok) { (void)ok; }
  virtual void OnCancel() {}
  virtual void OnDone() = 0;

 protected:
  explicit AsyncReactor(AsyncCall* call) : call_(call) {}
  grpc::GenericServerContext& context();
  // `buffer` must stay valid until OnReadDone(); a written one may go at once.
  void StartRead(grpc::ByteBuffer* buffer);
  void StartWrite(const grpc::ByteBuffer* buffer);
  void StartWriteAndFinish(const grpc::ByteBuffer* buffer, grpc::WriteOptions options,
                           const grpc::Status& status);
  void Finish(const grpc::Status& status);

 private:
  AsyncCall* const call_;
};

class AsyncCall {
 public:
  // Called on a poller when a requested call arrives, and once it has ended.
  class Acceptor {
   public:
    virtual void Accept(AsyncCall* call) = 0;
    // After the reactor's OnDone(), the call deleted: no operation of it is left.
    virtual void Ended() = 0;

   protected:
    ~Acceptor() = default;
  };

  // Asks `service` for its next call, reported on `queue` (also the call's queue).
  static void Request(grpc::AsyncGenericService* service, grpc::ServerCompletionQueue* queue,
                      Acceptor* acceptor);

  grpc::GenericServerContext& context() { return context_; }
  // Hands the call to `reactor`, which gets every reaction from now on; once, from Accept.
  void Start(AsyncReactor* reactor);

 private:
  friend class AsyncReactor;

  // A tag that runs one reaction of the call.
  template <void (AsyncCall::*kReaction)(bool)>
  class Tag final : public CompletionTag {
   public:
    explicit Tag(AsyncCall* call) : call_(call) {}
    void Complete(bool ok) override { (call_->*kReaction)(ok); }

   private:
    AsyncCall* const call_;
  };

  explicit AsyncCall(Acceptor* acceptor) : acceptor_(acceptor) {}
  ~AsyncCall() = default;

  void Arrived(bool ok);
  void ReadDone(bool ok);
  void WriteDone(bool ok);
  void Finished(bool ok);
  void Done(bool ok);
  // Drops one of the holds pending_ counts; the last runs OnDone() and deletes the call.
  void Unhold();
  // reactor_, for a reaction that follows an operation the reactor started.
  AsyncReactor* reactor() ABSL_NO_THREAD_SAFETY_ANALYSIS { return reactor_; }

  Acceptor* const acceptor_;
  grpc::GenericServerContext context_;
  grpc::GenericServerAsyncReaderWriter stream_{&context_};
  // Set by Start() before any operation, read by the read, write and finish reactions
  // without the lock: the queue orders them after it (an operation completes after it was
  // started). The done tag may come first (a call cancelled as it arrives): its reaction
  // takes the lock, and leaves the OnCancel() to Start().
  absl::Mutex start_mutex_;
  AsyncReactor* reactor_ ABSL_GUARDED_BY(start_mutex_) = nullptr;
  bool cancelled_before_start_ ABSL_GUARDED_BY(start_mutex_) = false;
  // The call's holds: the done tag (AsyncNotifyWhenDone), the finish until it completed,
  // and each read and write in flight. Acquire-release: the last to drop it sees every
  // reaction's effects before OnDone().
  std::atomic<int> pending_{2};

  Tag<&AsyncCall::Arrived> arrived_tag_{this};
  Tag<&AsyncCall::ReadDone> read_tag_{this};
  Tag<&AsyncCall::WriteDone> write_tag_{this};
  Tag<&AsyncCall::Finished> finish_tag_{this};
  Tag<&AsyncCall::Done> done_tag_{this};
};

}  // namespace syslink::rpc::grpc_internal

#endif  // SYSLINK_RPC_GRPC_INTERNAL_ASYNC_CALL_H_
