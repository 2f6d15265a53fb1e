// LinkChannel: a Channel (channel.h) over a syslink link.
//
//   absl::StatusOr<Link> link = syslink::broker::ConnectToService("echo");
//   auto channel = std::make_shared<syslink::rpc::LinkChannel>(*std::move(link));
//   echo::EchoServiceStub stub(channel);
//
// Requests are serialized straight into the link's ring when they fit (a quarter of the
// ring) and spill into a DMA buffer when they do not; past the link's DMA limit a call
// fails with RESOURCE_EXHAUSTED naming the size and the limit. An attachment allocated with
// AllocateAttachment() is lent to the server without a copy and comes back in the
// context's request_attachment() when the call completes.
//
// A server that dies or closes the link completes every call outstanding with UNAVAILABLE
// carrying syslink's PEER_DIED payload (syslink::IsPeerDied); a call after that fails the
// same way at once. Nothing hangs on a dead server.
//
// Thread safety: thread-safe, and calls from many threads are carried at once: a thread
// holds the channel only to put its request in the ring and to take replies out. While
// calls are outstanding, one thread at a time reads the link for all of them (the reader)
// and hands each reply to its caller; the others wait for theirs, spinning for the link's
// spin budget and then sleeping. A sync caller is the reader while no one else is, so a
// lone caller waits on the ring itself, as on a link of its own. A slow call does not
// hold up a fast one: B's call completes while A's is outstanding. A call that finds no
// room in the link (the server reads nothing) waits for it until its deadline or cancel,
// letting the threads that wait for the channel have it every 10 ms (kRoomSlice); a lent
// attachment of a call not sent stays in its context. Async calls complete
// without anyone driving the channel: while any is outstanding and no caller reads, the
// channel's completion thread (started with the first async call) reads. While a thread
// is in Drain(), the completion thread stands aside: Drain() reads the link itself when no
// one else does and runs the callbacks, so a caller that starts calls and drains them
// waits on the ring, not on a wake-up of another thread. The callbacks of replies run one at
// a time, in the order the replies were read, never while the channel is held: on the
// completion thread or on a thread in Drain() (LinkChannelOptions::completion_thread says
// otherwise). A call that cannot be sent runs its callback at once, on the caller's
// thread; the destructor runs those left, each call it gave up with CANCELLED. Drain()
// must not be called from a callback: it would wait for that callback to return. When its
// deadline passes it returns the calls not yet replied to; callbacks of replies already
// read may still be running on another thread.

#ifndef SYSLINK_RPC_LINK_CHANNEL_H_
#define SYSLINK_RPC_LINK_CHANNEL_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/inlined_vector.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "base/unique_fd.h"
#include "rpc/channel.h"
#include "rpc/context.h"
#include "rpc/internal/call_table.h"
#include "rpc/internal/channel_mutex.h"
#include "rpc/internal/stream_ids.h"
#include "rpc/stream.h"
#include "syslink/link.h"

namespace syslink::rpc {
namespace internal {
class MessageSource;
}  // namespace internal

struct LinkChannelOptions {
  // Each stream's window (rpc/stream.h): the messages a side may have sent and not yet had
  // taken by the other, 1 to 1024. Messages with attachments count against a second,
  // smaller window each way: half the link's DMA arena in buffers of its largest size
  // (16 with the default LinkOptions), so that they cannot exhaust the arena.
  int stream_window = 1024;
  // Whether async calls complete on a thread of the channel's. Without it they complete
  // only while someone drives the channel: a sync call, or Drain(), which reads the link
  // itself (for a caller with a loop of its own, and for counting instructions). The
  // callbacks of replies a sync call or a stream's waiter read run in a Drain() on another
  // thread at once, or else on the waiter's thread when its wait ends; those Drain() reads
  // itself it runs at once, so two may run at once on two threads. Notices to the server
  // that waited for room (a call or stream given up on) then go with the next read of the
  // link, or the next Drain().
  bool completion_thread = true;
};

// `status` with the method's path before its message ("/kv.Store/Get: ..."), its payloads
// kept: what a reply syslink wrote itself (deadline, cancel, PEER_DIED) says of a call.
absl::Status NameMethod(absl::Status status, const Method& method);

class LinkChannel final : public Channel, public std::enable_shared_from_this<LinkChannel> {
 public:
  explicit LinkChannel(Link link, LinkChannelOptions options = {});
  // A link made by the broker, and who serves it (broker::OutgoingLink::server).
  LinkChannel(Link link, PeerIdentity server, LinkChannelOptions options = {});
  ~LinkChannel() override;

  // Who serves this channel's link, as the kernel attested when the server registered its
  // service (SO_PEERCRED through the broker). Zero for a link not made by the broker.
  const PeerIdentity& server() const { return server_; }

  absl::Status Call(const Method& method, const google::protobuf::MessageLite& request,
                    google::protobuf::MessageLite* response, ClientContext* context) override;
  void CallAsync(const Method& method, const google::protobuf::MessageLite& request,
                 google::protobuf::MessageLite* response, ClientContext* context,
                 DoneCallback done) override;
  size_t Drain(absl::Time deadline) override;
  absl::StatusOr<Attachment> AllocateAttachment(size_t bytes) override;
  // Streams ride on the link beside unary calls (docs/wire-format.md, "Streams"): each of
  // their messages is a request of its own. Defined in link_channel_stream.cc.
  std::unique_ptr<ClientStream> OpenStream(const Method& method,
                                           const google::protobuf::MessageLite* request,
                                           google::protobuf::MessageLite* response,
                                           ClientContext* context) override;

  // OK while the link is open; afterwards why it closed.
  absl::Status status() const;

  // Whether no call, stream request or callback is outstanding here: a channel nobody
  // holds then has nothing left to finish (NamedChannel lets replaced ones go so).
  bool idle() const;

 private:
  // A wake-up waited for outside mutex_: the waiter takes mutex_ again through Acquire(),
  // which a reader spinning for its own reply lets in (want_lock_). Woken on a CondVar of
  // mutex_, it would wait for that reply first. Signal() may be called with mutex_ held.
  class Wake {
   public:
    uint64_t generation() {
      absl::MutexLock lock(&mutex_);
      return generation_;
    }
    void Signal() {
      absl::MutexLock lock(&mutex_);
      ++generation_;
      changed_.SignalAll();
    }
    // Waits for a Signal() after generation `seen`, or `deadline`: whether it timed out.
    bool WaitPast(uint64_t seen, absl::Time deadline) {
      absl::MutexLock lock(&mutex_);
      bool timed_out = false;
      while (generation_ == seen && !timed_out) {
        timed_out = changed_.WaitWithDeadline(&mutex_, deadline);
      }
      return timed_out;
    }

   private:
    absl::Mutex mutex_;
    absl::CondVar changed_;
    uint64_t generation_ ABSL_GUARDED_BY(mutex_) = 0;  // Signal() calls
  };

  // A sync call's outcome, set by whichever thread reads its reply. The caller waits on
  // its own mutex, not the channel's, so a reader that spins with the channel held does
  // not keep it from taking its answer.
  struct Waiter {
    absl::Mutex mutex;
    absl::CondVar ready;  // done or wake was set
    // Written with both mutex and the channel's mutex_ held, so either suffices to read it
    // (the channel reads it through Done()); or, by its own caller reading its reply, with
    // mutex_ alone (CompleteOwn(): that caller is then the only thread that reads it under
    // mutex).
    bool done ABSL_GUARDED_BY(mutex) = false;
    bool wake ABSL_GUARDED_BY(mutex) = false;  // the reader role is free, take it
    // A sync call's outcome: set before done, and read by the caller once it saw done,
    // after which nobody writes it.
    absl::Status status;
  };
  class Stream;
  struct StreamState;
  enum class StreamOp : uint8_t { kNone, kOpen, kPull, kMessage, kControl };
  struct Pending {
    google::protobuf::MessageLite* response;
    ClientContext* context;
    DoneCallback done;  // async calls
    Waiter* waiter;     // sync calls
    bool lends_attachment = false;
    bool cancel_sent = false;
    StreamOp op = StreamOp::kNone;
    bool carries_attachment = false;      // a stream message with one
    size_t message_bytes = 0;             // a stream message's
    const Method* method = nullptr;       // what the call calls (a stream's: its method)
    std::shared_ptr<StreamState> stream;  // a stream's requests
  };
  // Callbacks to run and their outcomes; a few fit without a heap allocation per call.
  using Completions = absl::InlinedVector<std::pair<DoneCallback, absl::Status>, 4>;

  // Holds mutex_ for its scope, taken with Acquire().
  class ABSL_SCOPED_LOCKABLE ChannelLock {
   public:
    explicit ChannelLock(const LinkChannel* channel) ABSL_EXCLUSIVE_LOCK_FUNCTION(channel->mutex_)
        : mutex_(&channel->mutex_) {
      channel->Acquire();
    }
    ~ChannelLock() ABSL_UNLOCK_FUNCTION() { mutex_->Unlock(); }
    ChannelLock(const ChannelLock&) = delete;
    ChannelLock& operator=(const ChannelLock&) = delete;

   private:
    internal::ChannelMutex* const mutex_;
  };

  // Takes mutex_, ahead of a reader that spins with it (the reader yields to it).
  void Acquire() const ABSL_EXCLUSIVE_LOCK_FUNCTION(mutex_);
  // Lets the threads waiting in Acquire() have mutex_ first, then takes it again (counted
  // in room_waiters_ while it waits, for a send waiting for room).
  void LetWaitersIn(bool waits_for_room) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // `waiter.done`, read with mutex_ held. Every write of done holds mutex_, and as well the
  // waiter's mutex (Complete(), WaitFor()) unless the writer is the waiter's own thread
  // (CompleteOwn()), so mutex_ alone suffices to read it; the analysis cannot express a
  // field that either of two locks guards for reading.
  bool Done(const Waiter& waiter) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Sets a sync call's outcome (or tells a stream's waiter that its stream changed) and
  // wakes its caller.
  void Complete(Waiter& waiter, absl::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // The same for the reading thread's own call: nobody else touches a waiter whose caller
  // holds mutex_ and reads for it, and nobody waits on it, so its lock and condition
  // variable are skipped.
  void CompleteOwn(Waiter& waiter, absl::Status status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Tells `waiter` that the reader role is free.
  static void WakeToRead(Waiter& waiter);
  // Sends a request and records it as pending.
  // `done` is taken only when the request is sent.
  inline absl::StatusOr<uint64_t> Start(const Method& method,
                                        const google::protobuf::MessageLite& request,
                                        google::protobuf::MessageLite* response,
                                        ClientContext* context, DoneCallback& done, Waiter* waiter)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Start() of a call with metadata to send (the context's, the method's path): checked,
  // then sent with the call.
  absl::StatusOr<uint64_t> StartWithMetadata(const Method& method,
                                             const google::protobuf::MessageLite& request,
                                             google::protobuf::MessageLite* response,
                                             ClientContext* context, DoneCallback& done,
                                             Waiter* waiter) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Start()'s sending, with `metadata` (null: none) checked already.
  inline absl::StatusOr<uint64_t> SendCall(const Method& method,
                                           const google::protobuf::MessageLite& request,
                                           google::protobuf::MessageLite* response,
                                           ClientContext* context, DoneCallback& done,
                                           Waiter* waiter, const Metadata* metadata)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Sends a request (serialized from `source` into the ring, with `attachment`) and
  // records `pending` for its reply; `pending` and `attachment` (null for none) are taken
  // only when the request was sent. `metadata` (checked already; null for none) goes after
  // the call header. Waits for room in the link until `deadline` (WaitForRoom, which lets
  // mutex_ go between slices), unless `waits_for_room` is false: then DEADLINE_EXCEEDED
  // (no ring space) or RESOURCE_EXHAUSTED (no arena pages, or every request slot taken)
  // at once, mutex_ held throughout.
  absl::StatusOr<uint64_t> Send(uint32_t command, const internal::MessageSource& source,
                                Attachment* attachment, absl::Time deadline, uint16_t flags,
                                uint32_t stream_id, Pending& pending,
                                const Metadata* metadata = nullptr, bool waits_for_room = true)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Send()'s wait for room in the link, after a first try without waiting failed with
  // `status`: `attempt(until)` tries again, waiting for room until then, and fails with
  // code `no_room` when none came. Tries in slices (kRoomSlice) until `deadline`: between
  // two, the threads waiting for the channel have it first, and a cancel of the call
  // (`context`, null for none) ends the wait with CANCELLED. The last attempt's status;
  // mutex_ held on entry and exit.
  absl::Status WaitForRoom(absl::FunctionRef<absl::Status(absl::Time until)> attempt,
                           absl::Status status, absl::StatusCode no_room, absl::Time deadline,
                           const ClientContext* context) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Streams (link_channel_stream.cc): sends one of a stream's requests; takes in a reply to
  // one; ends a stream with `status` unless it ended; tells the server a stream was given
  // up; waits, reading the link while no one else does, until `ready()` (`slot` names the
  // waiter for DeliverStream to wake; mutex_ is released while it sleeps).
  absl::StatusOr<uint64_t> SendStream(const std::shared_ptr<StreamState>& stream, StreamOp op,
                                      uint16_t flag, const internal::MessageSource& source,
                                      Attachment* attachment, const Metadata* metadata = nullptr,
                                      bool waits_for_room = true)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void DeliverStream(Pending& pending, Message& reply) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void EndStream(StreamState& stream, absl::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // The notice never waits for room (the reader sends it, from CancelRequested(), and
  // must not let the channel go mid-read): one the link has no room for waits in
  // cancels_unsent_ for the reader's next look (TellGivenUpLater), the stream's id kept
  // taken until it is sent.
  void TellCancelled(const std::shared_ptr<StreamState>& stream)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Sends `stream`'s cancel notice without waiting: false when the link has no room for
  // it (it is to wait, queued), true when it went or never will (the link closed). Gives a
  // destroyed stream's id back once the notice is done with it.
  bool SendCancelNotice(const std::shared_ptr<StreamState>& stream)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  template <typename Ready>
  void WaitFor(Waiter*& slot, Ready ready) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Turns a reply into the call's outcome.
  static inline absl::Status Finish(Message& reply, const Method& method,
                                    google::protobuf::MessageLite* response, ClientContext* context,
                                    bool lends_attachment);
  // Tells the server that this end gave up on unary call `id` (kCallGivenUp), so that the
  // method's OnCancel() hook runs. A notice the ring (or the link's request slots) has no
  // room for at once waits for the reader's next look at the link (TellGivenUpLater, which
  // sends streams' cancel notices waiting too, and drops both once the link has closed);
  // the completion thread reads on while any waits (NoticesUnsent).
  void TellGivenUp(uint32_t command, uint64_t id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void TellGivenUpLater() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Whether a notice sent without waiting failed for want of room: no ring space, or every
  // request slot taken (the server is behind). It is to wait and be sent again.
  static bool FoundNoRoom(const absl::Status& status) {
    return absl::IsDeadlineExceeded(status) || absl::IsResourceExhausted(status);
  }
  bool NoticesUnsent() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return !given_up_unsent_.empty() || !cancels_unsent_.empty();
  }
  // Gives up on each call whose context asked to cancel (TryCancel): the link then
  // delivers its CANCELLED reply.
  void CancelRequested() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Completes the call `message` answers (or refuses a request: a client serves nothing).
  // `own`: the waiter of the reading thread's call, if it has one.
  inline void Deliver(Message& message, Completions& completions, const Waiter* own)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Reads the link for every caller until `waiter` is done (null: until no async call is
  // pending, a callback is ready to run, the channel stops or `until` passes). mutex_ held
  // on entry and exit, released while the reader yields to a sender or sleeps.
  void Read(const Waiter* waiter, absl::Time until, Completions& completions)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Sleeps until the link's descriptor, wake_, returns_fd_, the next deadline or `until`
  // (at most kRoomSlice while notices wait for room); mutex_ is released meanwhile.
  void Sleep(absl::Time until) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // The reader role is free: tells a sync caller still waiting, or else the completion
  // thread and Drain().
  void HandOff() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Wakes the threads waiting for the channel to change (waiting_ > 0): Drain(), the
  // destructor.
  void SignalChanged() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Releases mutex_ until `wake` is signalled or `deadline` passes, then takes it again
  // through Acquire(); whether the deadline passed first.
  bool WaitUnlocked(Wake& wake, absl::Time deadline) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // The completion thread: runs ready callbacks, and reads while async calls are pending
  // and no one else reads; stands aside while a thread is in Drain().
  void CompleteAsync() ABSL_LOCKS_EXCLUDED(mutex_) ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Runs async callbacks, then counts them done.
  void Run(Completions& completions) ABSL_LOCKS_EXCLUDED(mutex_);
  // Whether the completion thread has callbacks to run, or must read; wakes it when so.
  bool CompleterHasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void WakeCompleter() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Starts the completion thread, or wakes it if it has work.
  void StartOrWakeCompleter() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // What RunReady() did: nothing (another thread runs callbacks, or none are ready), ran
  // some, or ran some on the completion thread, one of which let go of the channel's last
  // reference: the channel was destroyed after them, and the thread must return at once.
  enum class Ran { kNone, kSome, kChannelGone };
  // Runs the callbacks ready_callbacks_ holds, unless another thread runs some now (they
  // run one batch at a time): mutex_ held on entry and exit (but after kChannelGone),
  // released while they run.
  Ran RunReady() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Runs `batch` with mutex_ released (held on entry and exit), then counts it done. False
  // (mutex_ not held) when it ran on the completion thread and the channel went with the
  // callbacks' last reference to it.
  bool RunUnlocked(Completions& batch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // RunUnlocked() on the completion thread, watching whether the callbacks destroyed the
  // channel (false: mutex_ is not held, and the channel is gone or going). The analysis
  // cannot express a lock held on exit on one path only.
  bool RunWatchingChannel(Completions& batch)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Runs the callbacks, then drops what they held; returns how many ran.
  static size_t RunCallbacks(Completions& completions);

  // Set by the constructor and never changed.
  const PeerIdentity server_;
  const LinkChannelOptions options_;

  mutable internal::ChannelMutex mutex_;
  // A call completed, callbacks are ready, or the reader left: SignalChanged() tells the
  // destructor and Drain().
  int waiting_ ABSL_GUARDED_BY(mutex_) = 0;  // threads waiting for SignalChanged()
  Wake changed_;
  // The link's stop flag (Link::SetStopFlag), true only while the reader refuses a request
  // the server sent: so a refusal waits for ring room at most a 10 ms slice that brings
  // none, then closes the link. Declared before link_, which points at it.
  std::atomic<bool> refusing_{false};
  Link link_ ABSL_GUARDED_BY(mutex_);
  internal::CallTable<Pending> pending_ ABSL_GUARDED_BY(mutex_);  // by request id
  size_t pending_async_ ABSL_GUARDED_BY(mutex_) = 0;
  size_t pending_stream_ ABSL_GUARDED_BY(mutex_) = 0;  // streams' requests
  // Streams' readers and writers waiting.
  std::vector<Waiter*> blocked_ ABSL_GUARDED_BY(mutex_);
  internal::StreamIds stream_ids_ ABSL_GUARDED_BY(mutex_);
  size_t callbacks_to_run_ ABSL_GUARDED_BY(mutex_) = 0;     // replied to, callback not yet run
  Completions ready_callbacks_ ABSL_GUARDED_BY(mutex_);     // for the completer or Drain()
  bool running_callbacks_ ABSL_GUARDED_BY(mutex_) = false;  // a thread runs a batch of them
  int draining_ ABSL_GUARDED_BY(mutex_) = 0;                // threads in Drain()
  // The completion thread waits on it, when completer_idle_, for CompleterHasWork().
  Wake completer_wake_;
  bool completer_idle_ ABSL_GUARDED_BY(mutex_) = false;
  size_t pending_with_context_ ABSL_GUARDED_BY(mutex_) = 0;  // calls that may be cancelled
  // Given-up notices not sent yet for want of ring space: (method id, call id).
  std::vector<std::pair<uint32_t, uint64_t>> given_up_unsent_ ABSL_GUARDED_BY(mutex_);
  // Streams whose cancel notice waits for ring space (TellCancelled), in order.
  std::vector<std::shared_ptr<StreamState>> cancels_unsent_ ABSL_GUARDED_BY(mutex_);
  // At or before the earliest pending deadline.
  absl::Time next_deadline_ ABSL_GUARDED_BY(mutex_) = absl::InfiniteFuture();
  bool reading_ ABSL_GUARDED_BY(mutex_) = false;   // a thread is the reader
  bool sleeping_ ABSL_GUARDED_BY(mutex_) = false;  // ... and sleeps in poll()
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;  // the channel is being destroyed
  mutable std::atomic<int> want_lock_{0};          // threads in Acquire() that found mutex_ held;
                                                   // read without it
  std::atomic<int> room_waiters_{0};               // of those, sends waiting for room (WaitForRoom)
  // eventfd: wakes a sleeping reader; shared with the contexts of its calls, whose
  // TryCancel() writes it. Set by the constructor and never changed.
  std::shared_ptr<const UniqueFd> wake_;
  // Readable while attachments destroyed on other threads wait for the link to hand their
  // buffers back (Link::ReturnBuffersFromAnyThread); the reader sleeps on it too. Set by
  // the constructor and never changed.
  int returns_fd_ = -1;
  std::thread completer_ ABSL_GUARDED_BY(mutex_);  // started with the first async call
};

}  // namespace syslink::rpc

#endif  // SYSLINK_RPC_LINK_CHANNEL_H_
