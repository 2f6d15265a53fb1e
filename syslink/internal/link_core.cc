#include "syslink/internal/link_core.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/base/attributes.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "syslink/internal/cycle_clock.h"
#include "syslink/internal/fork_generation.h"
#include "syslink/status.h"

namespace syslink::internal {
namespace {

// A blocked sender looks at the socket this often to notice a peer that died.
constexpr absl::Duration kLivenessSlice = absl::Milliseconds(10);
// The most records a wait for ring space reads ahead before it looks at its deadline again.
constexpr int kReadAheadLimit = 4096;

std::span<std::byte> RingMemory(const ring::SharedRegion& region, const LinkLayout& layout,
                                int writer) {
  return {region.data() + layout.RingOffset(writer), layout.ring_bytes};
}

uint16_t LoanFlag(DmaDirection direction) {
  return direction == DmaDirection::kToTarget ? kFlagDmaToTarget : kFlagDmaFromTarget;
}

}  // namespace

absl::StatusOr<std::shared_ptr<LinkCore>> LinkCore::Open(UniqueFd socket, ring::SharedRegion region,
                                                         int side, const LinkOptions& options,
                                                         UniqueFd watch) {
  if (absl::Status s = ValidateLinkOptions(options); !s.ok()) return s;
  LinkLayout layout(options);
  if (region.size() != layout.total_size) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "link region holds %d bytes, its options need %d", region.size(), layout.total_size));
  }
  absl::StatusOr<ring::RingProducer> out =
      ring::RingProducer::Attach(RingMemory(region, layout, side), options.wait);
  if (!out.ok()) return out.status();
  absl::StatusOr<ring::RingConsumer> in =
      ring::RingConsumer::Attach(RingMemory(region, layout, 1 - side), options.wait);
  if (!in.ok()) return in.status();
  std::shared_ptr<LinkCore> core(new LinkCore(std::move(socket), std::move(watch),
                                              std::move(region), side, options, *std::move(out),
                                              *std::move(in)));
  LinkCore* raw = core.get();
  core->out_.set_external_wake([raw] { raw->WakePeer(); });
  return core;
}

LinkCore::LinkCore(UniqueFd socket, UniqueFd watch, ring::SharedRegion region, int side,
                   const LinkOptions& options, ring::RingProducer out, ring::RingConsumer in)
    : socket_(std::move(socket)),
      watch_(std::move(watch)),
      region_(std::move(region)),
      side_(side),
      options_(options),
      layout_(options),
      limits_{options.arena_size, options.arena_size, options.max_dma_size},
      out_(std::move(out)),
      in_(std::move(in)),
      own_arena_(region_.data() + layout_.ArenaOffset(side)),
      peer_arena_(region_.data() + layout_.ArenaOffset(1 - side)),
      peer_mirror_(
          reinterpret_cast<const MirrorSlot*>(region_.data() + layout_.MirrorOffset(1 - side))),
      inbound_begin_(region_.data() + layout_.RingOffset(1 - side)),
      inbound_end_(inbound_begin_ + layout_.ring_bytes),
      arena_(options.arena_size),
      generation_(ForkGeneration()),
      owner_pid_(getpid()),
      outstanding_(reinterpret_cast<MirrorSlot*>(region_.data() + layout_.MirrorOffset(side))) {
  // A forked child must not hold this end's sockets open (fork_generation.h).
  CloseInForkedChildren(socket_.get());
  CloseInForkedChildren(watch_.get());
}

LinkCore::~LinkCore() { DropDescriptors(); }

void LinkCore::DropDescriptors() {
  if (OwnedByThisProcess()) {
    KeepInForkedChildren(socket_.get());
    KeepInForkedChildren(watch_.get());
    socket_.Reset();
    watch_.Reset();
  } else {
    // The fork handler closed these numbers in this child; they may name other files now.
    (void)socket_.Release();
    (void)watch_.Release();
  }
}

absl::Status LinkCore::NotOwnerError() const {
  return absl::FailedPreconditionError(absl::StrFormat(
      "this link end belongs to process %d; a process created by fork() must not use an end "
      "it inherited (its rings would have two writers). Close it here, or have the owner "
      "hand it over with ReleaseForChild() or SendEnd()",
      owner_pid_));
}

absl::StatusOr<DmaBuffer> LinkCore::AllocateBuffer(size_t bytes, absl::Time deadline) {
  if (absl::Status s = CheckOwner(); !s.ok()) return s;
  if (bytes > options_.max_dma_size) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "a DMA buffer of %d bytes exceeds the link's limit of %d (LinkOptions::max_dma_size)",
        bytes, options_.max_dma_size));
  }
  bool quiet = false;  // stopping, and a slice passed in which nothing arrived
  while (true) {
    // Sent, not only taken: releases of buffers that replies read ahead carried may be what
    // the peer waits for before it replies again.
    FlushReleases();
    absl::StatusOr<uint64_t> offset = arena_.Allocate(bytes);
    if (offset.ok()) {
      arena_waited_ = absl::ZeroDuration();  // the arena had room
      DmaBuffer buffer = AdoptOwnBuffer(*offset, bytes);
      return buffer;
    }
    if (!absl::IsResourceExhausted(offset.status())) return offset.status();
    // Closed (the peer died, or what it wrote broke the link): no buffer will come back.
    if (!status_.ok()) return status_;
    // Buffers come back with replies and releases, and from other threads: read what has
    // arrived, keeping the messages for Receive(), until one fits or the deadline passes.
    const uint64_t free_before = arena_.free_bytes();
    if (free_before > arena_stall_free_) {
      arena_waited_ = absl::ZeroDuration();  // room came back since the last wait
    }
    arena_stall_free_ = free_before;
    const bool read = ReadAhead();
    if (!status_.ok()) continue;
    if (read && arena_.free_bytes() > free_before) {  // room came back: try again
      quiet = false;
      arena_waited_ = absl::ZeroDuration();
      continue;
    }
    // Records that give no room back (a peer writing stray ones without end) keep the ring
    // ready: the deadline is looked at here, or the wait below would return at once forever.
    if (read && absl::Now() >= deadline) return offset.status();
    // A stopping end gives up once a whole slice brought nothing (a peer that reads and
    // releases goes on being answered).
    if (Stopping()) {
      if (quiet) {
        Shutdown(absl::AbortedError(
            "this end stopped while it waited for room in its DMA arena (the peer keeps the "
            "buffers it was sent)"));
        return status_;
      }
      quiet = true;
    }
    if (OutOfPatience(arena_waited_,
                      "room in this end's DMA arena (it keeps the buffers it was sent)")) {
      return status_;
    }
    const absl::Time began = absl::Now();
    const absl::Time until =
        WaitsInSlices() ? std::min(deadline, began + kLivenessSlice) : deadline;
    const bool arrived = AwaitInbound(until, deadline);
    if (deadline > began) arena_waited_ += absl::Now() - began;  // a try alone counts nothing
    if (!arrived) return offset.status();
  }
}

DmaBuffer LinkCore::AdoptOwnBuffer(uint64_t offset, uint64_t size) {
  DmaBuffer buffer;
  buffer.core_ = shared_from_this();
  buffer.offset_ = offset;
  buffer.data_ = own_arena_ + offset;
  buffer.size_ = size;
  buffer.capacity_ = arena_.AllocatedAt(offset);
  return buffer;
}

void LinkCore::ReturnBuffer(uint64_t offset) {
  if (!OwnedByThisProcess()) return;
  if (returned_.enabled()) {
    returned_.Add({.offset = offset});
    return;
  }
  arena_.Free(offset);
}

void LinkCore::FreeLoan(const Loan& loan) { arena_.Free(loan.offset); }

namespace {

void NothingBorrowed() {}

}  // namespace

absl::StatusOr<uint64_t> LinkCore::Send(uint32_t command, std::span<const std::byte> data,
                                        DmaLoan&& loan, absl::Time deadline) {
  std::vector<std::byte> storage;
  return SendRequest(command, data.size(), CopyOf(data), std::move(loan), deadline, deadline,
                     [&] { data = Stable(data, storage); });
}

absl::StatusOr<uint64_t> LinkCore::SendInPlace(uint32_t command, size_t size, PayloadWriter fill,
                                               DmaLoan&& loan, absl::Time deadline,
                                               absl::Time room_deadline) {
  return SendRequest(command, size, fill, std::move(loan), room_deadline, deadline,
                     NothingBorrowed);
}

std::span<const std::byte> LinkCore::Stable(std::span<const std::byte> data,
                                            std::vector<std::byte>& storage) const {
  if (!record_held_ || data.empty() || data.data() >= inbound_end_ ||
      data.data() + data.size() <= inbound_begin_) {
    return data;
  }
  storage.assign(data.begin(), data.end());  // e.g. an echo of the request just received
  return storage;
}

ABSL_ATTRIBUTE_ALWAYS_INLINE absl::StatusOr<uint64_t> LinkCore::SendRequest(
    uint32_t command, size_t size, PayloadWriter fill, DmaLoan&& loan, absl::Time space_deadline,
    absl::Time request_deadline, BeforeWait before_wait) {
  if (absl::Status s = CheckOwner(); !s.ok()) return s;
  FlushReleases();
  if (!status_.ok()) return status_;
  if (outstanding_.full()) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "%d requests are already outstanding on this end (answered or given up on, but not "
        "yet seen replied to); receive some replies first",
        kMirrorSlots));
  }
  MessageHeader header = NewHeader(MessageKind::kRequest, 0, command);
  header.inline_length = static_cast<uint32_t>(size);
  std::optional<Loan> lent;
  if (loan.direction != DmaDirection::kNone) {
    if (loan.buffer.core_.get() != this) {
      return absl::InvalidArgumentError(
          "a DMA loan must be a buffer allocated from this end (AllocateBuffer)");
    }
    if (loan.direction == DmaDirection::kFromTarget && !loan.wanted_back) {
      return absl::InvalidArgumentError(
          "a kFromTarget loan must be wanted back: what the peer fills comes back in it");
    }
    header.flags = LoanFlag(loan.direction);
    header.dma_offset = loan.buffer.offset_;
    header.dma_length = loan.buffer.size_ == 0 ? loan.buffer.capacity_ : loan.buffer.size_;
    lent = Loan{header.dma_offset, header.dma_length, header.flags, loan.wanted_back};
  }
  absl::StatusOr<std::byte*> space =
      ReserveMessage(size, space_deadline, before_wait, /*request=*/true);
  if (!space.ok()) return space.status();
  // Mirrored before it is published: the target may look at its slot at once. Entered in
  // the table, with the exact time, after: no reply is read before this returns.
  const uint64_t id = outstanding_.Mirror(command, lent ? lent->length : 0, last_cycles_);
  header.message_id = id;
  header.mirror_slot = MirrorSlotOf(id);  // where the target can watch it
  PublishMessage(*space, header, size, fill);
  last_cycles_ = CycleCount();
  outstanding_.Track({id, command, request_deadline, lent}, last_cycles_);
  if (lent) loan.buffer.core_.reset();  // lent: the pages stay allocated until it returns
  ++stats_.requests_sent;
  return id;
}

absl::StatusOr<uint64_t> LinkCore::SendRequestOutOfLine(uint32_t command, size_t size,
                                                        PayloadWriter fill, DmaLoan&& loan,
                                                        absl::Time space_deadline,
                                                        absl::Time request_deadline,
                                                        BeforeWait before_wait) {
  return SendRequest(command, size, fill, std::move(loan), space_deadline, request_deadline,
                     before_wait);
}

absl::Status LinkCore::Reply(uint64_t id, const absl::Status& status,
                             std::span<const std::byte> data, ReplyDma&& dma) {
  std::vector<std::byte> storage;
  return SendReply(id, status, data.size(), CopyOf(data), std::move(dma),
                   [&] { data = Stable(data, storage); });
}

absl::Status LinkCore::ReplyInPlace(uint64_t id, size_t size, PayloadWriter fill, ReplyDma&& dma) {
  return SendReply(id, absl::OkStatus(), size, fill, std::move(dma), NothingBorrowed);
}

ABSL_ATTRIBUTE_ALWAYS_INLINE absl::Status LinkCore::SendReply(uint64_t id,
                                                              const absl::Status& status,
                                                              size_t size, PayloadWriter fill,
                                                              ReplyDma&& dma,
                                                              BeforeWait before_wait) {
  if (absl::Status s = CheckOwner(); !s.ok()) return s;
  FlushReleases();
  IncomingRequest* request = FindIncoming(id);
  // A requester may have died while its request was worked on. Looking costs a system
  // call (about a microsecond), so only a request that took a while (over 100 us) is looked
  // after; a prompt reply cannot know either way, since its requester may die just after.
  // (After the reply is published it would be too late: the requester may have taken it and
  // exited.)
  if (status_.ok() && request != nullptr) {
    last_cycles_ = CycleCount();
    if (last_cycles_ - request->received > kCyclesPerMillisecond / 10 && !PeerAlive()) {
      peer_gone_ = true;
      Shutdown(PeerDiedError("the requester's end closed before the reply"));
    }
  }
  if (!status_.ok()) return ClosedStatus(absl::StrFormat("cannot reply to request %d", id));
  if (request == nullptr) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "no request %d awaits a reply from this end (already answered, or never received)", id));
  }
  bool fills = request->loan && request->loan->flag == kFlagDmaFromTarget;
  MessageHeader header = NewHeader(MessageKind::kReply, id, request->command);
  header.status = status.ok() ? 0 : static_cast<int32_t>(status.code());
  // A reply that is not OK carries the error message instead of a payload.
  std::span<const std::byte> text = AsBytes(status.message());
  header.inline_length = static_cast<uint32_t>(status.ok() ? size : text.size());
  if (dma.filled > 0 && (!fills || dma.filled > request->loan->length)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "request %d lent no buffer to fill, or one of fewer than %d bytes", id, dma.filled));
  }
  if (fills) {
    if (dma.attach.valid()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("request %d lent a buffer to fill; its reply cannot attach another", id));
    }
    header.flags = kFlagDmaFromTarget;
    header.dma_offset = request->loan->offset;
    header.dma_length = dma.filled;
  } else if (dma.attach.valid()) {
    if (dma.attach.core_.get() != this) {
      return absl::InvalidArgumentError("an attached buffer must come from this end");
    }
    header.flags = kFlagDmaReplyBuffer;
    header.dma_offset = dma.attach.offset_;
    header.dma_length = dma.attach.size_;
  }
  absl::Status written = status.ok()
                             ? WriteMessage(header, size, fill, absl::InfiniteFuture(), before_wait)
                             : WriteMessage(header, text.size(), CopyOf(text),
                                            absl::InfiniteFuture(), NothingBorrowed);
  if (!written.ok()) return written;
  if (header.flags == kFlagDmaReplyBuffer) {
    reply_loans_[header.dma_offset] = header.dma_length;
    dma.attach.core_.reset();  // the peer holds it until it sends a release
  }
  request->id = 0;
  --incoming_count_;
  ++stats_.replies_sent;
  return absl::OkStatus();
}

ABSL_ATTRIBUTE_ALWAYS_INLINE absl::Status LinkCore::WriteMessage(const MessageHeader& header,
                                                                 size_t payload_size,
                                                                 PayloadWriter fill,
                                                                 absl::Time deadline,
                                                                 BeforeWait before_wait) {
  absl::StatusOr<std::byte*> space =
      ReserveMessage(payload_size, deadline, before_wait, /*request=*/false);
  if (!space.ok()) return space.status();
  PublishMessage(*space, header, payload_size, fill);
  return absl::OkStatus();
}

ABSL_ATTRIBUTE_ALWAYS_INLINE absl::StatusOr<std::byte*> LinkCore::ReserveMessage(
    size_t payload_size, absl::Time deadline, BeforeWait before_wait, bool request) {
  size_t size = kMessageHeaderSize + payload_size;
  if (size > out_.max_payload_size()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "an inline payload of %d bytes does not fit the link's ring (at most %d); send it "
        "in a DMA buffer",
        payload_size, out_.max_payload_size() - kMessageHeaderSize));
  }
  absl::StatusOr<std::byte*> space = out_.TryReserve(size);
  if (space.ok() && *space == nullptr) {
    const bool waits = deadline > absl::Now();
    if (waits) {  // about to wait: hand the held record's space back
      before_wait();
      ReleaseHeldRecord();
    }
    space = ReserveSlow(size, deadline, /*read_ahead=*/request && waits);
  }
  if (!space.ok()) {
    if (absl::IsDataLoss(space.status()) && status_.ok()) {
      Shutdown(BadMessageError(
          absl::StrCat("the peer broke the outbound ring: ", space.status().message())));
      return status_;
    }
    return space.status();
  }
  return space;
}

ABSL_ATTRIBUTE_ALWAYS_INLINE void LinkCore::PublishMessage(std::byte* space,
                                                           const MessageHeader& header,
                                                           size_t payload_size,
                                                           PayloadWriter fill) {
  std::memcpy(space, &header, kMessageHeaderSize);
  fill({space + kMessageHeaderSize, payload_size});
  out_.Commit(kMessageHeaderSize + payload_size);
  out_.Publish();
}

absl::StatusOr<std::byte*> LinkCore::ReserveSlow(size_t size, absl::Time deadline,
                                                 bool read_ahead) {
  while (true) {
    if (read_ahead) {
      ReadAhead();
      if (!status_.ok()) return status_;  // what it read broke the link
    }
    // A peer that reads, however slowly, is not given up on: room for this message may
    // take many of its reads. One that read nothing since an earlier wait (of a caller
    // that waits in slices) is as far behind as it was then.
    if (out_.consumed() != ring_stall_consumed_) {
      ring_stall_consumed_ = out_.consumed();
      ring_waited_ = absl::ZeroDuration();
    }
    // Releases first (of buffers replies read ahead carried, or other threads dropped):
    // the peer may be waiting for them to reply, and so to read.
    FlushReleases();
    const absl::Time began = absl::Now();
    absl::StatusOr<std::byte*> space =
        out_.Reserve(size, std::min(deadline, began + kLivenessSlice));
    if (space.ok()) return space;
    if (deadline > began) ring_waited_ += absl::Now() - began;  // a try alone counts nothing
    if (!absl::IsDeadlineExceeded(space.status())) {
      Shutdown(BadMessageError(
          absl::StrCat("the peer broke the outbound ring: ", space.status().message())));
      return status_;
    }
    if (!PeerAlive()) {
      Shutdown(PeerDiedError("the peer's end closed while this end waited for ring space"));
      return status_;
    }
    if (Stopping()) {  // a whole slice without room (a peer that reads makes some)
      Shutdown(absl::AbortedError(
          "this end stopped while it waited for room in the link's ring (the peer reads "
          "nothing)"));
      return status_;
    }
    if (OutOfPatience(ring_waited_, "room in the link's ring (it reads nothing)")) {
      return status_;
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          "no room in the link's ring before the deadline: the peer is not reading");
    }
  }
}

bool LinkCore::OutOfPatience(absl::Duration waited, absl::string_view room) {
  if (patience_ == absl::InfiniteDuration() || waited < patience_) return false;
  Shutdown(absl::AbortedError(absl::StrCat("this end gave up on the peer: it made no ", room,
                                           " for ", absl::FormatDuration(patience_),
                                           " (the end's patience, Link::SetPatience)")));
  return true;
}

bool LinkCore::ReadAhead() {
  // At most a ring's worth of records a time: a peer writing records this end consumes
  // without a trace (a stray synthetic reply) must not keep the wait from its deadline.
  int read = 0;
  for (; read < kReadAheadLimit && status_.ok(); ++read) {
    Message message;
    Step step = ReadOneOutOfLine(&message);
    if (step == Step::kMessage) {
      pending_.push_back(Own(std::move(message)));
      ReleaseHeldRecord();
    } else if (step != Step::kHandled) {
      break;  // nothing more, or the link broke
    }
  }
  return read > 0;
}

void LinkCore::ReleasePeerBuffer(uint64_t offset, uint64_t length) {
  if (!OwnedByThisProcess()) return;
  if (returned_.enabled()) {
    returned_.Add({.offset = offset, .length = length, .peer = true});
    return;
  }
  QueueRelease(offset, length);
  FlushReleases();
}

void LinkCore::QueueRelease(uint64_t offset, uint64_t length) {
  if (!status_.ok()) return;  // a closed link's peer takes back nothing
  MessageHeader header = NewHeader(MessageKind::kRelease);
  header.dma_offset = offset;
  header.dma_length = length;
  releases_to_send_.push_back(header);
}

ABSL_ATTRIBUTE_NOINLINE void LinkCore::TakeReturns() {
  for (const ReturnedBuffers::Entry& entry : returned_.Take()) {
    if (entry.peer) {
      QueueRelease(entry.offset, entry.length);
    } else {
      arena_.Free(entry.offset);
    }
  }
}

absl::StatusOr<int> LinkCore::ReturnBuffersFromAnyThread() {
  if (absl::Status s = CheckOwner(); !s.ok()) return s;
  if (absl::Status s = returned_.Enable(); !s.ok()) return s;
  return returned_.signal()->fd();
}

void LinkCore::SendReleases() {
  if (returned_.waiting()) TakeReturns();
  while (!releases_to_send_.empty() && status_.ok()) {
    absl::StatusOr<std::byte*> space = out_.TryReserve(kMessageHeaderSize);
    if (!space.ok() || *space == nullptr) return;  // no room now: sent with a later call
    std::memcpy(*space, &releases_to_send_.back(), kMessageHeaderSize);
    out_.Commit(kMessageHeaderSize);
    releases_to_send_.pop_back();
    out_.Publish();
  }
}

absl::Status LinkCore::Cancel(uint64_t id) {
  if (absl::Status s = CheckOwner(); !s.ok()) return s;
  std::optional<OutstandingRequest> request = outstanding_.Abandon(id);
  if (!request) {
    return absl::NotFoundError(absl::StrFormat("request %d is not outstanding", id));
  }
  MessageHeader header =
      CompleteUnreplied({{Unreplied{id, request->command}}}, absl::StatusCode::kCancelled)[0];
  pending_.push_back(SyntheticReply(
      header, absl::CancelledError(absl::StrFormat("request %d was cancelled", id)), std::nullopt));
  return absl::OkStatus();
}

absl::StatusOr<LinkWaker> LinkCore::Waker() {
  if (absl::Status s = CheckOwner(); !s.ok()) return s;
  if (wake_ == nullptr) {
    absl::StatusOr<std::shared_ptr<WakeSignal>> signal = WakeSignal::Create();
    if (!signal.ok()) return signal.status();
    wake_ = *std::move(signal);
  }
  return LinkWaker(wake_);
}

RequestWatch LinkCore::Watch(const Message& request) {
  RequestWatch watch;
  if (request.kind != MessageKind::kRequest || request.mirror_slot_ >= kMirrorSlots) {
    return watch;
  }
  watch.core_ = shared_from_this();
  watch.slot_ = &peer_mirror_[request.mirror_slot_];
  watch.id_ = request.id;
  return watch;
}

absl::Status LinkCore::ClosedStatus(absl::string_view what) const {
  absl::Status status(status_.code(), absl::StrCat(what, ": ", status_.message()));
  status_.ForEachPayload(
      [&](absl::string_view url, const absl::Cord& payload) { status.SetPayload(url, payload); });
  return status;
}

void LinkCore::Shutdown(const absl::Status& why) {
  if (!status_.ok()) return;
  status_ = why;
  std::vector<OutstandingRequest> unanswered = outstanding_.TakeAll();
  std::vector<Unreplied> ids;
  ids.reserve(unanswered.size());
  for (const OutstandingRequest& r : unanswered) ids.push_back({r.id, r.command});
  std::vector<MessageHeader> replies = CompleteUnreplied(ids, why.code());
  for (size_t i = 0; i < replies.size(); ++i) {
    // The peer can no longer touch a lent buffer: it comes back with the reply.
    pending_.push_back(SyntheticReply(replies[i], why, unanswered[i].loan));
  }
  for (const Loan& loan : outstanding_.TakeAllAbandoned()) FreeLoan(loan);
  for (const auto& [offset, bytes] : reply_loans_) arena_.Free(offset);
  reply_loans_.clear();
  std::fill(incoming_.begin(), incoming_.end(), IncomingRequest());
  incoming_count_ = 0;
  releases_to_send_.clear();
  // Tell the peer, if it is still there: it sees its end of the socket close.
  if (socket_.valid()) shutdown(socket_.get(), SHUT_RDWR);
}

void LinkCore::Close() {
  if (OwnedByThisProcess()) {
    Shutdown(absl::FailedPreconditionError("this end of the link was closed"));
    pending_.clear();
  }
  DropDescriptors();
}

absl::Status LinkCore::CheckQuiescent() {
  if (absl::Status s = CheckOwner(); !s.ok()) return s;
  ReleaseHeldRecord();
  FlushReleases();
  if (!status_.ok()) return status_;
  if (outstanding_.size() + outstanding_.abandoned() + incoming_count_ + reply_loans_.size() +
          pending_.size() + releases_to_send_.size() >
      0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "an end can be handed over only when nothing is in flight: %d requests outstanding, "
        "%d abandoned, %d received and unanswered, %d reply buffers lent, %d messages "
        "undelivered",
        outstanding_.size(), outstanding_.abandoned(), incoming_count_, reply_loans_.size(),
        pending_.size()));
  }
  if (!arena_.whole()) {
    return absl::FailedPreconditionError(
        "an end can be handed over only when none of its DMA buffers is allocated");
  }
  return absl::OkStatus();
}

LinkCore::HandOver LinkCore::TakeDescriptors() {
  status_ = absl::FailedPreconditionError("this end was handed to another process");
  KeepInForkedChildren(socket_.get());
  KeepInForkedChildren(watch_.get());
  return {std::move(socket_), std::move(watch_)};
}

LinkStats LinkCore::stats() const {
  LinkStats stats = stats_;
  stats.outstanding = outstanding_.size();
  stats.abandoned = outstanding_.abandoned();
  stats.unanswered_incoming = incoming_count_;
  stats.arena_free_bytes = arena_.free_bytes();
  stats.arena_bytes = arena_.size();
  return stats;
}

}  // namespace syslink::internal
