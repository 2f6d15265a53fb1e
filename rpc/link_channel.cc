#include "rpc/link_channel.h"

#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <optional>

#include "absl/base/attributes.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "rpc/internal/call_codec.h"
#include "rpc/internal/metadata_codec.h"

namespace syslink::rpc {
namespace {

// A spinning reader lets the link look at its peer (a system call) this often.
constexpr absl::Duration kLivenessCheck = absl::Milliseconds(1);
constexpr int kSpinsPerClockCheck = 64;
// A reader that let a sender in spins this often for it to take the channel, then yields
// its CPU: the sender may be waiting for this very CPU.
constexpr int kSpinsBeforeYield = 16;
// A send that finds no room in the link (ring space, or arena pages to copy into) waits for
// it in slices this long, letting the threads that wait for the channel have it between two.
constexpr absl::Duration kRoomSlice = absl::Milliseconds(10);

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

void Signal(int eventfd) {
  uint64_t one = 1;
  if (write(eventfd, &one, sizeof(one)) < 0) {
    // Cannot fail: the eventfd is far from full.
  }
}

}  // namespace

absl::Status NameMethod(absl::Status status, const Method& method) {
  if (status.ok()) return status;
  absl::Status named(status.code(), absl::StrCat(method.path, ": ", status.message()));
  status.ForEachPayload(
      [&](absl::string_view type, const absl::Cord& payload) { named.SetPayload(type, payload); });
  return named;
}

LinkChannel::LinkChannel(Link link, LinkChannelOptions options)
    : LinkChannel(std::move(link), PeerIdentity{}, options) {}

LinkChannel::LinkChannel(Link link, PeerIdentity server, LinkChannelOptions options)
    : server_(server),
      options_(options),
      link_(std::move(link)),
      wake_(std::make_shared<const UniqueFd>(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK))) {
  // Attachments the channel hands out give their buffers back from whatever thread drops
  // them; the link queues them for whoever holds the channel next.
  ChannelLock lock(this);
  link_.SetStopFlag(&refusing_);
  absl::StatusOr<int> returns = link_.ReturnBuffersFromAnyThread();
  if (returns.ok()) {
    returns_fd_ = *returns;
  } else if (link_.valid()) {
    link_.Close();  // without the queue, a dropped attachment would race the reader
  }
}

LinkChannel::~LinkChannel() {
  Completions completions;
  {
    ChannelLock lock(this);
    stopping_ = true;
    if (sleeping_) Signal(wake_->get());
    SignalChanged();
    WakeCompleter();
    // Only the completion thread can be reading now (a caller inside Call() would be using
    // a channel being destroyed): it stops at once.
    ++waiting_;
    while (reading_) WaitUnlocked(changed_, absl::InfiniteFuture());
    --waiting_;
    for (auto& [id, pending] : pending_) {
      absl::Status destroyed = absl::CancelledError("the channel was destroyed");
      if (pending.stream != nullptr) {
        EndStream(*pending.stream, destroyed);
      } else if (pending.waiter != nullptr) {
        Complete(*pending.waiter, destroyed);
      } else {
        completions.emplace_back(std::move(pending.done), destroyed);
        ++callbacks_to_run_;
      }
    }
    pending_.Clear();
    pending_async_ = 0;
    pending_stream_ = 0;
    pending_with_context_ = 0;
    link_.Close();
  }
  // From here on this is the only thread: the completion thread is joined, or is this
  // thread (a callback it ran held the last reference), which returns once this is done.
  if (completer_.joinable()) {
    if (completer_.get_id() == std::this_thread::get_id()) {
      completer_.detach();
    } else {
      completer_.join();
    }
  }
  // Callbacks the completion thread had not run yet.
  for (auto& completion : ready_callbacks_) completions.push_back(std::move(completion));
  ready_callbacks_.clear();
  Run(completions);
}

void LinkChannel::Acquire() const {
  // A free channel is taken at once: two locked instructions fewer than announcing first.
  if (mutex_.TryLock()) return;
  want_lock_.fetch_add(1, std::memory_order_relaxed);
  mutex_.Lock();
  want_lock_.fetch_sub(1, std::memory_order_relaxed);
}

bool LinkChannel::Done(const Waiter& waiter) const { return waiter.done; }

void LinkChannel::Complete(Waiter& waiter, absl::Status status) {
  // Signalled with the waiter's mutex held: the caller cannot return (and destroy the
  // waiter) before this is done with it.
  absl::MutexLock lock(&waiter.mutex);
  waiter.status = std::move(status);
  waiter.done = true;
  waiter.ready.Signal();
}

void LinkChannel::CompleteOwn(Waiter& waiter, absl::Status status) {
  waiter.status = std::move(status);
  waiter.done = true;
}

void LinkChannel::WakeToRead(Waiter& waiter) {
  absl::MutexLock lock(&waiter.mutex);
  waiter.wake = true;
  waiter.ready.Signal();
}

absl::Status LinkChannel::status() const {
  ChannelLock lock(this);
  return link_.status();
}

bool LinkChannel::idle() const {
  ChannelLock lock(this);
  return pending_.empty() && callbacks_to_run_ == 0;
}

absl::StatusOr<Attachment> LinkChannel::AllocateAttachment(size_t bytes) {
  ChannelLock lock(this);
  absl::StatusOr<DmaBuffer> buffer = link_.AllocateBuffer(bytes);
  // Short of room, the link reads ahead and looks at the socket: it may have read a reply
  // a reader asleep in poll() waits for, or taken its wake-up. The reader looks again.
  if (sleeping_) Signal(wake_->get());
  if (!buffer.ok()) return buffer.status();
  return Attachment::FromDmaBuffer(*std::move(buffer));
}

ABSL_ATTRIBUTE_ALWAYS_INLINE absl::StatusOr<uint64_t> LinkChannel::Start(
    const Method& method, const google::protobuf::MessageLite& request,
    google::protobuf::MessageLite* response, ClientContext* context, DoneCallback& done,
    Waiter* waiter) {
  if (context != nullptr && (!context->metadata().empty() || context->send_method_path()))
      [[unlikely]] {
    return StartWithMetadata(method, request, response, context, done, waiter);
  }
  return SendCall(method, request, response, context, done, waiter, nullptr);
}

absl::StatusOr<uint64_t> LinkChannel::StartWithMetadata(
    const Method& method, const google::protobuf::MessageLite& request,
    google::protobuf::MessageLite* response, ClientContext* context, DoneCallback& done,
    Waiter* waiter) {
  std::optional<Metadata> with_path;  // the context's and the method's path, if asked
  absl::StatusOr<const Metadata*> metadata =
      internal::OutgoingMetadata(context, method.path, with_path, "the call's metadata");
  if (!metadata.ok()) return NameMethod(metadata.status(), method);
  return SendCall(method, request, response, context, done, waiter, *metadata);
}

ABSL_ATTRIBUTE_ALWAYS_INLINE absl::StatusOr<uint64_t> LinkChannel::SendCall(
    const Method& method, const google::protobuf::MessageLite& request,
    google::protobuf::MessageLite* response, ClientContext* context, DoneCallback& done,
    Waiter* waiter, const Metadata* metadata) {
  absl::Time deadline = context ? context->deadline() : absl::InfiniteFuture();
  // TryCancel() wakes this channel's reader at once.
  if (context != nullptr) context->set_cancel_waker(wake_);
  Pending pending{response, context, std::move(done), waiter};
  pending.method = &method;
  absl::StatusOr<uint64_t> id = Send(method.id, internal::MessageSource::Of(request),
                                     context ? &context->request_attachment() : nullptr, deadline,
                                     /*flags=*/0, /*stream_id=*/0, pending, metadata);
  if (!id.ok()) {
    done = std::move(pending.done);  // not sent: the caller still has it
    return NameMethod(id.status(), method);
  }
  return id;
}

absl::StatusOr<uint64_t> LinkChannel::Send(uint32_t command, const internal::MessageSource& source,
                                           Attachment* attachment, absl::Time deadline,
                                           uint16_t flags, uint32_t stream_id, Pending& pending,
                                           const Metadata* metadata, bool waits_for_room) {
  internal::OutgoingCall call;
  auto allocate = [&](size_t bytes)
                      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) -> absl::StatusOr<DmaBuffer> {
    absl::StatusOr<DmaBuffer> buffer = link_.AllocateBuffer(bytes);
    if (buffer.ok() || !absl::IsResourceExhausted(buffer.status()) || !waits_for_room) {
      return buffer;
    }
    absl::Status waited = WaitForRoom(
        [&](absl::Time room_until) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
          buffer = link_.AllocateBuffer(bytes, room_until);
          return buffer.status();
        },
        buffer.status(), absl::StatusCode::kResourceExhausted, deadline, pending.context);
    if (!waited.ok()) return waited;
    return buffer;
  };
  if (absl::Status s =
          internal::PrepareOutgoing(link_, source, attachment, allocate, metadata, call);
      !s.ok()) {
    if (sleeping_) Signal(wake_->get());  // its wait for a buffer may have read replies ahead
    return s;
  }
  if (deadline != absl::InfiniteFuture()) {
    call.header.deadline_unix_ns = absl::ToUnixNanos(deadline);
  }
  call.header.flags |= flags;
  call.header.stream_id = stream_id;
  pending.lends_attachment = call.lends_attachment;
  DmaLoan loan;
  if (call.dma.valid()) {
    // Only a lent attachment comes back to the caller; a copy made to send goes back to
    // the arena as soon as its reply is read.
    loan = {std::move(call.dma), DmaDirection::kToTarget, call.lends_attachment};
  }
  auto write = [&](std::span<std::byte> out) { internal::WriteInline(call, source, out); };
  // Sent at once when the ring has room; else room is waited for in slices, the channel let
  // go between them.
  absl::StatusOr<uint64_t> id =
      link_.SendInPlace(command, call.inline_size(), write, loan, deadline, absl::InfinitePast());
  if (!id.ok() && absl::IsDeadlineExceeded(id.status()) && waits_for_room) [[unlikely]] {
    absl::Status waited = WaitForRoom(
        [&](absl::Time room_until) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
          id = link_.SendInPlace(command, call.inline_size(), write, loan, deadline, room_until);
          return id.status();
        },
        id.status(), absl::StatusCode::kDeadlineExceeded, deadline, pending.context);
    if (!waited.ok()) id = waited;
  }
  if (!id.ok()) {
    // A send that waited may have read replies ahead, or taken the wake-up a sleeping
    // reader waits for: it looks again.
    if (sleeping_) Signal(wake_->get());
    // A lent attachment stays the caller's.
    if (call.lends_attachment && loan.buffer.valid()) {
      *attachment = Attachment::FromDmaBuffer(std::move(loan.buffer));
    }
    return id.status();
  }
  if (attachment != nullptr && !attachment->empty()) {
    *attachment = Attachment();  // sent: a copy went
  }
  ClientContext* context = pending.context;
  const bool stream = pending.stream != nullptr;
  const bool async = pending.waiter == nullptr && !stream;
  pending_.Emplace(*id, std::move(pending));
  if (context != nullptr) {
    ++pending_with_context_;
    next_deadline_ = std::min(next_deadline_, deadline);
  }
  if (async) ++pending_async_;
  if (stream) ++pending_stream_;
  // A reader asleep in poll() is told: the send may have taken the wake-up its poll()
  // waits for (a sender short of ring space looks at the socket), and it must now count
  // this call's deadline and cancel flag.
  if (sleeping_) Signal(wake_->get());
  return id;
}

absl::Status LinkChannel::WaitForRoom(absl::FunctionRef<absl::Status(absl::Time)> attempt,
                                      absl::Status status, absl::StatusCode no_room,
                                      absl::Time deadline, const ClientContext* context) {
  while (status.code() == no_room) {
    // The attempt may have read replies ahead, or taken the wake-up a sleeping reader
    // waits for: it looks again.
    if (sleeping_) Signal(wake_->get());
    if (!link_.status().ok()) return link_.status();  // no room will come
    if (absl::Now() >= deadline) return status;
    if (want_lock_.load(std::memory_order_relaxed) > 0) {
      // Their calls may have earlier deadlines, and a reader among them may be what the
      // server waits for before it reads on: they go first.
      LetWaitersIn(/*waits_for_room=*/true);
    }
    if (context != nullptr && context->cancel_requested()) {
      return absl::CancelledError("the call was cancelled while it waited for room in the link");
    }
    status = attempt(std::min(deadline, absl::Now() + kRoomSlice));
  }
  return status;
}

ABSL_ATTRIBUTE_ALWAYS_INLINE absl::Status LinkChannel::Finish(
    Message& reply, const Method& method, google::protobuf::MessageLite* response,
    ClientContext* context, bool lends_attachment) {
  if (context != nullptr && lends_attachment && reply.returned_buffer.valid()) {
    context->request_attachment() = Attachment::FromDmaBuffer(std::move(reply.returned_buffer));
  }
  if (!reply.status.ok()) {
    Metadata trailing;
    absl::Status status = internal::DecodeErrorReply(reply.status, &trailing);
    if (context != nullptr) context->set_server_trailing_metadata(std::move(trailing));
    return status;
  }
  absl::StatusOr<internal::IncomingCall> call = internal::ParseIncoming(
      reply.data, reply.peer_buffer.data(), internal::Incoming::kUnaryReply);
  if (!call.ok()) return NameMethod(call.status(), method);
  if (!call->metadata.empty()) [[unlikely]] {
    absl::StatusOr<Metadata> trailing = internal::DecodeMetadata(call->metadata);
    if (!trailing.ok()) return NameMethod(trailing.status(), method);
    if (context != nullptr) context->set_server_trailing_metadata(*std::move(trailing));
  }
  if (!response->ParseFromArray(call->message.data(), static_cast<int>(call->message.size()))) {
    return absl::InvalidArgumentError(
        absl::StrFormat("the response of %s (%d bytes) does not parse as %s", method.path,
                        call->message.size(), response->GetTypeName()));
  }
  if (context != nullptr && call->has_attachment) {
    context->response_attachment() = Attachment::FromPeerBuffer(
        std::move(reply.peer_buffer), call->attachment_offset, call->attachment_size);
  }
  return absl::OkStatus();
}

ABSL_ATTRIBUTE_ALWAYS_INLINE void LinkChannel::Deliver(Message& message, Completions& completions,
                                                       const Waiter* own) {
  if (message.kind == MessageKind::kRequest) [[unlikely]] {
    // A client end serves nothing. A server that sends requests and reads none of the
    // refusals would hold this reader (and the channel) for good: a refusal that finds no
    // room in a 10 ms slice closes the link instead.
    refusing_.store(true, std::memory_order_relaxed);
    (void)link_.Reply(message.id,
                      absl::UnimplementedError("this end is a client; it serves no calls"), {});
    refusing_.store(false, std::memory_order_relaxed);
    return;
  }
  Pending* found = pending_.Find(message.id);
  if (found == nullptr) return;
  // Used where it is and erased last: nothing here adds to or takes from pending_.
  Pending& pending = *found;
  if (pending.context != nullptr) --pending_with_context_;
  if (pending.stream != nullptr) [[unlikely]] {
    --pending_stream_;
    DeliverStream(pending, message);
    pending_.Erase(message.id);
    return;
  }
  absl::Status status =
      Finish(message, *pending.method, pending.response, pending.context, pending.lends_attachment);
  if (message.synthetic) [[unlikely]] {
    status = NameMethod(std::move(status), *pending.method);
    // Given up on by this end, not answered by the link's end: the server may still run it.
    if (absl::IsCancelled(message.status) || absl::IsDeadlineExceeded(message.status)) {
      TellGivenUp(message.command, message.id);
    }
  }
  if (pending.waiter != nullptr) {
    if (pending.waiter == own) {
      CompleteOwn(*pending.waiter, std::move(status));
    } else {
      Complete(*pending.waiter, std::move(status));
    }
    pending_.Erase(message.id);
    return;
  }
  --pending_async_;
  ++callbacks_to_run_;
  if (options_.completion_thread) {
    // Its callback runs on the completion thread, whoever read the reply.
    ready_callbacks_.emplace_back(std::move(pending.done), std::move(status));
    WakeCompleter();
    if (waiting_ > 0) SignalChanged();
  } else if (own != nullptr) {
    // Read by a waiter (a sync call, a stream's reader or writer), whose own wait may
    // last: the callback waits where a Drain() on another thread runs it at once, or the
    // waiter when its wait ends.
    ready_callbacks_.emplace_back(std::move(pending.done), std::move(status));
    if (waiting_ > 0) SignalChanged();
  } else {
    completions.emplace_back(std::move(pending.done), std::move(status));
  }
  pending_.Erase(message.id);
}

void LinkChannel::TellGivenUp(uint32_t command, uint64_t id) {
  const internal::GivenUpNotice notice = internal::EncodeGivenUp(id);
  // Not waiting for room: the reader that sends it may be the one the server waits for.
  absl::StatusOr<uint64_t> sent = link_.Send(command, notice, {}, absl::InfinitePast());
  if (sent.ok()) {
    (void)link_.Cancel(*sent);  // its reply says nothing: the link drops it
  } else if (FoundNoRoom(sent.status()) && given_up_unsent_.size() < kMirrorSlots) {
    // No room in the ring, or every request slot taken: the server is behind. At most as
    // many wait as calls can be outstanding; past that, cancelled() alone tells.
    given_up_unsent_.emplace_back(command, id);
    // Someone must read on, if only late replies, until a slot is free: the completion
    // thread, even if no call waits.
    if (options_.completion_thread) StartOrWakeCompleter();
  }
}

void LinkChannel::TellGivenUpLater() {
  std::vector<std::pair<uint32_t, uint64_t>> unsent;
  unsent.swap(given_up_unsent_);
  for (size_t i = 0; i < unsent.size(); ++i) {
    TellGivenUp(unsent[i].first, unsent[i].second);
    if (!given_up_unsent_.empty()) {
      // No room yet: the rest wait too, in order, untried.
      given_up_unsent_.insert(given_up_unsent_.end(), unsent.begin() + i + 1, unsent.end());
      return;
    }
  }
  std::vector<std::shared_ptr<StreamState>> cancels;
  cancels.swap(cancels_unsent_);
  for (size_t i = 0; i < cancels.size(); ++i) {
    if (!SendCancelNotice(cancels[i])) {
      cancels_unsent_.insert(cancels_unsent_.end(), cancels.begin() + i, cancels.end());
      return;
    }
  }
}

void LinkChannel::CancelRequested() {
  absl::Time next = absl::InfiniteFuture();
  std::vector<std::shared_ptr<StreamState>> cancelled_streams;
  for (auto& [id, pending] : pending_) {
    if (pending.context == nullptr) continue;
    next = std::min(next, pending.context->deadline());
    if (!pending.cancel_sent && pending.context->cancel_requested()) {
      (void)link_.Cancel(id);  // its synthetic CANCELLED reply completes it
      pending.cancel_sent = true;
      if (pending.op == StreamOp::kOpen) cancelled_streams.push_back(pending.stream);
    }
  }
  next_deadline_ = next;
  // The server learns at once that a stream was given up.
  for (const std::shared_ptr<StreamState>& stream : cancelled_streams) TellCancelled(stream);
}

void LinkChannel::Read(const Waiter* waiter, absl::Time until, Completions& completions) {
  reading_ = true;
  const ring::WaitOptions& wait = link_.options().wait;
  // An async reader (the completion thread, Drain()) stops to run the callbacks read:
  // queued for the completion thread, or in `completions` for Drain() without one.
  // The completion thread also reads on while given-up notices wait for room.
  auto finished = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    if (waiter != nullptr) return Done(*waiter);
    if (!completions.empty()) return true;
    if (pending_async_ == 0 && !NoticesUnsent()) return true;
    return stopping_ || !ready_callbacks_.empty() ||
           (pending_async_ == 0 && (draining_ > 0 || !options_.completion_thread));
  };
  absl::Time spin_until = absl::InfinitePast();  // set when a spell of spinning starts
  absl::Time next_look = absl::InfinitePast();   // the next full look at the link
  int spins = 0;
  while (!finished()) {
    if (const int wanting = want_lock_.load(std::memory_order_relaxed); wanting > 0) [[unlikely]] {
      // A sender waits for the channel: let it in. One waiting for room in the link waits
      // for this reader's next full look (below): it holds the channel for a slice each
      // time, and the replies this reader hands out may be what the server waits for.
      if (wanting > room_waiters_.load(std::memory_order_relaxed)) {
        LetWaitersIn(/*waits_for_room=*/false);
        continue;
      }
    }
    if (link_.Ready()) {
      absl::StatusOr<Message> message = link_.Receive(absl::InfinitePast());
      if (message.ok()) {
        Deliver(*message, completions, waiter);
        spin_until = absl::InfinitePast();
        continue;
      }
      if (!absl::IsDeadlineExceeded(message.status())) break;  // closed
      // Ready, yet nothing for this end (records the link took itself, such as a peer's
      // stray replies): on to the clock, which a peer writing such records for good must
      // not keep this reader from.
    }
    if (++spins < kSpinsPerClockCheck) {
      CpuRelax();
      continue;
    }
    spins = 0;
    absl::Time now = absl::Now();
    if (now >= until) break;
    if (now >= next_look || now >= next_deadline_) {
      // Cancel flags, deadlines, and whether the peer is still there. With no call left
      // that has a context, no deadline is left to watch: a past one would keep this
      // reader from sleeping.
      if (pending_with_context_ > 0) {
        CancelRequested();
      } else {
        next_deadline_ = absl::InfiniteFuture();
      }
      if (NoticesUnsent()) [[unlikely]] {
        TellGivenUpLater();
      }
      absl::StatusOr<Message> message = link_.Receive(absl::InfinitePast());
      if (message.ok()) {
        Deliver(*message, completions, waiter);
        spin_until = absl::InfinitePast();
      } else if (!absl::IsDeadlineExceeded(message.status())) {
        break;  // closed, every reply delivered
      } else if (room_waiters_.load(std::memory_order_relaxed) > 0) [[unlikely]] {
        // Nothing left to hand out: a send waiting for room has the channel for its next
        // slice, then this reader looks again.
        LetWaitersIn(/*waits_for_room=*/false);
        next_look = absl::InfinitePast();
        continue;
      }
      next_look = now + kLivenessCheck;
      continue;
    }
    if (spin_until == absl::InfinitePast()) {
      spin_until = wait.mode == ring::WaitMode::kBlocking ? now : now + wait.spin_budget;
    }
    if (wait.mode == ring::WaitMode::kSpin || now < spin_until) continue;
    Sleep(until);
    spin_until = absl::InfinitePast();
    next_look = absl::InfinitePast();  // after a sleep, look at everything
  }
  // Notices still waiting for room on a closed link go nowhere: dropped now, so that the
  // completion thread does not read on for them.
  if (NoticesUnsent() && !link_.status().ok()) [[unlikely]] {
    TellGivenUpLater();
  }
  reading_ = false;
  HandOff();
}

void LinkChannel::Sleep(absl::Time until) {
  if (!link_.PrepareToPoll()) return;  // something arrived
  until = std::min(until, next_deadline_);
  // Room for a notice waiting for it wakes no one: it is tried again a slice later.
  if (NoticesUnsent()) [[unlikely]] {
    until = std::min(until, absl::Now() + kRoomSlice);
  }
  int timeout = -1;
  if (until != absl::InfiniteFuture()) {
    absl::Duration left = std::max(until - absl::Now(), absl::ZeroDuration());
    // At most INT_MAX ms (24.8 days): a longer wait would wrap, to no timeout or none left.
    timeout = static_cast<int>(std::min<int64_t>(
        absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))), INT_MAX));
  }
  struct pollfd fds[3] = {
      {link_.fd(), POLLIN, 0}, {wake_->get(), POLLIN, 0}, {returns_fd_, POLLIN, 0}};
  sleeping_ = true;
  mutex_.Unlock();
  (void)poll(fds, 3, timeout);
  uint64_t count;
  while (read(wake_->get(), &count, sizeof(count)) > 0) {
  }
  Acquire();  // counted: a send waiting for room lets this reader in
  sleeping_ = false;
}

void LinkChannel::LetWaitersIn(bool waits_for_room) {
  mutex_.Unlock();
  for (int i = 0; want_lock_.load(std::memory_order_relaxed) > 0; ++i) {
    if (i < kSpinsBeforeYield) {
      CpuRelax();
    } else {
      sched_yield();  // a waiter may be waiting for this very CPU
    }
  }
  // Counted as waiting again if the channel was taken meanwhile, so that its holder lets
  // this thread in in turn.
  if (waits_for_room) room_waiters_.fetch_add(1, std::memory_order_relaxed);
  Acquire();
  if (waits_for_room) room_waiters_.fetch_sub(1, std::memory_order_relaxed);
}

void LinkChannel::HandOff() {
  if (pending_.size() > pending_async_ + pending_stream_) {  // a sync call is pending
    for (auto& [id, pending] : pending_) {
      if (pending.waiter != nullptr) {
        WakeToRead(*pending.waiter);  // a sync caller takes over
        return;
      }
    }
  }
  if (!blocked_.empty()) {  // a stream's reader or writer takes over
    WakeToRead(*blocked_.front());
    return;
  }
  WakeCompleter();
  if (waiting_ > 0) SignalChanged();  // Drain(), the destructor
}

void LinkChannel::SignalChanged() { changed_.Signal(); }

bool LinkChannel::WaitUnlocked(Wake& wake, absl::Time deadline) {
  // The generation is read with mutex_ held, as every Signal() is made: none is missed.
  const uint64_t seen = wake.generation();
  mutex_.Unlock();
  const bool timed_out = wake.WaitPast(seen, deadline);
  Acquire();
  return timed_out;
}

size_t LinkChannel::RunCallbacks(Completions& completions) {
  for (auto& [done, status] : completions) done(std::move(status));
  const size_t ran = completions.size();
  completions.clear();  // what the callbacks held goes now, while the channel is not held
  return ran;
}

ABSL_ATTRIBUTE_ALWAYS_INLINE bool LinkChannel::RunUnlocked(Completions& batch) {
  if (options_.completion_thread && completer_.get_id() == std::this_thread::get_id()) {
    return RunWatchingChannel(batch);
  }
  mutex_.Unlock();
  const size_t ran = RunCallbacks(batch);
  Acquire();
  callbacks_to_run_ -= ran;
  return true;
}

bool LinkChannel::RunWatchingChannel(Completions& batch) {
  // A callback may drop the last reference to the channel (a stub it captured): it is then
  // destroyed where that happens, on this thread, and this must not touch it after. Only
  // watched, not held: a user's last reference destroys the channel at once, as always.
  const std::weak_ptr<LinkChannel> alive = weak_from_this();
  const bool owned = !alive.expired();  // else not owned by a shared_ptr: nothing to watch
  mutex_.Unlock();
  const size_t ran = RunCallbacks(batch);
  if (owned && alive.expired()) return false;
  Acquire();
  callbacks_to_run_ -= ran;
  return true;
}

LinkChannel::Ran LinkChannel::RunReady() {
  if (running_callbacks_ || ready_callbacks_.empty()) return Ran::kNone;
  running_callbacks_ = true;
  do {
    Completions batch;
    batch.swap(ready_callbacks_);
    if (!RunUnlocked(batch)) return Ran::kChannelGone;
    // Without a completion thread, whoever runs the queue empties it: a waiter that found
    // it running and left counted on this one to run what it added.
  } while (!options_.completion_thread && !ready_callbacks_.empty());
  running_callbacks_ = false;
  WakeCompleter();
  if (waiting_ > 0) SignalChanged();
  return Ran::kSome;
}

bool LinkChannel::CompleterHasWork() const {
  if (stopping_) return true;
  if (draining_ > 0) return false;  // Drain() reads and runs the callbacks
  if (!ready_callbacks_.empty()) return !running_callbacks_;
  return (pending_async_ > 0 || NoticesUnsent()) && !reading_;
}

void LinkChannel::StartOrWakeCompleter() {
  if (!completer_.joinable()) {
    completer_ = std::thread([this] { CompleteAsync(); });
  } else {
    WakeCompleter();
  }
}

void LinkChannel::WakeCompleter() {
  if (completer_idle_ && CompleterHasWork()) completer_wake_.Signal();
}

void LinkChannel::Run(Completions& completions) {
  if (completions.empty()) return;
  const size_t ran = RunCallbacks(completions);
  ChannelLock lock(this);
  callbacks_to_run_ -= ran;
  if (callbacks_to_run_ == 0 && pending_async_ == 0 && waiting_ > 0) SignalChanged();
}

absl::Status LinkChannel::Call(const Method& method, const google::protobuf::MessageLite& request,
                               google::protobuf::MessageLite* response, ClientContext* context) {
  Waiter waiter;
  Completions completions;
  Acquire();
  DoneCallback none;
  absl::StatusOr<uint64_t> id = Start(method, request, response, context, none, &waiter);
  if (!id.ok()) {
    mutex_.Unlock();
    return id.status();
  }
  // Handed the reader's role after another thread had read this call's reply: the role
  // goes on to the next waiter, or it could wait with no one reading.
  bool owes_role = false;
  while (!Done(waiter)) {
    if (!reading_) {
      Read(&waiter, absl::InfiniteFuture(), completions);
      continue;
    }
    // Another thread reads: it hands the reply over, or the role when it leaves.
    mutex_.Unlock();
    bool done;
    {
      absl::MutexLock wait(&waiter.mutex);
      while (!waiter.done && !waiter.wake) waiter.ready.Wait(&waiter.mutex);
      owes_role = waiter.wake;
      waiter.wake = false;
      done = waiter.done;
    }
    if (done && !owes_role) {
      // Answered, and not handed the role: this thread needs the channel no more.
      Run(completions);
      return std::move(waiter.status);
    }
    Acquire();
    if (done) break;
  }
  if (owes_role && !reading_) HandOff();
  if (!options_.completion_thread) RunReady();  // callbacks of replies it read for others
  mutex_.Unlock();
  Run(completions);
  return std::move(waiter.status);
}

void LinkChannel::CallAsync(const Method& method, const google::protobuf::MessageLite& request,
                            google::protobuf::MessageLite* response, ClientContext* context,
                            DoneCallback done) {
  absl::Status failed;
  {
    ChannelLock lock(this);
    absl::StatusOr<uint64_t> id = Start(method, request, response, context, done, nullptr);
    if (id.ok()) {
      if (options_.completion_thread) StartOrWakeCompleter();
      return;
    }
    failed = id.status();
  }
  done(std::move(failed));
}

void LinkChannel::CompleteAsync() {
  // Taken and let go by hand: when a callback leaves this thread the channel's last
  // reference, the channel is gone once RunReady() returns, and so is its mutex.
  Acquire();
  Completions unused;  // with a completion thread, every callback goes to ready_callbacks_
  while (true) {
    while (!CompleterHasWork()) {
      completer_idle_ = true;
      WaitUnlocked(completer_wake_, absl::InfiniteFuture());
      completer_idle_ = false;
    }
    if (stopping_) break;
    const Ran ran = RunReady();
    if (ran == Ran::kChannelGone) return;  // touching nothing of it
    if (ran == Ran::kNone) Read(nullptr, absl::InfiniteFuture(), unused);
  }
  mutex_.Unlock();
}

size_t LinkChannel::Drain(absl::Time deadline) {
  Acquire();
  // Without a completion thread nobody else reads while no call is pending: notices that
  // waited for room go now if they can.
  if (NoticesUnsent() && !reading_) [[unlikely]] {
    TellGivenUpLater();
  }
  const bool completer = options_.completion_thread;
  if (completer) ++draining_;  // the completion thread stands aside
  Completions completions;
  while (pending_async_ > 0 || callbacks_to_run_ > 0) {
    if (!ready_callbacks_.empty() && RunReady() != Ran::kNone) {
      // Replies keep coming while callbacks start calls: the deadline still ends it.
      if (pending_async_ > 0 && absl::Now() >= deadline) break;
      continue;
    }
    if (pending_async_ > 0 && !reading_ && ready_callbacks_.empty()) {
      Read(nullptr, deadline, completions);
      if (!completions.empty()) {  // no completion thread: the callbacks came here
        RunUnlocked(completions);
        if (waiting_ > 0) SignalChanged();  // another Drain() may wait for these
      }
      // Callbacks just read run first (above), then the deadline is looked at.
      if (ready_callbacks_.empty() && pending_async_ > 0 && absl::Now() >= deadline) break;
      continue;
    }
    ++waiting_;
    const bool timed_out = WaitUnlocked(changed_, deadline);
    --waiting_;
    if (timed_out) break;
  }
  if (completer) {
    --draining_;
    WakeCompleter();  // what is left is the completion thread's again
  }
  const size_t pending_async = pending_async_;
  mutex_.Unlock();
  return pending_async;
}

}  // namespace syslink::rpc
