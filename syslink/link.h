// Link: one end of a connected pair that carries checked request/reply messages.
//
//   absl::StatusOr<LinkPair> pair = Link::CreatePair();
//   Link client = std::move(pair->first), server = std::move(pair->second);
//
//   // Server side (usually another process, see end_transfer.h):
//   absl::StatusOr<Message> request = server.Receive(absl::InfiniteFuture());
//   server.Reply(request->id, absl::OkStatus(), AsBytes("pong"));
//
//   // Client side:
//   absl::StatusOr<Message> reply = client.Call(kPing, AsBytes("ping"), {}, deadline);
//   if (reply.ok() && reply->status.ok()) Use(reply->data);
//
// Every request gets exactly one reply, delivered by Receive() or Call(): the peer's, or a
// synthetic one (Message::synthetic) when the deadline passes (DEADLINE_EXCEEDED), the
// request is cancelled (CANCELLED), the peer exits, is killed or closes its end
// (PEER_DIED), or the peer breaks the protocol (BAD_MESSAGE). A real reply that arrives
// after a synthetic one is dropped. See syslink/status.h for how PEER_DIED and BAD_MESSAGE
// map to canonical codes.
//
// Underneath, an end is a SOCK_SEQPACKET socket (fd(): pollable, passable, closed by the
// kernel when its process dies) and a sealed shared region holding a ring each way and a
// DMA arena per end. Messages travel through the rings; the socket only carries wake-ups
// and, by closing, the news that the peer is gone.
//
// Checked messages: each header is copied out of shared memory and checked (magic, version,
// kind, flags, lengths, DMA ranges, that a reply answers an outstanding request and only
// once, that a released buffer was lent). A violation closes the link: every outstanding
// request completes with BAD_MESSAGE naming the violation, status() reports it, and
// nothing outside the region is ever read.
//
// DMA buffers: AllocateBuffer() takes page-aligned pages from this end's arena. Lent with a
// request (DmaLoan), a buffer belongs to the peer until the request completes; it comes
// back in Message::returned_buffer with the reply (for kFromTarget, its size() is what the
// peer filled) or with a PEER_DIED reply. After DEADLINE_EXCEEDED or CANCELLED it goes back
// to the arena, not to the caller, once the late reply arrives or the peer is gone, since
// the peer may still be using it. A reply may also carry a buffer of the replier's
// (ReplyDma::attach), which the requester reads through Message::peer_buffer; destroying that
// hands it back.
//
// Thread safety: an end is used by one thread at a time, and so are its DmaBuffers and
// PeerBuffers, unless ReturnBuffersFromAnyThread() was called. Ownership: move-only; destroying
// or Close()-ing an end closes the socket, which the peer sees as PEER_DIED. DmaBuffers,
// PeerBuffers and Messages keep the shared region mapped, and may outlive the Link.
//
// Fork: an end belongs to the process that created or adopted it. In a process created by
// fork() an inherited end refuses every call with FAILED_PRECONDITION (two writers would
// corrupt its rings); destroying it there only closes the child's copies of its
// descriptors. To hand an end to a child, see Link::ReleaseForChild in end_transfer.h.
//
// Errors (returned by calls, not carried in replies): INVALID_ARGUMENT for a bad argument
// (an inline payload that does not fit the ring, a buffer of another link, a reply to an
// unknown request); RESOURCE_EXHAUSTED when the DMA arena has no room; DEADLINE_EXCEEDED
// when nothing arrived in time; ABORTED from Receive() woken by a LinkWaker (link_waker.h);
// FAILED_PRECONDITION for an end used from the wrong process;
// and, once the link is closed, the reason it closed (PEER_DIED or BAD_MESSAGE).

#ifndef SYSLINK_SYSLINK_LINK_H_
#define SYSLINK_SYSLINK_LINK_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "syslink/link_options.h"
#include "syslink/link_waker.h"
#include "syslink/mirror_format.h"
#include "syslink/msg_format.h"

namespace syslink {

namespace internal {
class LinkCore;
}  // namespace internal

enum class DmaDirection {
  kNone,
  kToTarget,    // the target reads the buffer
  kFromTarget,  // the target fills the buffer
};

// A buffer in this end's DMA arena. Move-only; returns its pages to the arena when
// destroyed, unless it was lent.
class DmaBuffer {
 public:
  DmaBuffer() = default;
  DmaBuffer(DmaBuffer&&) noexcept = default;
  DmaBuffer& operator=(DmaBuffer&& other) noexcept {
    if (this != &other) {
      if (core_) Return();
      core_ = std::move(other.core_);
      offset_ = other.offset_;
      data_ = other.data_;
      size_ = other.size_;
      capacity_ = other.capacity_;
    }
    return *this;
  }
  ~DmaBuffer() {
    if (core_) Return();
  }

  bool valid() const { return core_ != nullptr; }
  // The bytes in use: as allocated, or as filled by the peer for a kFromTarget loan.
  std::span<std::byte> data() const { return {data_, size_}; }
  size_t size() const { return size_; }
  // Whole pages: the most the buffer can hold.
  size_t capacity() const { return capacity_; }
  // Sets the bytes in use, at most capacity(); for a buffer about to be lent or attached.
  void resize(size_t size) { size_ = size <= capacity_ ? size : capacity_; }

 private:
  friend class internal::LinkCore;
  friend class Link;
  void Return();  // gives the pages back to the arena and drops core_

  std::shared_ptr<internal::LinkCore> core_;
  uint64_t offset_ = 0;
  std::byte* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

// A buffer in the peer's arena that came with a message. Lent with a request: readable
// (kToTarget) or writable (kFromTarget) until this end replies. Carried by a reply:
// readable, and handed back to the peer when destroyed; except that a reply this end
// read while it waited for something else (room to send, its own call's reply) and kept
// for a later Receive() holds a private copy of the bytes: the peer had its buffer back
// when the reply was read, so replies kept for later never hold the peer's arena. (One
// copy per request this end has outstanding: at most kMirrorSlots of max_dma_size each.)
class PeerBuffer {
 public:
  PeerBuffer() = default;
  PeerBuffer(PeerBuffer&&) noexcept = default;
  PeerBuffer& operator=(PeerBuffer&& other) noexcept {
    if (this != &other) {
      if (core_) Release();
      core_ = std::move(other.core_);
      offset_ = other.offset_;
      data_ = other.data_;
      size_ = other.size_;
    }
    return *this;
  }
  ~PeerBuffer() {
    if (core_) Release();
  }

  bool valid() const { return data_ != nullptr; }
  std::span<std::byte> data() const { return {data_, size_}; }
  size_t size() const { return size_; }

 private:
  friend class internal::LinkCore;
  void Release();         // hands the buffer back to the peer and drops core_
  void CopyAndRelease();  // takes a private copy of the bytes, then Release()

  // Set only when destruction must release the buffer. After CopyAndRelease() it holds no
  // pointer (so it tests false) but owns the copy that data_ points into.
  std::shared_ptr<internal::LinkCore> core_;
  uint64_t offset_ = 0;
  std::byte* data_ = nullptr;
  size_t size_ = 0;
};

struct Message {
  MessageKind kind = MessageKind::kRequest;  // kRequest or kReply
  uint64_t id = 0;
  uint32_t command = 0;
  // Replies: the outcome. OK, the status the peer replied with (its message in the text),
  // or a synthetic DEADLINE_EXCEEDED, CANCELLED, PEER_DIED or BAD_MESSAGE.
  absl::Status status;
  bool synthetic = false;  // a reply syslink wrote because the peer did not
  // Inline payload, in place in the ring (unless the message was queued: then it owns a
  // copy). Valid until the next Receive() or Call() on this end, or until a Send(),
  // Reply() or AllocateBuffer() on it has to wait (for ring space or a buffer). So a reply
  // may carry `data` itself: it is copied straight from the request.
  std::span<const std::byte> data;
  // Requests: how the requester lent `peer_buffer`.
  DmaDirection dma_direction = DmaDirection::kNone;
  // Requests: the buffer the requester lent. Replies: a buffer the replier attached.
  PeerBuffer peer_buffer;
  // Replies: the buffer this end lent with the request, back again.
  DmaBuffer returned_buffer;

  std::string DataAsString() const {
    return std::string(reinterpret_cast<const char*>(data.data()), data.size());
  }

 private:
  friend class internal::LinkCore;
  std::vector<std::byte> owned_data_;  // set when the message was queued
  uint32_t mirror_slot_ = 0;           // requests: where the requester mirrors it
};

// Whether the requester of a request this end received still waits for the reply. The
// requester stops waiting when the request's deadline passes or when it cancels the
// request (Link::Cancel), and says so in its outstanding-request mirror in the shared
// region (docs/wire-format.md), so given_up() is two loads from shared memory: cheap
// enough to ask between the steps of long work. A requester that dies or closes its end is
// seen here on a link the broker made (the broker marks the vanished end's requests given
// up); on other links only this end's Receive() reports that.
//
//   RequestWatch watch = link.Watch(request);
//   for (Chunk& chunk : work) {
//     if (watch.given_up()) break;  // nobody will read the answer
//     Process(chunk);
//   }
//
// Thread safety: given_up() may be called from any thread. A watch keeps the link's region
// mapped and may outlive the Link. Hostile input: the mirror is the requester's to write;
// what it says affects only the answer about its own requests.
class RequestWatch {
 public:
  RequestWatch() = default;  // watches nothing: never given up

  bool given_up() const;

 private:
  friend class internal::LinkCore;
  std::shared_ptr<internal::LinkCore> core_;  // keeps `slot_` mapped
  const MirrorSlot* slot_ = nullptr;
  uint64_t id_ = 0;
};

// A buffer lent with a request.
struct DmaLoan {
  DmaBuffer buffer;
  DmaDirection direction = DmaDirection::kNone;
  // Whether the buffer comes back in the reply's Message::returned_buffer. A sender that
  // only needed its pages carried (a copy made to send) says false: they go back to the
  // arena the moment the reply is read, even while the reply waits to be received (an
  // AllocateBuffer() waiting for room reads replies ahead, and so finds them). Only for
  // kToTarget: a kFromTarget loan without it is refused (INVALID_ARGUMENT).
  bool wanted_back = true;
};

// What a reply does with DMA: report how much of a kFromTarget buffer it filled, or
// attach a buffer of its own (not both).
struct ReplyDma {
  size_t filled = 0;
  DmaBuffer attach;
};

// Writes an inline payload in place; gets exactly the bytes it must fill.
using PayloadWriter = absl::FunctionRef<void(std::span<std::byte>)>;

// Counters and state, for tools and tests.
struct LinkStats {
  uint64_t requests_sent = 0;
  uint64_t replies_received = 0;
  uint64_t requests_received = 0;
  uint64_t replies_sent = 0;
  uint64_t synthetic_replies = 0;  // delivered locally: deadline, cancel, death, violation
  uint64_t late_replies_dropped = 0;
  size_t outstanding = 0;          // requests sent and not yet answered
  size_t abandoned = 0;            // timed out or cancelled, waiting for the late reply
  size_t unanswered_incoming = 0;  // requests received and not yet replied to
  uint64_t arena_free_bytes = 0;
  uint64_t arena_bytes = 0;
};

class Link;
using LinkPair = std::pair<Link, Link>;

class Link {
 public:
  // Creates a connected pair of ends in this process. Pass one to another process with
  // SendEnd() (end_transfer.h), or hand it to a child with ReleaseForChild().
  [[nodiscard]] static absl::StatusOr<LinkPair> CreatePair(const LinkOptions& options = {});

  Link();
  Link(Link&&) noexcept;
  Link& operator=(Link&&) noexcept;
  ~Link();

  bool valid() const { return core_ != nullptr; }

  // Whether `buffer` was allocated from this end's arena (and so can be lent on it).
  bool Owns(const DmaBuffer& buffer) const { return core_ && buffer.core_ == core_; }

  // A buffer of at least `bytes` bytes from this end's arena. When the arena is full,
  // waits for buffers to come back until `deadline` (the default: do not wait) and then
  // fails with RESOURCE_EXHAUSTED; on a closed end (none will come back), with why it
  // closed, at once. INVALID_ARGUMENT above the link's max_dma_size.
  [[nodiscard]] absl::StatusOr<DmaBuffer> AllocateBuffer(
      size_t bytes, absl::Time deadline = absl::InfinitePast());

  // Sends a request and returns its id. Its reply comes from Receive(); if `deadline` is
  // finite and passes first, Receive() delivers a synthetic DEADLINE_EXCEEDED reply.
  // Waits for ring space until `deadline`, reading the messages that arrive meanwhile
  // (kept for Receive()): the peer may be waiting to write replies before it reads on.
  [[nodiscard]] absl::StatusOr<uint64_t> Send(uint32_t command, std::span<const std::byte> data,
                                              DmaLoan loan = {},
                                              absl::Time deadline = absl::InfiniteFuture());

  // Like Send(), but the inline payload of `size` bytes is written in place in the ring by
  // `fill` (which must write all of it): a message serialized straight into ring space.
  [[nodiscard]] absl::StatusOr<uint64_t> SendInPlace(uint32_t command, size_t size,
                                                     PayloadWriter fill, DmaLoan loan = {},
                                                     absl::Time deadline = absl::InfiniteFuture());
  // The same, waiting for ring space only until `room_deadline` (the request's deadline
  // stays `deadline`): DEADLINE_EXCEEDED then, nothing sent, and `loan` still the
  // caller's, as after any failure (it is taken only when the request is sent). For a
  // caller that waits in slices, letting other work in between.
  [[nodiscard]] absl::StatusOr<uint64_t> SendInPlace(uint32_t command, size_t size,
                                                     PayloadWriter fill, DmaLoan& loan,
                                                     absl::Time deadline, absl::Time room_deadline);

  // The next message: a request from the peer, or a reply (real or synthetic) to a request
  // of ours. DEADLINE_EXCEEDED if none arrives by `deadline` (absl::InfinitePast(): only
  // look). Records that carry no message (releases, replies to requests given up on) are
  // consumed on the way, and past the deadline the clock is read every 256 of them, so
  // that a peer writing them without end holds no wait: DEADLINE_EXCEEDED may then come
  // with more waiting, which Ready() tells. Once the link is closed and every outstanding
  // request has been answered, returns the reason the link closed.
  [[nodiscard]] absl::StatusOr<Message> Receive(absl::Time deadline);

  // Answers request `id` received from the peer. `status` travels to the requester (its
  // message as the reply's text when not OK, instead of `data`).
  [[nodiscard]] absl::Status Reply(uint64_t id, const absl::Status& status,
                                   std::span<const std::byte> data, ReplyDma dma = {});

  // Like Reply() with an OK status, the payload written in place by `fill`.
  [[nodiscard]] absl::Status ReplyInPlace(uint64_t id, size_t size, PayloadWriter fill,
                                          ReplyDma dma = {});

  // Send(), then wait for that request's reply until `deadline`. Other messages that arrive
  // meanwhile are kept for Receive(). The returned Message always is the reply: check its
  // `status`. The StatusOr fails only when the request could not be sent.
  [[nodiscard]] absl::StatusOr<Message> Call(uint32_t command, std::span<const std::byte> data,
                                             DmaLoan loan, absl::Time deadline);

  // Gives up on request `id`: Receive() delivers a synthetic CANCELLED reply for it and a
  // later real reply is dropped. The peer's RequestWatch for it reports given_up().
  // NOT_FOUND if `id` is not outstanding.
  [[nodiscard]] absl::Status Cancel(uint64_t id);

  // A watch on whether the peer still waits for the reply to `request`, a request this end
  // received (and may not have answered yet). A watch that never gives up for any other
  // message.
  RequestWatch Watch(const Message& request) const;

  // For an end served by a thread that another thread may tell to stop: once `*stop` is
  // true, a Send() or Reply() that waits for ring space, or an AllocateBuffer() that waits
  // for room, gives up once a 10 ms slice of the wait brought no room (or nothing that
  // could make some): it closes the link, with ABORTED as its status(), rather than leave
  // a gap among the messages that follow; the peer sees PEER_DIED. So a peer that reads
  // nothing, or keeps the buffers of its replies, cannot hold a stopping server's thread,
  // while one that reads goes on being answered. The fast path never looks at the flag.
  // `stop` must outlive this end's use; nullptr: no flag. Call it before the end is in use.
  void SetStopFlag(const std::atomic<bool>* stop);

  // How long a Send() or Reply() may wait for ring space while the peer reads none of the
  // ring, or an AllocateBuffer() for room while no buffer comes back, before this end
  // gives up on the peer: it closes the link, with ABORTED naming the patience as its
  // status(); the peer sees PEER_DIED. The time counted is time spent waiting, added up
  // over the waits since the peer last made room (a caller that waits in short waits, one
  // after another, is given up on as one that waits once); a try that does not wait, and
  // the time between waits, count nothing. A wait whose deadline comes before the patience
  // is spent returns DEADLINE_EXCEEDED. So a peer that stops reading cannot hold the thread
  // answering it past `patience`. InfiniteDuration() (the default): waits last until their
  // deadline. Looked at in 10 ms slices of a wait; the fast path never looks. Call it
  // before the end is in use.
  void SetPatience(absl::Duration patience);

  // A waker that another thread may use to interrupt this end's Receive(), which then
  // returns ABORTED (link_waker.h). The first call makes the end's eventfd; later calls
  // return wakers of the same signal.
  [[nodiscard]] absl::StatusOr<LinkWaker> Waker();

  // For an end shared by several threads under a lock (as rpc::LinkChannel shares it):
  // lets this end's DmaBuffers and PeerBuffers be destroyed on any thread, not only while
  // the end is held. Such a buffer is queued, and the end's next call (any of them, or
  // PrepareToPoll()) hands it back: its pages to the arena, or a release to the peer.
  // Returns a descriptor that turns readable while buffers wait: a thread asleep in poll()
  // on fd() polls it too, so that a buffer the peer waits for is not held up. An
  // AllocateBuffer() that waits for room wakes for them itself. Call it before any buffer
  // of the end reaches another thread; the descriptor lives as long as the end.
  [[nodiscard]] absl::StatusOr<int> ReturnBuffersFromAnyThread();

  // Event loops: the descriptor to poll for POLLIN. Before each poll() call
  // PrepareToPoll(): when it returns false a message (or the news of a closed link) is
  // already waiting, so call Receive(absl::InfinitePast()) instead of polling. After poll()
  // reports the descriptor ready, call Receive(absl::InfinitePast()) until it reports
  // DEADLINE_EXCEEDED.
  int fd() const;
  [[nodiscard]] bool PrepareToPoll();

  // Whether Receive(absl::InfinitePast()) has something to return at once: a message, or
  // the news that the link closed. A look at shared memory, no system call: cheap enough to
  // spin on. (Deadlines of outstanding requests are not looked at: Receive() expires them.)
  bool Ready() const;

  // OK while the link is open; afterwards why it closed.
  absl::Status status() const;

  // Closes this end. The peer's outstanding requests complete with PEER_DIED.
  void Close();

  LinkStats stats() const;
  const LinkOptions& options() const;

 private:
  friend class LinkTransfer;
  explicit Link(std::shared_ptr<internal::LinkCore> core);
  std::shared_ptr<internal::LinkCore> core_;
};

// Views a string as bytes, for inline payloads.
inline std::span<const std::byte> AsBytes(absl::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

}  // namespace syslink

#endif  // SYSLINK_SYSLINK_LINK_H_
