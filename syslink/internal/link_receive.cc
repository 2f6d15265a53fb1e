// Reading inbound messages: each header copied out of shared memory and checked, then
// matched against this end's state. Receive() and Call().

#include <cstring>
#include <utility>

#include "absl/base/attributes.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/utility/utility.h"
#include "syslink/internal/cycle_clock.h"
#include "syslink/internal/link_core.h"
#include "syslink/status.h"

namespace syslink::internal {
namespace {

// Records Receive() and Call() consume without a message to return between looks at the
// clock: rarely enough to cost nothing, often enough that a peer writing stray records
// without end cannot hold a wait past its deadline.
constexpr uint32_t kHandledPerClockCheck = 256;

// Whether a wait that just consumed a record (`traceless`: one without a message to
// return, counted in `count`) is past `deadline`, looked at every kHandledPerClockCheck.
inline bool PastDeadlineAmongStrays(bool traceless, uint32_t& count, absl::Time deadline) {
  return traceless && ++count % kHandledPerClockCheck == 0 && absl::Now() >= deadline;
}

}  // namespace

void LinkCore::ReleaseHeldRecord() {
  if (!record_held_) return;
  in_.Release();
  record_held_ = false;
}

Message LinkCore::Own(Message message) {
  if (message.owned_data_.empty() && !message.data.empty()) {
    message.owned_data_.assign(message.data.begin(), message.data.end());
    message.data = message.owned_data_;
  }
  // A reply's buffer goes back to the peer now, not when Receive() hands the reply on: a
  // peer that has run out of buffers for the replies after it may be what this end waits
  // for. (A request's buffer is the requester's to lend until this end replies.)
  if (message.kind == MessageKind::kReply && message.peer_buffer.core_ != nullptr) {
    message.peer_buffer.CopyAndRelease();
  }
  return message;
}

LinkCore::Step LinkCore::Violation(const absl::Status& why) {
  Shutdown(why);
  return Step::kBroken;
}

ABSL_ATTRIBUTE_ALWAYS_INLINE LinkCore::Step LinkCore::ReadOne(Message* out) {
  ring::Record record;
  if (!in_.TryNext(record)) {
    if (!in_.status().ok()) {
      return Violation(BadMessageError(
          absl::StrCat("the peer broke the inbound ring: ", in_.status().message())));
    }
    // TryNext may have stepped over padding; hand its space back now, or a sender waiting
    // for it would wait until this end next returns a message.
    if (!record_held_) in_.Release();
    return Step::kEmpty;
  }
  std::span<const std::byte> payload = record.payload;
  // The record's later cache lines, asked for now: read only after the checks, they would
  // otherwise each wait for the writer's CPU in turn.
  for (size_t line = 64; line < payload.size(); line += 64) {
    __builtin_prefetch(payload.data() + line);
  }
  MessageHeader header;
  if (payload.size() >= kMessageHeaderSize) {
    std::memcpy(&header, payload.data(), kMessageHeaderSize);  // once: the peer may rewrite it
  } else {
    std::memset(&header, 0, sizeof(header));
  }
  if (!IsPlainMessage(header, payload.size())) {
    if (absl::Status s = CheckMessageShape(header, payload.size(), limits_); !s.ok()) {
      return Violation(s);
    }
  }
  std::span<const std::byte> data = payload.subspan(kMessageHeaderSize);
  Step step;
  switch (static_cast<MessageKind>(header.kind)) {
    case MessageKind::kRequest:
      step = OnRequest(header, data, out);
      break;
    case MessageKind::kReply:
      step = OnReply(header, data, out);
      break;
    default:
      step = OnRelease(header);
      break;
  }
  if (step == Step::kMessage) {
    record_held_ = true;  // `out` points into the record until the next call
  } else if (step == Step::kHandled) {
    in_.Release();
  }
  return step;
}

LinkCore::Step LinkCore::ReadOneOutOfLine(Message* out) { return ReadOne(out); }

ABSL_ATTRIBUTE_ALWAYS_INLINE LinkCore::Step LinkCore::OnRequest(const MessageHeader& header,
                                                                std::span<const std::byte> data,
                                                                Message* out) {
  const uint32_t slot = header.mirror_slot;  // checked: below kMirrorSlots, named by the id
  if (slot >= incoming_.size()) [[unlikely]] {
    incoming_.resize(slot + 1);
  }
  IncomingRequest* request = &incoming_[slot];
  if (request->id != 0) {
    return Violation(BadMessageError(
        request->id == header.message_id
            ? absl::StrFormat(
                  "request %d reuses the id of a request still awaiting this end's reply",
                  header.message_id)
            : absl::StrFormat("request %d names mirror slot %d, which request %d, still awaiting "
                              "this end's reply, holds",
                              header.message_id, slot, request->id)));
  }
  request->id = header.message_id;
  request->loan.reset();
  ++incoming_count_;
  request->command = header.command;
  request->received = last_cycles_;  // at or before now: the age is never understated
  out->kind = MessageKind::kRequest;
  out->id = header.message_id;
  out->command = header.command;
  out->data = data;
  out->mirror_slot_ = header.mirror_slot;  // checked: below kMirrorSlots
  if (header.flags != 0) {
    request->loan = Loan{header.dma_offset, header.dma_length, header.flags};
    out->dma_direction =
        header.flags == kFlagDmaToTarget ? DmaDirection::kToTarget : DmaDirection::kFromTarget;
    out->peer_buffer.data_ = peer_arena_ + header.dma_offset;
    out->peer_buffer.size_ = header.dma_length;
    out->peer_buffer.offset_ = header.dma_offset;
  }
  ++stats_.requests_received;
  return Step::kMessage;
}

Message LinkCore::SyntheticReply(const MessageHeader& header, const absl::Status& status,
                                 std::optional<Loan> loan) {
  Message reply;
  reply.kind = MessageKind::kReply;
  reply.id = header.message_id;
  reply.command = header.command;
  reply.status = status;
  reply.synthetic = true;
  if (loan) {
    if (loan->wanted_back) {
      reply.returned_buffer =
          AdoptOwnBuffer(loan->offset, loan->flag == kFlagDmaFromTarget ? 0 : loan->length);
    } else {
      FreeLoan(*loan);
    }
  }
  ++stats_.synthetic_replies;
  return reply;
}

ABSL_ATTRIBUTE_ALWAYS_INLINE LinkCore::Step LinkCore::OnReply(const MessageHeader& header,
                                                              std::span<const std::byte> data,
                                                              Message* out) {
  const OutstandingRequest* request = outstanding_.Find(header.message_id);
  if (request == nullptr) {
    if (std::optional<std::optional<Loan>> loan = outstanding_.TakeAbandoned(header.message_id)) {
      // A late reply to a request given up on: drop it, reclaim what was lent.
      if (*loan) FreeLoan(**loan);
      if (header.flags & kFlagDmaReplyBuffer) {
        ReleasePeerBuffer(header.dma_offset, header.dma_length);
      }
      ++stats_.late_replies_dropped;
      return Step::kHandled;
    }
    if (header.flags & kFlagSynthetic) return Step::kHandled;  // answered already
    return Violation(BadMessageError(
        absl::StrFormat("reply %d answers no outstanding request (already answered, or never sent)",
                        header.message_id)));
  }
  bool returns_filled = header.flags & kFlagDmaFromTarget;
  if (returns_filled &&
      (!request->loan || request->loan->flag != kFlagDmaFromTarget ||
       request->loan->offset != header.dma_offset || header.dma_length > request->loan->length)) {
    return Violation(BadMessageError(absl::StrFormat(
        "reply %d returns a filled buffer [%d, +%d) that its request did not lend to fill",
        header.message_id, header.dma_offset, header.dma_length)));
  }
  if (request->loan && request->loan->flag == kFlagDmaFromTarget && !returns_filled &&
      !(header.flags & kFlagSynthetic)) {
    return Violation(BadMessageError(absl::StrFormat(
        "reply %d does not return the buffer its request lent to fill", header.message_id)));
  }
  // Checked: now the request is answered. (Removed only now, so that a violating reply
  // leaves its request to be completed with BAD_MESSAGE like every other.)
  const uint32_t command = request->command;
  const std::optional<Loan> loan = request->loan;
  outstanding_.Complete(header.message_id);
  out->kind = MessageKind::kReply;
  out->id = header.message_id;
  out->command = command;
  out->synthetic = header.flags & kFlagSynthetic;
  if (header.status == 0) {
    out->data = data;
  } else {
    auto code = static_cast<absl::StatusCode>(header.status);
    std::string text(reinterpret_cast<const char*>(data.data()), data.size());
    out->status = out->synthetic && code == absl::StatusCode::kUnavailable
                      ? PeerDiedError("the peer died with this request unanswered")
                      : absl::Status(code, text);
  }
  if (loan) {
    if (loan->wanted_back) {
      out->returned_buffer =
          AdoptOwnBuffer(loan->offset, returns_filled ? header.dma_length : loan->length);
    } else {
      FreeLoan(*loan);
    }
  }
  if (header.flags & kFlagDmaReplyBuffer) {
    out->peer_buffer.core_ = shared_from_this();  // released when the user drops it
    out->peer_buffer.offset_ = header.dma_offset;
    out->peer_buffer.data_ = peer_arena_ + header.dma_offset;
    out->peer_buffer.size_ = header.dma_length;
  }
  ++stats_.replies_received;
  return Step::kMessage;
}

LinkCore::Step LinkCore::OnRelease(const MessageHeader& header) {
  auto it = reply_loans_.find(header.dma_offset);
  if (it == reply_loans_.end() || it->second != header.dma_length) {
    return Violation(BadMessageError(
        absl::StrFormat("release of buffer [%d, +%d), which this end did not lend with a reply",
                        header.dma_offset, header.dma_length)));
  }
  arena_.Free(it->first);
  reply_loans_.erase(it);
  return Step::kHandled;
}

void LinkCore::ExpireDueRequests() {
  absl::Time now = absl::Now();
  for (uint64_t id : outstanding_.Expired(now)) {
    std::optional<OutstandingRequest> request = outstanding_.Abandon(id);
    MessageHeader header = CompleteUnreplied({{Unreplied{id, request->command}}},
                                             absl::StatusCode::kDeadlineExceeded)[0];
    pending_.push_back(SyntheticReply(
        header,
        absl::DeadlineExceededError(absl::StrFormat(
            "request %d (command %d) got no reply before its deadline", id, request->command)),
        std::nullopt));
  }
}

void LinkCore::EndPollWait() {
  if (!poll_armed_) return;
  poll_armed_ = false;
  last_cycles_ = CycleCount();  // the end may have slept in the caller's poll()
  in_.EndExternalWait();
  DrainWakes();
}

bool LinkCore::AwaitInbound(absl::Time until, absl::Time deadline, WakeSignal* wake) {
  switch (WaitForInbound(until, wake)) {
    case WaitOutcome::kReady:
    case WaitOutcome::kWoken:  // the caller takes the wake-up once nothing else is there
      return true;
    case WaitOutcome::kReturned:  // handed back at once: the peer may be waiting for them
      FlushReleases();
      return true;
    case WaitOutcome::kPeerGone:
      // Messages the peer published before it went are still delivered first.
      peer_gone_ = true;
      if (!in_.Ready()) {
        Shutdown(PeerDiedError(
            "the peer's end of the link closed (its process exited, was killed, or closed "
            "it)"));
      }
      return true;
    case WaitOutcome::kTimedOut:
      return absl::Now() < deadline;
  }
  return false;
}

// Receive() and Call() build the Message they return where the caller receives it (one
// named result, every path returning it): moved there instead, its fields, just stored one
// by one, would be loaded back in wider pieces, a store-forwarding stall on every message.
absl::StatusOr<Message> LinkCore::Receive(absl::Time deadline) {
  absl::StatusOr<Message> result(absl::in_place);
  if (absl::Status s = CheckOwner(); !s.ok()) {
    result = std::move(s);
    return result;
  }
  ReleaseHeldRecord();
  EndPollWait();
  FlushReleases();
  uint32_t handled = 0;
  while (true) {
    if (!pending_.empty()) {
      *result = std::move(pending_.front());
      pending_.pop_front();
      return result;
    }
    if (!status_.ok()) {
      result = status_;
      return result;
    }
    ExpireDeadlines();
    if (!pending_.empty()) continue;
    Step step = ReadOne(&*result);  // fills the Message only for kMessage
    if (step == Step::kMessage) return result;
    if (step != Step::kEmpty) {
      // Records consumed without a trace (stray synthetic replies, releases) keep the ring
      // ready: a peer writing them without end must not keep this wait from its deadline.
      if (PastDeadlineAmongStrays(step == Step::kHandled, handled, deadline)) {
        result = absl::DeadlineExceededError("no message arrived before the deadline");
        return result;
      }
      continue;
    }
    if (peer_gone_) {
      Shutdown(PeerDiedError("the peer's end of the link closed"));
      continue;
    }
    if (wake_ != nullptr && wake_->Take()) [[unlikely]] {
      result = absl::AbortedError("woken by LinkWaker::Wake() before a message arrived");
      return result;
    }
    if (!AwaitInbound(std::min(deadline, outstanding_.NextDeadline()), deadline, wake_.get())) {
      result = absl::DeadlineExceededError("no message arrived before the deadline");
      return result;
    }
  }
}

absl::StatusOr<Message> LinkCore::Call(uint32_t command, std::span<const std::byte> data,
                                       DmaLoan&& loan, absl::Time deadline) {
  absl::StatusOr<Message> result(absl::in_place);
  // The deadline bounds the wait for ring space; the wait for the reply is this call's to
  // enforce, so the request is registered without one.
  std::vector<std::byte> storage;
  absl::StatusOr<uint64_t> id =
      SendRequestOutOfLine(command, data.size(), CopyOf(data), std::move(loan), deadline,
                           absl::InfiniteFuture(), [&] { data = Stable(data, storage); });
  if (!id.ok()) {
    result = id.status();
    return result;
  }
  ReleaseHeldRecord();  // the message Receive() or Call() returned before is done with
  Message& message = *result;
  uint32_t handled = 0;
  while (true) {
    for (auto it = pending_.begin(); it != pending_.end(); ++it) {
      if (it->kind == MessageKind::kReply && it->id == *id) {
        message = std::move(*it);
        pending_.erase(it);
        return result;
      }
    }
    if (!status_.ok()) {  // Shutdown() queues our reply, found above; this is a fallback
      message = SyntheticReply(CompleteUnreplied({{Unreplied{*id, command}}}, status_.code())[0],
                               status_, std::nullopt);
      return result;
    }
    ExpireDeadlines();
    FlushReleases();                // of buffers the replies kept for later carried
    Step step = ReadOne(&message);  // fills `message` only for kMessage
    if (step == Step::kMessage) {
      if (message.kind == MessageKind::kReply && message.id == *id) return result;
      pending_.push_back(Own(std::move(message)));
      message = Message();
      ReleaseHeldRecord();
      continue;
    }
    if (step != Step::kEmpty) {
      // As in Receive(): records consumed without a trace do not hold off the deadline.
      // A broken link queued this call's reply: the loop's top returns it.
      if (!PastDeadlineAmongStrays(step == Step::kHandled, handled, deadline)) continue;
    } else if (peer_gone_) {
      Shutdown(PeerDiedError("the peer's end of the link closed"));
      continue;
    } else if (AwaitInbound(std::min(deadline, outstanding_.NextDeadline()), deadline)) {
      continue;
    }
    outstanding_.Abandon(*id);  // a late reply is dropped and its loan reclaimed
    MessageHeader header =
        CompleteUnreplied({{Unreplied{*id, command}}}, absl::StatusCode::kDeadlineExceeded)[0];
    message =
        SyntheticReply(header,
                       absl::DeadlineExceededError(absl::StrFormat(
                           "call %d (command %d) got no reply before its deadline", *id, command)),
                       std::nullopt);
    return result;
  }
}

}  // namespace syslink::internal
