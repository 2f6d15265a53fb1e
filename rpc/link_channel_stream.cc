// LinkChannel's streams: the client side of docs/wire-format.md's "Streams".
//
// A stream is a StreamState the channel's reader fills (DeliverStream) and a Stream (the
// ClientStream a stub wraps) that sends the stream's requests and waits on the state. The
// reader keeps each stream's requests outstanding in pending_ like calls: the opening
// request (answered by the final status), pulls (each answered by one server message or
// the end), messages (each answered once the method took it), half-close and cancel.

#include <algorithm>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "rpc/internal/call_codec.h"
#include "rpc/internal/call_format.h"
#include "rpc/internal/metadata_codec.h"
#include "rpc/link_channel.h"

namespace syslink::rpc {
namespace {

// The number of messages in a batch reply (kCallStreamBatch: each a 4-byte little-endian
// length and its bytes). INVALID_ARGUMENT for a batch that is cut short or holds more than
// `room` messages.
absl::StatusOr<uint32_t> CountBatch(std::span<const std::byte> batch, uint32_t room) {
  uint32_t count = 0;
  while (!batch.empty()) {
    if (batch.size() < 4 || ++count > room) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "a batch of stream messages from the server is malformed (%d bytes left, message %d "
          "of at most %d)",
          batch.size(), count, room));
    }
    const size_t size = internal::LoadU32(batch.data());
    batch = batch.subspan(4);
    if (size > batch.size()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "a batch of stream messages from the server claims a %d-byte message in %d bytes", size,
          batch.size()));
    }
    batch = batch.subspan(size);
  }
  return count;
}

}  // namespace

struct LinkChannel::StreamState {
  uint32_t id = 0;
  // The method, its path owned here: replies can come after the caller's Method is gone.
  std::string path;
  Method method{};
  // The caller's, cleared when the stream is destroyed (later replies touch neither).
  google::protobuf::MessageLite* response = nullptr;  // client streaming's
  ClientContext* context = nullptr;
  absl::Time deadline = absl::InfiniteFuture();
  int window = 16;
  // Messages with attachments in flight at once, each way: half the DMA arena's worth of
  // the largest buffers, so that the window cannot exhaust the arena.
  int attachment_window = 16;

  // Guarded by the channel's mutex_, which ABSL_GUARDED_BY cannot name from here; the
  // channel's functions that touch them require it instead.
  // A reply to a pull, kept whole until its messages are read: one message with its
  // attachment, or a batch (checked by CountBatch) of messages each behind its length.
  // Only the stream's reader takes from the front, so a message it reads stays in place
  // while it parses it, with the channel's lock released.
  struct Received {
    std::string bytes;
    Attachment attachment;
    bool batch = false;
    size_t next = 0;    // in a batch, where the next message's length is
    uint32_t left = 1;  // messages not yet read
  };
  std::deque<Received> received;
  int unread = 0;               // messages pulled, not yet read
  int pulls = 0;                // outstanding
  int credit = 0;               // room the outstanding pulls gave, in messages
  std::deque<uint32_t> rooms;   // each outstanding pull's, in order
  int unacked = 0;              // messages sent, not yet taken
  int unacked_attachments = 0;  // ... of them with an attachment
  size_t unacked_bytes = 0;     // ... their messages' bytes
  bool single_pulls = false;    // the server's messages carry attachments: pull one each
  uint64_t open_id = 0;
  bool read_done = false;    // no more messages will come
  bool writes_done = false;  // WritesDone() was called
  bool finished = false;     // the final status is in `status`
  bool abandoned = false;    // destroyed before Finish(): cancelled
  bool gone = false;         // its Stream was destroyed
  // Its cancel notice waits for room (the channel's cancels_unsent_): its id stays taken
  // until the notice goes, so that the notice cannot cancel a later stream of that id.
  bool cancel_unsent = false;
  absl::Status status;       // the final status, once finished
  absl::Status failure;      // the first failed pull or message
  absl::Status bad_message;  // a server message or reply header that did not parse
  Waiter* reader = nullptr;  // a thread waiting in Read() or Finish()
  Waiter* writer = nullptr;  // a thread waiting in Write()
};

class LinkChannel::Stream final : public ClientStream {
 public:
  Stream(LinkChannel* channel, std::shared_ptr<StreamState> state, bool reads)
      : keep_(channel->weak_from_this().lock()),
        channel_(channel),
        state_(std::move(state)),
        reads_(reads) {}
  ~Stream() override;

  absl::Status Write(const google::protobuf::MessageLite& message, Attachment* attachment,
                     bool wait) override;
  absl::Status WritesDone() override;
  bool Read(google::protobuf::MessageLite* message, Attachment* attachment) override;
  absl::Status Finish() override;

 private:
  // Keeps the stream's window of pulls outstanding.
  void Pull() ABSL_EXCLUSIVE_LOCKS_REQUIRED(channel_->mutex_);

  // The channel, kept while the stream is when shared_ptrs own it (NamedChannel's are):
  // a stream must not outlive its channel.
  const std::shared_ptr<LinkChannel> keep_;
  LinkChannel* const channel_;
  const std::shared_ptr<StreamState> state_;
  const bool reads_;            // the server streams: Read() pulls
  bool finish_called_ = false;  // used only by the stream's owner
};

std::unique_ptr<ClientStream> LinkChannel::OpenStream(const Method& method,
                                                      const google::protobuf::MessageLite* request,
                                                      google::protobuf::MessageLite* response,
                                                      ClientContext* context) {
  if (method.kind == MethodKind::kUnary) {
    return std::make_unique<FailedClientStream>(absl::InvalidArgumentError(
        absl::StrCat(method.path, " is unary: call it, do not open a stream of it")));
  }
  auto state = std::make_shared<StreamState>();
  state->path = std::string(method.path);
  state->method = Method{method.id, state->path, method.kind};
  state->response = response;
  state->context = context;
  state->deadline = context != nullptr ? context->deadline() : absl::InfiniteFuture();
  state->window = std::clamp(options_.stream_window, 1, 1024);
  std::optional<Metadata> with_path;  // the context's and the method's path, if asked
  absl::StatusOr<const Metadata*> metadata =
      internal::OutgoingMetadata(context, method.path, with_path, "the stream's metadata");
  if (!metadata.ok()) {
    return std::make_unique<FailedClientStream>(NameMethod(metadata.status(), method));
  }
  if (context != nullptr) context->set_cancel_waker(wake_);
  ChannelLock lock(this);
  const LinkOptions& link = link_.options();
  state->attachment_window = static_cast<int>(
      std::max<uint64_t>(1, link.arena_size / std::max<uint64_t>(link.max_dma_size, 1) / 2));
  state->id = stream_ids_.Take();
  absl::StatusOr<uint64_t> id =
      SendStream(state, StreamOp::kOpen, internal::kCallStreamOpen,
                 request != nullptr ? internal::MessageSource::Of(*request)
                                    : internal::MessageSource::Of(std::span<const std::byte>()),
                 context != nullptr ? &context->request_attachment() : nullptr, *metadata);
  if (!id.ok()) {
    stream_ids_.Give(state->id);
    return std::make_unique<FailedClientStream>(NameMethod(id.status(), method));
  }
  state->open_id = *id;
  const bool reads =
      method.kind == MethodKind::kServerStreaming || method.kind == MethodKind::kBidiStreaming;
  return std::make_unique<Stream>(this, std::move(state), reads);
}

absl::StatusOr<uint64_t> LinkChannel::SendStream(const std::shared_ptr<StreamState>& stream,
                                                 StreamOp op, uint16_t flag,
                                                 const internal::MessageSource& source,
                                                 Attachment* attachment, const Metadata* metadata,
                                                 bool waits_for_room) {
  Pending pending{nullptr, stream->context, nullptr, nullptr};
  pending.method = &stream->method;
  pending.op = op;
  pending.stream = stream;
  return Send(stream->method.id, source, attachment, stream->deadline, flag, stream->id, pending,
              metadata, waits_for_room);
}

void LinkChannel::EndStream(StreamState& stream, absl::Status status) {
  if (!stream.finished) {
    stream.finished = true;
    stream.status = std::move(status);
  }
  stream.read_done = true;
  if (stream.reader != nullptr) Complete(*stream.reader, absl::OkStatus());
  if (stream.writer != nullptr) Complete(*stream.writer, absl::OkStatus());
}

void LinkChannel::DeliverStream(Pending& pending, Message& reply) {
  StreamState& stream = *pending.stream;
  absl::Status status = reply.synthetic ? NameMethod(reply.status, stream.method) : reply.status;
  absl::StatusOr<internal::IncomingCall> call;
  if (status.ok()) {
    call = internal::ParseIncoming(reply.data, reply.peer_buffer.data(),
                                   internal::Incoming::kStreamReply);
    if (!call.ok()) {
      status = NameMethod(call.status(), stream.method);
      // A malformed reply outranks an OK from the server, as a message that does not parse.
      if (stream.bad_message.ok()) stream.bad_message = status;
    }
  }
  switch (pending.op) {
    case StreamOp::kOpen:
      // The final status: the server's trailing metadata comes with it.
      if (!status.ok() && !reply.synthetic) {
        Metadata trailing;
        status = internal::DecodeErrorReply(status, &trailing);
        if (stream.context != nullptr) stream.context->set_server_trailing_metadata(trailing);
      } else if (status.ok() && !call->metadata.empty()) {
        absl::StatusOr<Metadata> trailing = internal::DecodeMetadata(call->metadata);
        if (!trailing.ok()) {
          status = NameMethod(trailing.status(), stream.method);
        } else if (stream.context != nullptr) {
          stream.context->set_server_trailing_metadata(*std::move(trailing));
        }
      }
      if (status.ok() && stream.response != nullptr &&
          !stream.response->ParseFromArray(call->message.data(),
                                           static_cast<int>(call->message.size()))) {
        status = absl::InvalidArgumentError(absl::StrFormat(
            "the response of %s (%d bytes) does not parse as %s", stream.method.path,
            call->message.size(), stream.response->GetTypeName()));
      }
      if (status.ok() && stream.context != nullptr && call->has_attachment) {
        stream.context->response_attachment() = Attachment::FromPeerBuffer(
            std::move(reply.peer_buffer), call->attachment_offset, call->attachment_size);
      }
      if (!stream.finished) {
        stream.finished = true;
        stream.status = std::move(status);
      }
      break;
    case StreamOp::kPull: {
      --stream.pulls;
      uint32_t room = 1;
      if (!stream.rooms.empty()) {
        room = stream.rooms.front();
        stream.rooms.pop_front();
      }
      stream.credit -= static_cast<int>(room);
      if (!status.ok()) {
        stream.read_done = true;
        if (stream.failure.ok()) stream.failure = std::move(status);
      } else if (call->header.flags & internal::kCallStreamEnd) {
        stream.read_done = true;
      } else if (stream.read_done) {
        // Given up: nobody reads these.
      } else if (call->header.flags & internal::kCallStreamBatch) {
        absl::StatusOr<uint32_t> count = CountBatch(call->message, room);
        if (!count.ok()) {
          stream.read_done = true;
          if (stream.bad_message.ok()) stream.bad_message = std::move(count).status();
        } else if (*count > 0) {
          StreamState::Received& received = stream.received.emplace_back();
          received.bytes.assign(reinterpret_cast<const char*>(call->message.data()),
                                call->message.size());
          received.batch = true;
          received.left = *count;
          stream.unread += static_cast<int>(*count);
        }
      } else {
        StreamState::Received& received = stream.received.emplace_back();
        received.bytes.assign(reinterpret_cast<const char*>(call->message.data()),
                              call->message.size());
        if (call->has_attachment) {
          received.attachment = Attachment::FromPeerBuffer(
              std::move(reply.peer_buffer), call->attachment_offset, call->attachment_size);
        }
        // A reply carries one attachment: while the messages have them, the room a pull
        // gives beyond one is lost, so pull them one at a time, many at once.
        stream.single_pulls = received.attachment.size() > 0;
        ++stream.unread;
      }
      break;
    }
    case StreamOp::kMessage:
      --stream.unacked;
      if (pending.carries_attachment) --stream.unacked_attachments;
      stream.unacked_bytes -= pending.message_bytes;
      if (!status.ok() && stream.failure.ok()) stream.failure = std::move(status);
      break;
    default:  // half-close and cancel: nothing to take in
      break;
  }
  if (stream.finished && stream.pulls == 0) stream.read_done = true;
  if (stream.reader != nullptr) Complete(*stream.reader, absl::OkStatus());
  if (stream.writer != nullptr) Complete(*stream.writer, absl::OkStatus());
}

void LinkChannel::TellCancelled(const std::shared_ptr<StreamState>& stream) {
  if (stream->finished || stream->cancel_unsent) return;
  if (SendCancelNotice(stream)) return;
  stream->cancel_unsent = true;
  cancels_unsent_.push_back(stream);
  // Someone must read on until there is room: the completion thread, even if no call waits.
  if (options_.completion_thread) StartOrWakeCompleter();
}

bool LinkChannel::SendCancelNotice(const std::shared_ptr<StreamState>& stream) {
  absl::StatusOr<uint64_t> sent =
      SendStream(stream, StreamOp::kControl, internal::kCallStreamCancel,
                 internal::MessageSource::Of(std::span<const std::byte>()), nullptr, nullptr,
                 /*waits_for_room=*/false);
  if (!sent.ok() && FoundNoRoom(sent.status())) return false;
  // Waited, and its stream destroyed meanwhile: the id is free now (else the stream's
  // destruction gives it back).
  if (stream->cancel_unsent && stream->gone) stream_ids_.Give(stream->id);
  stream->cancel_unsent = false;
  return true;
}

template <typename Ready>
void LinkChannel::WaitFor(Waiter*& slot, Ready ready) {
  Waiter waiter;
  Completions completions;
  // Handed the reader's role, then found ready: the role goes on to the next waiter, or
  // that one could wait with no one reading.
  bool owes_role = false;
  while (!ready()) {
    owes_role = false;
    {
      absl::MutexLock hold(&waiter.mutex);
      waiter.done = false;
      waiter.wake = false;
    }
    slot = &waiter;
    if (!reading_) {
      Read(&waiter, absl::InfiniteFuture(), completions);
    } else {
      // Another thread reads: it wakes this one when the stream changes, or hands over
      // the reader role when it leaves. (A thread that reads is not among the blocked:
      // leaving, it must hand the role to another.)
      blocked_.push_back(&waiter);
      mutex_.Unlock();
      {
        absl::MutexLock hold(&waiter.mutex);
        while (!waiter.done && !waiter.wake) waiter.ready.Wait(&waiter.mutex);
        owes_role = waiter.wake;
      }
      Acquire();
      {
        // Handed the role after it woke, before it took the channel: HandOff() found it
        // still among the blocked. No later hand-off can name it (it leaves them now).
        absl::MutexLock hold(&waiter.mutex);
        owes_role = waiter.wake;
      }
      blocked_.erase(std::find(blocked_.begin(), blocked_.end(), &waiter));
    }
    slot = nullptr;
    if (!link_.status().ok() && pending_stream_ == 0 && !ready()) break;  // nothing can come
  }
  if (owes_role && !reading_) HandOff();
  if (!options_.completion_thread) RunReady();  // callbacks of replies it read for others
  if (!completions.empty()) {
    // Async calls' replies this thread read (without a completion thread).
    mutex_.Unlock();
    Run(completions);
    Acquire();
  }
}

LinkChannel::Stream::~Stream() {
  ChannelLock lock(channel_);
  if (!state_->finished && !finish_called_) {
    // Destroyed before Finish(): give the stream up, on both sides.
    state_->abandoned = true;
    channel_->TellCancelled(state_);
    for (auto& [id, pending] : channel_->pending_) {
      if (pending.stream == state_ && !pending.cancel_sent && pending.op != StreamOp::kControl) {
        (void)channel_->link_.Cancel(id);
        pending.cancel_sent = true;
      }
    }
    channel_->EndStream(*state_, absl::CancelledError("the stream was destroyed before Finish()"));
  }
  state_->gone = true;
  // A cancel notice still waiting for room gives the id back once it is sent.
  if (!state_->cancel_unsent) channel_->stream_ids_.Give(state_->id);
  // Replies still to come (to pulls, messages, the cancel) may outlive the caller's response
  // and context: from here on they touch neither.
  state_->response = nullptr;
  state_->context = nullptr;
  for (auto& [id, pending] : channel_->pending_) {
    if (pending.stream != state_ || pending.context == nullptr) continue;
    pending.context = nullptr;
    --channel_->pending_with_context_;
  }
}

void LinkChannel::Stream::Pull() {
  StreamState& s = *state_;
  // Room goes out once half the window is free, as the messages are read: one pull gives
  // the server room for all of it, and its reply may carry that many messages at once.
  while (!s.read_done && !s.finished) {
    const int used = s.credit + s.unread;
    uint32_t room;
    if (s.single_pulls) {
      if (used >= std::min(s.window, s.attachment_window)) return;
      room = 1;
    } else {
      if (used > s.window / 2) return;
      room = static_cast<uint32_t>(s.window - used);
    }
    std::byte bytes[internal::kPullSize];
    internal::StoreU32(bytes, room);
    absl::StatusOr<uint64_t> id =
        channel_->SendStream(state_, StreamOp::kPull, internal::kCallStreamPull,
                             internal::MessageSource::Of(std::span<const std::byte>(bytes)), {});
    if (!id.ok()) {
      s.read_done = true;
      if (s.failure.ok()) s.failure = NameMethod(id.status(), s.method);
      return;
    }
    ++s.pulls;
    s.credit += static_cast<int>(room);
    s.rooms.push_back(room);
  }
}

absl::Status LinkChannel::Stream::Write(const google::protobuf::MessageLite& message,
                                        Attachment* attachment, bool wait) {
  ChannelLock lock(channel_);
  StreamState& s = *state_;
  if (s.writes_done) {
    return absl::FailedPreconditionError(
        absl::StrCat(s.method.path, ": Write() after WritesDone()"));
  }
  const bool attached = attachment->size() > 0;
  const size_t bytes = message.ByteSizeLong();
  auto room = [&] {
    return s.finished || !s.failure.ok() ||
           (s.unacked < s.window && (!attached || s.unacked_attachments < s.attachment_window) &&
            (s.unacked == 0 || s.unacked_bytes + bytes <= internal::kStreamWindowBytes));
  };
  if (wait) {
    channel_->WaitFor(s.writer, room);
  } else if (!room()) {
    return absl::ResourceExhaustedError(
        absl::StrCat(s.method.path, ": the stream's window (", s.window, " messages, ",
                     internal::kStreamWindowBytes, " bytes) is full"));
  }
  if (s.finished) {
    return s.status.ok() ? absl::FailedPreconditionError(
                               absl::StrCat(s.method.path, ": the stream has ended"))
                         : s.status;
  }
  if (!s.failure.ok()) return s.failure;
  absl::StatusOr<uint64_t> id =
      channel_->SendStream(state_, StreamOp::kMessage, internal::kCallStreamMessage,
                           internal::MessageSource::Of(message), attachment);
  if (!id.ok()) return NameMethod(id.status(), s.method);
  ++s.unacked;
  s.unacked_bytes += bytes;
  Pending& pending = *channel_->pending_.Find(*id);  // SendStream() added it
  pending.message_bytes = bytes;
  if (attached) {
    ++s.unacked_attachments;
    pending.carries_attachment = true;
  }
  return absl::OkStatus();
}

absl::Status LinkChannel::Stream::WritesDone() {
  ChannelLock lock(channel_);
  StreamState& s = *state_;
  if (s.writes_done || s.finished) return absl::OkStatus();
  s.writes_done = true;
  return channel_
      ->SendStream(state_, StreamOp::kControl, internal::kCallStreamHalfClose,
                   internal::MessageSource::Of(std::span<const std::byte>()), {})
      .status();
}

bool LinkChannel::Stream::Read(google::protobuf::MessageLite* message, Attachment* attachment) {
  if (!reads_) return false;
  std::string taken;       // the reply read last, out of the queue
  std::string_view bytes;  // the message, in `taken` or in the queue's front
  {
    ChannelLock lock(channel_);
    StreamState& s = *state_;
    Pull();
    channel_->WaitFor(s.reader, [&] { return s.unread > 0 || s.read_done; });
    if (s.unread == 0) return false;
    --s.unread;
    StreamState::Received& front = s.received.front();
    size_t at = 0;
    size_t size = front.bytes.size();
    if (front.batch) {
      // CountBatch checked the batch.
      size = internal::LoadU32(reinterpret_cast<const std::byte*>(front.bytes.data() + front.next));
      at = front.next + 4;
      front.next = at + size;
    }
    if (--front.left == 0) {
      if (attachment != nullptr) *attachment = std::move(front.attachment);
      taken = std::move(front.bytes);
      s.received.pop_front();
      bytes = std::string_view(taken).substr(at, size);
    } else {
      bytes = std::string_view(front.bytes).substr(at, size);
    }
    Pull();  // the server may send the next ones while this one is parsed
  }
  if (message->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return true;
  ChannelLock lock(channel_);
  state_->read_done = true;
  if (state_->bad_message.ok()) {
    state_->bad_message = absl::InvalidArgumentError(
        absl::StrFormat("a message of %s (%d bytes) does not parse as %s", state_->method.path,
                        bytes.size(), message->GetTypeName()));
  }
  return false;
}

absl::Status LinkChannel::Stream::Finish() {
  ChannelLock lock(channel_);
  StreamState& s = *state_;
  finish_called_ = true;
  // A message that did not parse ended this side's reading, and with it the pulls: the
  // server, which may wait to write more, is told the stream is given up.
  const bool given_up = !s.finished && !s.bad_message.ok();
  if (given_up) channel_->TellCancelled(state_);
  // Messages not read are dropped; pulling on lets a server still writing finish.
  while (!s.finished) {
    s.received.clear();
    s.unread = 0;
    if (reads_) Pull();
    channel_->WaitFor(s.reader, [&] { return s.finished || s.unread > 0; });
  }
  s.received.clear();
  s.unread = 0;
  // A message that did not parse outranks an OK from the server, and the end it caused.
  if ((s.status.ok() || given_up) && !s.bad_message.ok()) return s.bad_message;
  return s.status;
}

}  // namespace syslink::rpc
