// LinkCore: the state of one link end, behind Link, DmaBuffer and PeerBuffer.
//
// Its implementation is split by concern:
//   link_core.cc     opening, sending, replying, buffers, shutting down
//   link_receive.cc  reading and checking inbound messages, Receive() and Call()
//   link_wait.cc     waiting for messages and room: spin, then poll() on the socket
//
// Thread safety: none; Link's contract (one thread at a time) covers it.
// Ownership: shared by the Link and by every DmaBuffer, PeerBuffer and Message that
// points into its region, so the region stays mapped as long as any of them lives.

#ifndef SYSLINK_SYSLINK_INTERNAL_LINK_CORE_H_
#define SYSLINK_SYSLINK_INTERNAL_LINK_CORE_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"
#include "ring/ring_consumer.h"
#include "ring/ring_producer.h"
#include "ring/shared_region.h"
#include "syslink/internal/cycle_clock.h"
#include "syslink/internal/dma_arena.h"
#include "syslink/internal/fork_generation.h"
#include "syslink/internal/link_layout.h"
#include "syslink/internal/message_check.h"
#include "syslink/internal/outstanding.h"
#include "syslink/internal/returned_buffers.h"
#include "syslink/internal/wake_signal.h"
#include "syslink/link.h"
#include "syslink/link_waker.h"

namespace syslink::internal {

class LinkCore : public std::enable_shared_from_this<LinkCore> {
 public:
  // Attaches end `side` (0 or 1) of the link whose region is `region` and whose socket
  // end is `socket`. The rings must have been initialized by whoever created the link.
  // `watch`, for a link made by the broker, is the end's watch socket: it is only held
  // (and handed over with the end), so that the broker sees it close with the end.
  static absl::StatusOr<std::shared_ptr<LinkCore>> Open(UniqueFd socket, ring::SharedRegion region,
                                                        int side, const LinkOptions& options,
                                                        UniqueFd watch = UniqueFd());

  LinkCore(const LinkCore&) = delete;
  LinkCore& operator=(const LinkCore&) = delete;
  ~LinkCore();

  absl::StatusOr<DmaBuffer> AllocateBuffer(size_t bytes, absl::Time deadline);
  absl::StatusOr<uint64_t> Send(uint32_t command, std::span<const std::byte> data, DmaLoan&& loan,
                                absl::Time deadline);
  absl::StatusOr<Message> Receive(absl::Time deadline);
  absl::Status Reply(uint64_t id, const absl::Status& status, std::span<const std::byte> data,
                     ReplyDma&& dma);
  // Waits for ring space until `room_deadline`; `loan` is taken only when sent.
  absl::StatusOr<uint64_t> SendInPlace(uint32_t command, size_t size, PayloadWriter fill,
                                       DmaLoan&& loan, absl::Time deadline,
                                       absl::Time room_deadline);
  absl::Status ReplyInPlace(uint64_t id, size_t size, PayloadWriter fill, ReplyDma&& dma);
  absl::StatusOr<Message> Call(uint32_t command, std::span<const std::byte> data, DmaLoan&& loan,
                               absl::Time deadline);
  absl::Status Cancel(uint64_t id);
  RequestWatch Watch(const Message& request);
  absl::StatusOr<LinkWaker> Waker();
  void SetStopFlag(const std::atomic<bool>* stop) { stop_ = stop; }
  void SetPatience(absl::Duration patience) { patience_ = patience; }
  bool Stopping() const { return stop_ != nullptr && stop_->load(std::memory_order_relaxed); }
  absl::StatusOr<int> ReturnBuffersFromAnyThread();
  bool PrepareToPoll();
  bool Ready() const { return !pending_.empty() || !status_.ok() || peer_gone_ || in_.Ready(); }
  void Close();

  int fd() const { return socket_.get(); }
  const absl::Status& status() const { return status_; }
  LinkStats stats() const;
  const LinkOptions& options() const { return options_; }

  // For end transfer: whether nothing is in flight, and the pieces to hand over.
  absl::Status CheckQuiescent();
  int side() const { return side_; }
  const ring::SharedRegion& region() const { return region_; }
  // Gives up the socket and the watch socket (the region's descriptor stays with
  // region()); the end is closed here.
  struct HandOver {
    UniqueFd socket;
    UniqueFd watch;
  };
  HandOver TakeDescriptors();

  // Called by DmaBuffer's and PeerBuffer's destructors: on the end's thread, or on any
  // after ReturnBuffersFromAnyThread().
  void ReturnBuffer(uint64_t offset);
  void ReleasePeerBuffer(uint64_t offset, uint64_t length);

 private:
  enum class Step { kMessage, kHandled, kEmpty, kBroken };
  // kReturned: buffers other threads gave back wait to be handed back (ReturnedBuffers).
  enum class WaitOutcome { kReady, kTimedOut, kPeerGone, kWoken, kReturned };

  LinkCore(UniqueFd socket, UniqueFd watch, ring::SharedRegion region, int side,
           const LinkOptions& options, ring::RingProducer out, ring::RingConsumer in);

  // OK in the process that owns this end (generation_ was read with ForkGeneration(),
  // which registered the fork handlers).
  absl::Status CheckOwner() const {
    if (OwnedByThisProcess()) [[likely]] {
      return absl::OkStatus();
    }
    return NotOwnerError();
  }
  bool OwnedByThisProcess() const { return RegisteredForkGeneration() == generation_; }
  absl::Status NotOwnerError() const;

  // The steps of sending and receiving a message are defined ABSL_ATTRIBUTE_ALWAYS_INLINE
  // in their .cc files, so that each public entry point (Send, Reply, Receive, Call, ...)
  // is one function: with the PayloadWriter known there, its indirect call disappears too.
  // That took a link round trip from 1,532 to 1,239 instructions (tools/count-instructions).
  // They are declared inline, and only their own .cc uses them: the other .cc calls
  // SendRequest() and ReadOne() through their *OutOfLine() twins, the copies that were
  // emitted out of line for it before (no LTO inlines across files).
  //
  // Sending (link_core.cc). A message is written while the inbound record handed out
  // last is still held, so a payload may be copied straight from it (an echo). Only when
  // the ring has no room does the sender release that record before it waits (the peer
  // may be waiting for that space itself); `before_wait` runs first and copies out
  // whatever `fill` would read from the record (see Stable()).
  using BeforeWait = absl::FunctionRef<void()>;
  inline absl::StatusOr<uint64_t> SendRequest(uint32_t command, size_t size, PayloadWriter fill,
                                              DmaLoan&& loan, absl::Time space_deadline,
                                              absl::Time request_deadline, BeforeWait before_wait);
  // SendRequest() for Call() (link_receive.cc).
  absl::StatusOr<uint64_t> SendRequestOutOfLine(uint32_t command, size_t size, PayloadWriter fill,
                                                DmaLoan&& loan, absl::Time space_deadline,
                                                absl::Time request_deadline,
                                                BeforeWait before_wait);
  inline absl::Status SendReply(uint64_t id, const absl::Status& status, size_t size,
                                PayloadWriter fill, ReplyDma&& dma, BeforeWait before_wait);
  // A PayloadWriter that copies `data` as it is when the writer runs (a BeforeWait may
  // have pointed it at a copy).
  static auto CopyOf(const std::span<const std::byte>& data) {
    return [&data](std::span<std::byte> out) {
      if (!data.empty()) std::memcpy(out.data(), data.data(), data.size());
    };
  }
  // `data`, or a copy of it in `storage` if it lies in the held inbound record.
  std::span<const std::byte> Stable(std::span<const std::byte> data,
                                    std::vector<std::byte>& storage) const;
  // Gives up the descriptors this end holds open (closing them unless a forked child's
  // handler already did).
  void DropDescriptors();
  inline absl::Status WriteMessage(const MessageHeader& header, size_t size, PayloadWriter fill,
                                   absl::Time deadline, BeforeWait before_wait);
  // WriteMessage in two steps: ring space for a message with `size` payload bytes (waiting
  // until `deadline`, after `before_wait` and releasing the held record; a broken ring
  // closes the link), then the message written there and published. A request's wait
  // reads ahead (ReadAhead()); a reply's does not.
  inline absl::StatusOr<std::byte*> ReserveMessage(size_t size, absl::Time deadline,
                                                   BeforeWait before_wait, bool request);
  inline void PublishMessage(std::byte* space, const MessageHeader& header, size_t size,
                             PayloadWriter fill);
  absl::StatusOr<std::byte*> ReserveSlow(size_t size, absl::Time deadline, bool read_ahead);
  // Reads the messages that have arrived (up to a bound) into pending_, for Receive(). A
  // requester waiting for room does so: its peer may be waiting to write replies, and reads
  // no more requests until it can (its replies, and any loan not wanted back, come out of
  // the ring); so does AllocateBuffer() waiting for room (replies and releases return
  // buffers). Whether it read anything; a violation in what it reads closes the link.
  bool ReadAhead();
  // Whether the waits for room since the peer last made some, `waited` in all, have
  // outlasted the end's patience (SetPatience); if they have, closes the link with ABORTED,
  // naming what the peer did not make: `room`.
  bool OutOfPatience(absl::Duration waited, absl::string_view room);
  // Whether waits for room look up now and then (a stop flag, or a patience).
  bool WaitsInSlices() const { return stop_ != nullptr || patience_ != absl::InfiniteDuration(); }
  // Sends the release records waiting (as many as the ring has room for), after taking
  // the buffers other threads returned. Inline: on the hot path there are none.
  void FlushReleases() {
    if (returned_.waiting() || !releases_to_send_.empty()) [[unlikely]] {
      SendReleases();
    }
  }
  void SendReleases();
  void QueueRelease(uint64_t offset, uint64_t length);
  void TakeReturns();
  DmaBuffer AdoptOwnBuffer(uint64_t offset, uint64_t size);
  void FreeLoan(const Loan& loan);
  // `status_` with `what` put in front of its message, its payloads (PEER_DIED, ...) kept.
  absl::Status ClosedStatus(absl::string_view what) const;
  // Closes the link: every outstanding request completes with `why`, every lent buffer
  // comes back, and `why` becomes status().
  void Shutdown(const absl::Status& why);

  // Receiving (link_receive.cc). `out` is a default-constructed Message.
  inline Step ReadOne(Message* out);
  Step ReadOneOutOfLine(Message* out);  // for ReadAhead() (link_core.cc)
  Step Violation(const absl::Status& why);
  inline Step OnRequest(const MessageHeader& header, std::span<const std::byte> payload,
                        Message* out);
  inline Step OnReply(const MessageHeader& header, std::span<const std::byte> payload,
                      Message* out);
  Step OnRelease(const MessageHeader& header);
  Message SyntheticReply(const MessageHeader& header, const absl::Status& status,
                         std::optional<Loan> loan);
  // Completes every outstanding request whose deadline has passed (a look at the table
  // when none has one).
  void ExpireDeadlines() {
    if (outstanding_.has_deadlines()) [[unlikely]] {
      ExpireDueRequests();
    }
  }
  void ExpireDueRequests();
  void ReleaseHeldRecord();
  void EndPollWait();
  // Waits for inbound records until `until` (or until `wake`, when given, is raised) and
  // handles the outcome. False when `deadline` (the caller's) has passed.
  bool AwaitInbound(absl::Time until, absl::Time deadline, WakeSignal* wake = nullptr);
  // A message kept in pending_ for a later Receive(): its inline bytes copied out of the
  // ring and, for a reply, its peer buffer copied and handed back.
  static Message Own(Message message);

  // Waiting (link_wait.cc).
  // `wake`, when given, ends the wait with kWoken once raised.
  WaitOutcome WaitForInbound(absl::Time until, WakeSignal* wake);
  WaitOutcome SleepOnSocket(absl::Time until, WakeSignal* wake);
  bool PeerAlive();
  void DrainWakes();
  void WakePeer();

  struct IncomingRequest {
    uint64_t id = 0;  // 0: the slot is free
    uint32_t command = 0;
    std::optional<Loan> loan;  // a buffer of the peer's, lent with the request
    uint64_t received = 0;     // last_cycles_ when it was read
  };
  // The request `id` received and not yet answered; null if there is none.
  IncomingRequest* FindIncoming(uint64_t id) {
    const uint32_t slot = MirrorSlotOf(id);
    if (id == 0 || slot >= incoming_.size() || incoming_[slot].id != id) return nullptr;
    return &incoming_[slot];
  }

  UniqueFd socket_;
  UniqueFd watch_;
  std::shared_ptr<WakeSignal> wake_;         // made by the first Waker(); Receive() takes it
  const std::atomic<bool>* stop_ = nullptr;  // SetStopFlag(): ends waits for ring space
  absl::Duration patience_ = absl::InfiniteDuration();  // SetPatience(): bounds those waits
  // For the patience, across calls (a caller may wait in slices, one call each): how long
  // waits for ring space have waited since the peer last read (the consumer index then
  // stood at `ring_stall_consumed_`), and waits for arena room since buffers last came
  // back (`arena_stall_free_` bytes were free then) or an allocation found room. Only time
  // spent waiting counts: not tries that do not wait, nor the time between waits.
  absl::Duration ring_waited_ = absl::ZeroDuration();
  uint64_t ring_stall_consumed_ = 0;
  absl::Duration arena_waited_ = absl::ZeroDuration();
  uint64_t arena_stall_free_ = 0;
  ring::SharedRegion region_;
  int side_;
  LinkOptions options_;
  LinkLayout layout_;
  MessageLimits limits_;
  ring::RingProducer out_;
  ring::RingConsumer in_;
  std::byte* own_arena_;
  std::byte* peer_arena_;
  const MirrorSlot* peer_mirror_;   // the peer's outstanding requests, for RequestWatch
  const std::byte* inbound_begin_;  // the ring this end reads
  const std::byte* inbound_end_;
  DmaArena arena_;
  uint64_t generation_;  // the fork generation of the owning process
  pid_t owner_pid_;

  OutstandingRequests outstanding_;
  // Requests received and not yet answered, by the mirror slot their id names: a peer has
  // at most one in each slot. Grown as slots are first used.
  std::vector<IncomingRequest> incoming_;
  size_t incoming_count_ = 0;
  absl::flat_hash_map<uint64_t, uint64_t>
      reply_loans_;  // our buffers attached to replies: offset -> bytes
  std::vector<MessageHeader> releases_to_send_;
  ReturnedBuffers returned_;     // buffers given back on other threads
  std::deque<Message> pending_;  // replies and requests to deliver before reading the ring
  bool record_held_ = false;     // a ring record handed to the user is not yet released
  bool poll_armed_ = false;      // PrepareToPoll() announced a wait on the socket
  bool peer_gone_ = false;       // the socket reported the peer's end closed
  // A CycleCount() taken at or before this end's latest step: after each request it
  // publishes, before each reply, while it waits (and after the caller's poll()), and when
  // it opened. A request read now is stamped with it (so its age is never understated),
  // and a request sent is first mirrored with it. On this project's VM one look at the
  // counter was measured at about 70 cycles, a sixth of what handling a plain message
  // took: only Reply() looks on the way from a request's arrival to its answer.
  uint64_t last_cycles_ = CycleCount();
  absl::Status status_;
  LinkStats stats_;
};

}  // namespace syslink::internal

#endif  // SYSLINK_SYSLINK_INTERNAL_LINK_CORE_H_
