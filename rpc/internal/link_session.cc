#include "rpc/internal/link_session.h"

#include <system_error>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "rpc/internal/call_codec.h"
#include "rpc/internal/call_format.h"
#include "rpc/internal/metadata_codec.h"
#include "rpc/internal/server_context_access.h"
#include "syslink/status.h"

namespace syslink::rpc::internal {
namespace {

absl::Time DeadlineOf(const CallHeader& header) {
  return header.deadline_unix_ns == 0 ? absl::InfiniteFuture()
                                      : absl::FromUnixNanos(header.deadline_unix_ns);
}

}  // namespace

// Sends the response the moment the generated code sets it, serialized straight into ring
// space (SendResponse).
class LinkSession::InlineWriter final : public ResponseWriter {
 public:
  // Both must outlive the writer, which lives for one call.
  InlineWriter(LinkSession& session, uint64_t id, ServerContext& context)
      : session_(session), id_(id), context_(context) {}
  void Write(const google::protobuf::MessageLite& response) override {
    status_ = Send(MessageSource::Of(response));
  }
  void WriteSerialized(std::span<const std::byte> response) override {
    status_ = Send(MessageSource::Of(response));
  }
  const absl::Status& status() const { return status_; }

 private:
  absl::Status Send(const MessageSource& response) {
    return session_.SendResponse(id_, response, std::move(context_.response_attachment()), 0,
                                 &context_.trailing_metadata());
  }

  LinkSession& session_;
  const uint64_t id_;
  ServerContext& context_;
  absl::Status status_;
};

LinkSession::LinkSession(Service* service, Link link, PeerIdentity peer, WorkerPool* pool,
                         SessionParking* parking, uint64_t id, absl::Duration follow_caller)
    : service_(service),
      link_(std::move(link)),
      peer_(peer),
      pool_(pool),
      parking_(parking),
      id_(id),
      fd_(link_.fd()),
      // Only a hybrid link spins for a while and then sleeps: the others have no pace to follow.
      pace_(link_.options().wait.spin_budget, link_.options().wait.mode == ring::WaitMode::kHybrid
                                                  ? follow_caller
                                                  : absl::ZeroDuration()) {
  // A reply waiting for room (a client that reads nothing) gives up once the session stops.
  link_.SetStopFlag(&stopping_);
}

LinkSession::~LinkSession() = default;

bool LinkSession::TryClaim() {
  absl::MutexLock lock(&mutex_);
  if (state_ != State::kParked) return false;
  state_ = State::kActive;
  return true;
}

void LinkSession::Stop() {
  stopping_.store(true);
  if (TryClaim()) Serve(/*spin=*/false);  // parked: it ends here
}

void LinkSession::Drain() {
  draining_.store(true);
  // A parked session goes to a serving thread, which answers what waits in its ring and
  // ends it. Not served here: the caller drains every link within a deadline, and a ring a
  // client keeps filling would hold it.
  absl::MutexLock lock(&mutex_);
  if (state_ == State::kParked) parking_->ArmReady(*this);
}

bool LinkSession::Idle() {
  absl::MutexLock lock(&mutex_);
  return replies_.empty() && in_flight_ == 0;
}

absl::Status LinkSession::Answer(absl::Status status) const {
  if (!stopping_.load(std::memory_order_relaxed) || !absl::IsCancelled(status)) return status;
  // Cancelled by the server's shutdown, not by its caller: another server may answer.
  return absl::UnavailableError(
      absl::StrCat("the server shut down while the method ran: ", status.message()));
}

void LinkSession::Serve(bool spin) {
  const ring::WaitOptions& wait = link_.options().wait;
  const bool waits = spin && wait.mode != ring::WaitMode::kBlocking;
  const bool keeps_thread = spin && wait.mode == ring::WaitMode::kSpin;
  if (spin && parked_wait_began_ != absl::InfinitePast()) {
    // Woken from epoll for the link: how long the caller took, the wake-up included.
    pace_.Arrived(absl::Now() - parked_wait_began_);
  }
  parked_wait_began_ = absl::InfinitePast();
  while (true) {
    if (stopping_.load(std::memory_order_relaxed)) [[unlikely]] {
      // Take no new call; send the replies of those that finish; end when none runs.
      CancelCalls();
      if (QueuesReplies()) SendReadyReplies();
      {
        absl::MutexLock lock(&mutex_);
        if (!replies_.empty()) continue;
        if (in_flight_ > 0) {
          state_ = State::kParked;  // unarmed: the last Deliver() claims it and ends it
          return;
        }
      }
      End();
      return;
    }
    if (QueuesReplies()) SendReadyReplies();
    if (draining_.load(std::memory_order_relaxed) && Idle()) [[unlikely]] {
      // Nothing runs: answer what already waits in the ring, then end.
      absl::StatusOr<Message> message = link_.Receive(absl::InfinitePast());
      if (message.ok()) {
        Handle(*message);
        continue;
      }
      // Receive() stops now and then among records it consumes without a trace: only an
      // empty ring means nothing waits.
      if (absl::IsDeadlineExceeded(message.status()) && link_.Ready()) continue;
      End();
      return;
    }
    // Waiting for the next message starts after the reply went out, while the caller
    // reads it: the clock is read off the round trip's path.
    absl::StatusOr<Message> message =
        !waits         ? link_.Receive(absl::InfinitePast())
        : keeps_thread ? (QueuesReplies() ? ReceiveOrReply(wait.spin_budget)
                                          : link_.Receive(absl::Now() + wait.spin_budget))
        // While a stream's method runs, its thread needs the CPU more than this one needs
        // to spin: a stream's next request comes after a batch, and epoll wakes for it.
        : streaming_.load(std::memory_order_relaxed) ? link_.Receive(absl::InfinitePast())
                                                     : ReceiveOrReply(pace_.Budget());
    if (message.ok()) {
      Handle(*message);
      continue;
    }
    if (!absl::IsDeadlineExceeded(message.status())) {
      stopping_.store(true);  // the caller closed the link or died
      continue;
    }
    if (keeps_thread) continue;
    if (!link_.PrepareToPoll()) continue;  // something arrived meanwhile
    pace_.Parked();  // spinning no more: its spin place, if any, is another link's
    if (TryPark(/*arm=*/true)) return;
  }
}

void LinkSession::Handle(Message& message) {
  if (message.kind != MessageKind::kRequest) return;
  absl::StatusOr<IncomingCall> call =
      ParseIncoming(message.data, message.peer_buffer.data(), Incoming::kRequest);
  if (!call.ok()) {
    (void)link_.Reply(message.id, call.status(), {});
    return;
  }
  if (call->header.flags & kCallGivenUp) [[unlikely]] {
    GivenUp(message, *call);
    return;
  }
  const uint16_t op = call->header.flags & kCallStreamRequests;
  if ((op == 0 || op == kCallStreamOpen) && draining_.load(std::memory_order_relaxed))
      [[unlikely]] {
    (void)link_.Reply(message.id,
                      absl::UnavailableError("the server is shutting down: it takes no new call"),
                      {});
  } else if (op != 0) [[unlikely]] {
    ServeStream(message, *call);
  } else if (pool_ == nullptr) {
    ServeInline(message, *call);
  } else {
    Submit(message, *call);
  }
}

absl::StatusOr<Message> LinkSession::ReceiveOrReply(absl::Duration spin_budget) {
  // Like Receive(now + spin_budget), but a reply queued meanwhile (by a worker or a stream's
  // method) ends the spin at once, so that it goes out without waiting for the next message.
  const absl::Time began = absl::Now();
  const absl::Time until = began + spin_budget;
  absl::Time looked = began;  // the last look at the clock: at or before what came
  int spins = 0;
  while (!link_.Ready() && !replies_waiting_.load(std::memory_order_acquire)) {
    if (++spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
      continue;
    }
    spins = 0;
    looked = absl::Now();
    if (looked >= until) break;
  }
  absl::StatusOr<Message> message = link_.Receive(absl::InfinitePast());
  if (message.ok()) {
    pace_.Arrived(looked - began);
    parked_wait_began_ = absl::InfinitePast();
  } else if (absl::IsDeadlineExceeded(message.status())) {
    parked_wait_began_ = began;  // the session parks unless something came meanwhile
  }
  return message;
}

bool LinkSession::TryPark(bool arm, bool ready) {
  absl::MutexLock lock(&mutex_);
  if (!replies_.empty() || stopping_.load(std::memory_order_relaxed)) return false;
  // A draining session with nothing running ends rather than parks, unless it is parked
  // to be claimed at once: then a serving thread ends it.
  if (draining_.load(std::memory_order_relaxed) && in_flight_ == 0 && !ready) return false;
  state_ = State::kParked;
  // Under the lock: no other thread can claim the session, end it and close its
  // descriptor (whose number another link could then take) before it is armed.
  if (ready) {
    parking_->ArmReady(*this);
  } else if (arm) {
    parking_->Arm(*this);
  }
  return true;
}

void LinkSession::ServeReplies() {
  while (true) {
    // Stopping, serving runs no method and reads no message: Serve() ends the session.
    if (stopping_.load(std::memory_order_relaxed)) {
      Serve(/*spin=*/false);
      return;
    }
    SendReadyReplies();
    // Messages waiting (a call that came while this thread held the session) are a polling
    // thread's to serve; so is what a draining session has left to answer.
    const bool waiting = draining_.load(std::memory_order_relaxed) || !link_.PrepareToPoll();
    pace_.Parked();
    if (TryPark(/*arm=*/true, /*ready=*/waiting)) return;
  }
}

void LinkSession::End() {
  session_state_.reset();  // what it holds may refer to the link: gone before it closes
  parking_->Disarm(*this);
  link_.Close();
  {
    absl::MutexLock lock(&mutex_);
    state_ = State::kEnded;
    replies_.clear();
  }
  parking_->Ended(*this);
}

bool LinkSession::TakeMetadata(const Message& request, const IncomingCall& call,
                               ServerContext& context) {
  if (call.metadata.empty()) return true;
  absl::StatusOr<Metadata> metadata = DecodeMetadata(call.metadata);
  if (!metadata.ok()) {
    (void)link_.Reply(request.id, metadata.status(), {});
    return false;
  }
  if (auto path = metadata->find(kMethodPathKey); path != metadata->end()) {
    if (!service_->MethodIdIsPath(request.command, path->second)) {
      (void)link_.Reply(request.id,
                        absl::UnimplementedError(
                            absl::StrCat("this server has no method ", path->second, " with id ",
                                         request.command, " (", service_->service_name(), ")")),
                        {});
      return false;
    }
    metadata->erase(path);
  }
  ServerContextAccess::SetClientMetadata(context, *std::move(metadata));
  return true;
}

std::shared_ptr<ServerContext> LinkSession::NewSharedContext(const Message& request,
                                                             const IncomingCall& call) {
  auto context = std::make_shared<ServerContext>(peer_, DeadlineOf(call.header));
  ServerContextAccess::WatchCaller(*context, link_.Watch(request), &stopping_);
  return context;
}

void LinkSession::ReplyError(uint64_t id, absl::Status status, const Metadata& trailing) {
  absl::Status bad = trailing.empty() ? absl::OkStatus()
                                      : CheckMetadata(trailing, "the method's trailing metadata");
  status = bad.ok() ? EncodeErrorReply(status, trailing) : std::move(bad);
  (void)link_.Reply(id, status, {});  // fails quietly if the caller is gone
}

absl::Status LinkSession::SendResponse(uint64_t id, const MessageSource& response,
                                       Attachment attachment, uint16_t flags,
                                       const Metadata* trailing) {
  if (trailing != nullptr && !trailing->empty()) [[unlikely]] {
    absl::Status bad = CheckMetadata(*trailing, "the method's trailing metadata");
    if (!bad.ok()) return bad;
  }
  OutgoingCall call;
  auto allocate = [&](size_t bytes) { return link_.AllocateBuffer(bytes, absl::InfiniteFuture()); };
  if (absl::Status s = PrepareOutgoing(link_, response, &attachment, allocate, trailing, call);
      !s.ok()) {
    return s;
  }
  call.header.flags |= flags;
  ReplyDma dma;
  if (call.dma.valid()) dma.attach = std::move(call.dma);
  return link_.ReplyInPlace(
      id, call.inline_size(), [&](std::span<std::byte> out) { WriteInline(call, response, out); },
      std::move(dma));
}

void LinkSession::ServeInline(Message& request, IncomingCall& call) {
  ServerContext context(peer_, DeadlineOf(call.header));
  ServerContextAccess::WatchCaller(context, link_.Watch(request), &stopping_);
  if (!TakeMetadata(request, call, context)) return;
  ServerContextAccess::SetSession(context, &session_state_);
  if (call.has_attachment) {
    context.request_attachment() = Attachment::FromPeerBuffer(
        std::move(request.peer_buffer), call.attachment_offset, call.attachment_size);
  }
  ServerContextAccess::SetAllocator(context, [this](size_t bytes) -> absl::StatusOr<Attachment> {
    absl::StatusOr<DmaBuffer> buffer = link_.AllocateBuffer(bytes);
    if (!buffer.ok()) return buffer.status();
    return Attachment::FromDmaBuffer(*std::move(buffer));
  });
  const uint64_t id = request.id;
  InlineWriter writer(*this, id, context);
  ServerCall server_call(request.command, call.message, &context, &writer);
  absl::Status status = Answer(DispatchCatching(*service_, server_call));
  bool caller_gone = false;  // the response could not be sent: nobody takes an error either
  if (status.ok() && !server_call.has_response()) {
    status =
        SendResponse(id, MessageSource::Of(std::span<const std::byte>()),
                     std::move(context.response_attachment()), 0, &context.trailing_metadata());
  } else if (status.ok()) {
    status = writer.status();
    caller_gone = !status.ok() && IsPeerDied(status);
  }
  if (!status.ok() && !caller_gone) ReplyError(id, std::move(status), context.trailing_metadata());
  ServerContextAccess::RunAfterReply(context);
}

void LinkSession::Submit(Message& request, IncomingCall& call) {
  // The request's inline bytes live in the ring only until the next Receive(): copy them.
  auto bytes = std::make_shared<std::string>(reinterpret_cast<const char*>(call.message.data()),
                                             call.message.size());
  std::shared_ptr<ServerContext> context = NewSharedContext(request, call);
  if (!TakeMetadata(request, call, *context)) return;
  if (call.has_attachment) {
    context->request_attachment() = Attachment::FromPeerBuffer(
        std::move(request.peer_buffer), call.attachment_offset, call.attachment_size);
  }
  uint64_t id = request.id;
  uint32_t method = request.command;
  {
    absl::MutexLock lock(&mutex_);
    ++in_flight_;
    pool_calls_.emplace(id, context);
  }
  pool_->Submit([self = shared_from_this(), id, method, bytes, context] {
    ServerCall server_call(method, std::as_bytes(std::span(bytes->data(), bytes->size())),
                           context.get());
    absl::Status status = self->Answer(DispatchCatching(*self->service_, server_call));
    ReadyReply reply{id, std::move(status), server_call.response_bytes(),
                     std::move(context->response_attachment())};
    reply.trailing = ServerContextAccess::TakeTrailingMetadata(*context);
    // Counted in flight until its after-reply work is done: that delays Shutdown() too.
    self->Deliver(std::move(reply), /*job_done=*/false);
    ServerContextAccess::RunAfterReply(*context);
    self->JobDone(id);
  });
}

void LinkSession::JobDone(uint64_t id) {
  bool claimed = false;
  {
    absl::MutexLock lock(&mutex_);
    --in_flight_;
    pool_calls_.erase(id);
    // A session parked to end once nothing runs ends now: a stopping one here (it reads
    // nothing more); a draining one on a serving thread, which answers what waits in its
    // ring first (a worker's thread is not held by a client that keeps calling).
    if (state_ == State::kParked && in_flight_ == 0 && replies_.empty()) {
      if (stopping_.load(std::memory_order_relaxed)) {
        state_ = State::kActive;
        claimed = true;
      } else if (draining_.load(std::memory_order_relaxed)) {
        parking_->ArmReady(*this);
      }
    }
  }
  if (claimed) Serve(/*spin=*/false);
}

void LinkSession::Deliver(ReadyReply reply, bool job_done) {
  bool claimed = false;
  {
    absl::MutexLock lock(&mutex_);
    if (job_done) {
      --in_flight_;
      pool_calls_.erase(reply.id);
    }
    if (state_ == State::kEnded) return;  // the caller is gone: nobody takes the reply
    replies_.push_back(std::move(reply));
    replies_waiting_.store(true, std::memory_order_release);
    if (state_ == State::kParked) {
      state_ = State::kActive;
      claimed = true;
    }
  }
  // A parked session has no thread: this one sends the reply and parks it again.
  if (claimed) ServeReplies();
}

void LinkSession::SendReadyReplies() {
  std::deque<ReadyReply> ready;
  {
    absl::MutexLock lock(&mutex_);
    if (replies_.empty()) return;
    ready.swap(replies_);
    replies_waiting_.store(false, std::memory_order_relaxed);
  }
  for (ReadyReply& reply : ready) {
    absl::Status status = reply.status;
    if (status.ok()) {
      status = SendResponse(
          reply.id,
          MessageSource::Of(std::as_bytes(std::span(reply.response.data(), reply.response.size()))),
          std::move(reply.attachment), reply.flags, &reply.trailing);
      if (status.ok() || IsPeerDied(status)) continue;
    }
    ReplyError(reply.id, std::move(status), reply.trailing);
  }
}

void LinkSession::ServeStream(Message& request, IncomingCall& call) {
  const uint16_t op = call.header.flags & kCallStreamRequests;
  if (op == kCallStreamOpen) {
    OpenStream(request, call);
    return;
  }
  std::shared_ptr<LinkServerStream> stream;
  {
    absl::MutexLock lock(&mutex_);
    auto it = streams_.find(call.header.stream_id);
    if (it != streams_.end()) stream = it->second;
  }
  absl::Status status;
  if (stream == nullptr) {
    // The stream ended (its method returned) while this request was on its way, or it
    // never was. The answer goes behind the stream's own answers still queued (its last
    // messages): a pull's `end` must not overtake them.
    ReadyReply reply{request.id, absl::OkStatus(), {}, {}, 0};
    if (op == kCallStreamPull) {
      reply.flags = kCallStreamEnd;
    } else if (op == kCallStreamMessage) {
      reply.status = absl::FailedPreconditionError(
          absl::StrCat("stream ", call.header.stream_id, " is not open"));
    }
    queues_replies_.store(true, std::memory_order_relaxed);
    Deliver(std::move(reply), /*job_done=*/false);
    return;
  }
  switch (op) {
    case kCallStreamMessage: {
      Attachment attachment;
      if (call.has_attachment) {
        attachment = Attachment::FromPeerBuffer(std::move(request.peer_buffer),
                                                call.attachment_offset, call.attachment_size);
      }
      status = stream->AddMessage(
          request.id,
          std::string(reinterpret_cast<const char*>(call.message.data()), call.message.size()),
          std::move(attachment));
      if (status.ok()) return;  // answered when the method reads it
      break;
    }
    case kCallStreamPull: {
      uint32_t room = 1;  // a pull without its 4 bytes has room for one
      if (call.message.size() == kPullSize) {
        room = LoadU32(call.message.data());
      }
      status = stream->AddPull(request.id, room);
      if (status.ok()) return;  // answered with what the method writes
      break;
    }
    case kCallStreamHalfClose:
      stream->HalfClose();
      break;
    default:  // kCallStreamCancel
      stream->Cancel();
      break;
  }
  if (status.ok()) {
    status = SendResponse(request.id, MessageSource::Of(std::span<const std::byte>()), {});
  }
  if (!status.ok() && !IsPeerDied(status)) (void)link_.Reply(request.id, status, {});
}

void LinkSession::OpenStream(Message& request, IncomingCall& call) {
  const uint32_t stream_id = call.header.stream_id;
  const uint32_t method = request.command;
  absl::Status refused;
  for (const Method& known : service_->methods()) {
    if (known.id == method && known.kind == MethodKind::kUnary) {
      refused = absl::FailedPreconditionError(
          absl::StrCat(known.path, " is unary, but was called as a stream"));
    }
  }
  std::shared_ptr<ServerContext> context = NewSharedContext(request, call);
  if (!TakeMetadata(request, call, *context)) return;
  std::weak_ptr<LinkSession> weak = weak_from_this();
  auto stream = std::make_shared<LinkServerStream>(
      stream_id, context,
      [weak](uint64_t id, absl::Status status, uint16_t flags, std::string message,
             Attachment attachment) {
        if (std::shared_ptr<LinkSession> self = weak.lock()) {
          self->Deliver({id, std::move(status), std::move(message), std::move(attachment), flags},
                        /*job_done=*/false);
        }
      },
      // A quarter of the ring: a batch fits inline beside the replies around it.
      link_.options().ring_capacity / 4);
  if (refused.ok()) {
    absl::MutexLock lock(&mutex_);
    if (streams_cancelled_) {
      refused = absl::UnavailableError("the server is closing this link");
    } else if (streams_.size() >= kMaxStreams) {
      refused = absl::ResourceExhaustedError(
          absl::StrCat("this link has ", kMaxStreams, " streams open, the most it may"));
    } else if (!streams_.emplace(stream_id, stream).second) {
      refused = absl::InvalidArgumentError(absl::StrCat("stream ", stream_id, " is open already"));
    } else {
      ++in_flight_;
      queues_replies_.store(true, std::memory_order_relaxed);
      streaming_.store(true, std::memory_order_relaxed);
    }
  }
  if (!refused.ok()) {
    (void)link_.Reply(request.id, refused, {});
    return;
  }
  auto bytes = std::make_shared<std::string>(reinterpret_cast<const char*>(call.message.data()),
                                             call.message.size());
  if (call.has_attachment) {
    context->request_attachment() = Attachment::FromPeerBuffer(
        std::move(request.peer_buffer), call.attachment_offset, call.attachment_size);
  }
  // The method waits for the client: it runs on a thread of its own.
  try {
    StartStreamThread(request.id, method, std::move(bytes), std::move(context), stream);
  } catch (const std::system_error& e) {
    // Out of threads (RLIMIT_NPROC, the cgroup's pids): this stream is refused, and the
    // server goes on serving.
    CloseStream(*stream);
    Deliver({request.id,
             absl::ResourceExhaustedError(
                 absl::StrCat("no thread to run the stream's method: ", e.what())),
             {},
             {}});
  }
}

void LinkSession::CloseStream(LinkServerStream& stream) {
  stream.Close();
  absl::MutexLock lock(&mutex_);
  streams_.erase(stream.stream_id());
  streaming_.store(!streams_.empty(), std::memory_order_relaxed);
}

void LinkSession::StartStreamThread(uint64_t id, uint32_t method,
                                    std::shared_ptr<std::string> bytes,
                                    std::shared_ptr<ServerContext> context,
                                    std::shared_ptr<LinkServerStream> stream) {
  std::thread([self = shared_from_this(), id, method, bytes, context, stream] {
    ServerCall server_call(method, std::as_bytes(std::span(bytes->data(), bytes->size())),
                           context.get());
    server_call.set_stream(stream.get());
    absl::Status status = self->Answer(DispatchCatching(*self->service_, server_call));
    self->CloseStream(*stream);  // the end of its messages goes out before the final status
    // Before the final status goes: once it has, the server may be gone.
    ServerContextAccess::RunAfterReply(*context);
    ReadyReply reply{id, std::move(status), server_call.response_bytes(),
                     std::move(context->response_attachment())};
    reply.trailing = ServerContextAccess::TakeTrailingMetadata(*context);
    self->Deliver(std::move(reply));
  }).detach();
}

void LinkSession::GivenUp(const Message& notice, const IncomingCall& call) {
  if (call.message.size() != kGivenUpSize) {
    (void)link_.Reply(
        notice.id,
        absl::InvalidArgumentError(absl::StrCat("a given-up call's notice of ", call.message.size(),
                                                " bytes; it names the call in ", kGivenUpSize)),
        {});
    return;
  }
  const uint64_t id = LoadU64(call.message.data());
  std::shared_ptr<ServerContext> context;
  {
    absl::MutexLock lock(&mutex_);
    auto it = pool_calls_.find(id);
    if (it != pool_calls_.end()) context = it->second.lock();
  }
  // The notice only wakes: the caller's end of the link, in shared memory, says whether
  // the call was given up.
  if (context != nullptr && context->cancelled()) ServerContextAccess::MarkCancelled(*context);
  absl::Status sent = SendResponse(notice.id, MessageSource::Of(std::span<const std::byte>()), {});
  if (!sent.ok() && !IsPeerDied(sent)) (void)link_.Reply(notice.id, sent, {});
}

void LinkSession::CancelCalls() {
  std::vector<std::shared_ptr<LinkServerStream>> streams;
  std::vector<std::shared_ptr<ServerContext>> calls;
  {
    absl::MutexLock lock(&mutex_);
    if (streams_cancelled_) return;
    streams_cancelled_ = true;
    for (auto& [id, stream] : streams_) streams.push_back(stream);
    for (auto& [id, call] : pool_calls_) {
      if (std::shared_ptr<ServerContext> context = call.lock()) calls.push_back(context);
    }
  }
  for (auto& stream : streams) stream->Cancel();
  for (auto& context : calls) ServerContextAccess::MarkCancelled(*context);
}

}  // namespace syslink::rpc::internal
