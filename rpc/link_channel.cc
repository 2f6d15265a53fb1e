#include "rpc/link_channel.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "rpc/internal/call_codec.h"

namespace syslink::rpc {
namespace {

// A waiting call looks at its context's cancel flag this often.
constexpr absl::Duration kCancelCheck = absl::Milliseconds(10);

}  // namespace

LinkChannel::LinkChannel(Link link) : link_(std::move(link)) {}

LinkChannel::LinkChannel(Link link, PeerIdentity server)
    : server_(server), link_(std::move(link)) {}

LinkChannel::~LinkChannel() {
  Completions completions;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [id, pending] : pending_) {
      completions.emplace_back(std::move(pending.done),
                               absl::CancelledError("the channel was destroyed"));
    }
    pending_.clear();
    pending_with_context_ = 0;
    link_.Close();
  }
  Run(completions);
}

absl::Status LinkChannel::status() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return link_.status();
}

absl::StatusOr<Attachment> LinkChannel::AllocateAttachment(size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  absl::StatusOr<DmaBuffer> buffer = link_.AllocateBuffer(bytes);
  if (!buffer.ok()) return buffer.status();
  return Attachment::FromDmaBuffer(*std::move(buffer));
}

absl::StatusOr<uint64_t> LinkChannel::Start(uint32_t method_id,
                                            const google::protobuf::MessageLite& request,
                                            ClientContext* context, bool* lends_attachment) {
  absl::Time deadline = context ? context->deadline() : absl::InfiniteFuture();
  internal::MessageSource source = internal::MessageSource::Of(request);
  absl::StatusOr<internal::OutgoingCall> call = internal::PrepareOutgoing(
      link_, source, context ? std::move(context->request_attachment()) : Attachment(),
      deadline);
  if (!call.ok()) return call.status();
  if (deadline != absl::InfiniteFuture()) {
    call->header.deadline_unix_ns = absl::ToUnixNanos(deadline);
  }
  *lends_attachment = call->lends_attachment;
  DmaLoan loan;
  if (call->dma.valid()) loan = {std::move(call->dma), DmaDirection::kToTarget};
  return link_.SendInPlace(
      method_id, call->inline_size(),
      [&](std::span<std::byte> out) { internal::WriteInline(*call, source, out); },
      std::move(loan), deadline);
}

absl::Status LinkChannel::Finish(Message& reply, google::protobuf::MessageLite* response,
                                 ClientContext* context, bool lends_attachment) {
  if (context != nullptr && lends_attachment && reply.returned_buffer.valid()) {
    context->request_attachment() = Attachment::FromDmaBuffer(std::move(reply.returned_buffer));
  }
  if (!reply.status.ok()) return reply.status;
  absl::StatusOr<internal::IncomingCall> call =
      internal::ParseIncoming(reply.data, reply.peer_buffer.data());
  if (!call.ok()) return call.status();
  if (!response->ParseFromArray(call->message.data(), static_cast<int>(call->message.size()))) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "the response to method %d (%d bytes) does not parse as %s", reply.command,
        call->message.size(), response->GetTypeName()));
  }
  if (context != nullptr && call->has_attachment) {
    context->response_attachment() = Attachment::FromPeerBuffer(
        std::move(reply.peer_buffer), call->attachment_offset, call->attachment_size);
  }
  return absl::OkStatus();
}

void LinkChannel::HandleOther(Message& message, Completions& completions) {
  if (message.kind == MessageKind::kRequest) {
    // A client end serves nothing.
    (void)link_.Reply(message.id, absl::UnimplementedError("this end is a client; it serves no calls"), {});
    return;
  }
  auto it = pending_.find(message.id);
  if (it == pending_.end()) return;  // a reply to a sync call given up on
  Pending pending = std::move(it->second);
  pending_.erase(it);
  if (pending.context != nullptr) --pending_with_context_;
  absl::Status status =
      Finish(message, pending.response, pending.context, pending.lends_attachment);
  completions.emplace_back(std::move(pending.done), std::move(status));
}

void LinkChannel::Run(Completions& completions) {
  for (auto& [done, status] : completions) done(std::move(status));
  completions.clear();
}

absl::Status LinkChannel::Call(const Method& method, const google::protobuf::MessageLite& request,
                               google::protobuf::MessageLite* response, ClientContext* context) {
  Completions completions;
  absl::Status result;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    bool lends = false;
    absl::StatusOr<uint64_t> id = Start(method.id, request, context, &lends);
    if (!id.ok()) return id.status();
    bool cancel_sent = false;
    while (true) {
      if (context != nullptr && context->cancel_requested() && !cancel_sent) {
        (void)link_.Cancel(*id);
        cancel_sent = true;
      }
      // Without a context nothing can cancel the call: wait for the reply itself (the link
      // delivers a synthetic one if the server dies).
      absl::Time until =
          context == nullptr ? absl::InfiniteFuture() : absl::Now() + kCancelCheck;
      absl::StatusOr<Message> message = link_.Receive(until);
      if (!message.ok()) {
        if (absl::IsDeadlineExceeded(message.status())) {
          CancelRequested();
          continue;
        }
        result = message.status();  // closed, with every reply delivered: cannot happen first
        break;
      }
      if (message->kind == MessageKind::kReply && message->id == *id) {
        result = Finish(*message, response, context, lends);
        break;
      }
      HandleOther(*message, completions);
    }
  }
  Run(completions);
  return result;
}

void LinkChannel::CallAsync(const Method& method, const google::protobuf::MessageLite& request,
                            google::protobuf::MessageLite* response, ClientContext* context,
                            DoneCallback done) {
  absl::Status failed;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    bool lends = false;
    absl::StatusOr<uint64_t> id = Start(method.id, request, context, &lends);
    if (id.ok()) {
      pending_[*id] = Pending{response, context, std::move(done), lends};
      if (context != nullptr) ++pending_with_context_;
      return;
    }
    failed = id.status();
  }
  done(std::move(failed));
}

void LinkChannel::CancelRequested() {
  for (auto& [id, pending] : pending_) {
    if (pending.context != nullptr && !pending.cancel_sent &&
        pending.context->cancel_requested()) {
      (void)link_.Cancel(id);  // its synthetic CANCELLED reply completes it
      pending.cancel_sent = true;
    }
  }
}

size_t LinkChannel::Drain(absl::Time deadline) {
  while (true) {
    Completions completions;
    bool nothing_arrived = false;
    size_t left;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (pending_.empty()) return 0;
      absl::Time until = deadline;
      if (pending_with_context_ > 0) {
        // A call that may be cancelled: look now, and now and then while nothing arrives.
        CancelRequested();
        until = std::min(deadline, absl::Now() + kCancelCheck);
      }
      absl::StatusOr<Message> message = link_.Receive(until);
      if (message.ok()) {
        HandleOther(*message, completions);
      } else if (!absl::IsDeadlineExceeded(message.status()) || until == deadline) {
        nothing_arrived = true;  // the deadline passed, or the link closed with all said
      }
      left = pending_.size();
    }
    Run(completions);
    if (left == 0 || nothing_arrived) return left;
  }
}

}  // namespace syslink::rpc
