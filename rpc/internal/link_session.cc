#include "rpc/internal/link_session.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/functional/function_ref.h"
#include "absl/time/clock.h"
#include "rpc/internal/call_codec.h"
#include "syslink/status.h"

namespace syslink::rpc {
namespace {

// A pooled session's thread looks at its stop flag at least this often.
constexpr absl::Duration kStopCheck = absl::Milliseconds(100);

absl::Time DeadlineOf(const internal::CallHeader& header) {
  return header.deadline_unix_ns == 0 ? absl::InfiniteFuture()
                                      : absl::FromUnixNanos(header.deadline_unix_ns);
}

// Sends the response the moment the generated code sets it, serialized into ring space.
class InlineResponseWriter final : public ResponseWriter {
 public:
  // `send` must outlive the writer (it lives for one call).
  explicit InlineResponseWriter(
      absl::FunctionRef<absl::Status(const internal::MessageSource&)> send)
      : send_(send) {}
  void Write(const google::protobuf::MessageLite& response) override {
    status_ = send_(internal::MessageSource::Of(response));
  }
  const absl::Status& status() const { return status_; }

 private:
  absl::FunctionRef<absl::Status(const internal::MessageSource&)> send_;
  absl::Status status_;
};

}  // namespace

LinkSession::LinkSession(Service* service, Link link, PeerIdentity peer, WorkerPool* pool)
    : service_(service),
      link_(std::move(link)),
      peer_(peer),
      pool_(pool),
      socket_(link_.fd()),
      wake_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      thread_([this] { Run(); }) {}

LinkSession::~LinkSession() {
  Stop();
  thread_.join();
  // Pool jobs point at this session: wait for the ones still running.
  while (in_flight_.load() > 0) absl::SleepFor(absl::Milliseconds(1));
}

void LinkSession::Stop() {
  stopping_.store(true);
  {
    std::lock_guard<std::mutex> lock(socket_mutex_);
    if (!closed_) shutdown(socket_, SHUT_RDWR);  // the session's wait ends: its peer "left"
  }
  uint64_t one = 1;
  if (write(wake_.get(), &one, sizeof(one)) < 0) {
    // The eventfd cannot be full; the thread also checks the flag on its own.
  }
}

void LinkSession::Run() {
  if (pool_ == nullptr) {
    RunInline();
  } else {
    RunPooled();
  }
  session_state_.reset();  // what it holds may refer to the link: gone before it closes
  // Methods still running on pool workers: their replies will not be sent.
  stopping_.store(true);
  {
    std::lock_guard<std::mutex> lock(socket_mutex_);
    link_.Close();
    closed_ = true;
  }
  done_.store(true);
}

void LinkSession::RunInline() {
  while (!stopping_.load(std::memory_order_relaxed)) {
    absl::StatusOr<Message> message = link_.Receive(absl::InfiniteFuture());
    if (!message.ok()) return;  // the client closed the link or died, or Stop()
    if (message->kind == MessageKind::kRequest) ServeInline(*message);
  }
}

absl::Status LinkSession::SendResponse(uint64_t id, const internal::MessageSource& response,
                                       Attachment attachment) {
  absl::StatusOr<internal::OutgoingCall> call =
      internal::PrepareOutgoing(link_, response, std::move(attachment), absl::InfiniteFuture());
  if (!call.ok()) return call.status();
  ReplyDma dma;
  if (call->dma.valid()) dma.attach = std::move(call->dma);
  return link_.ReplyInPlace(
      id, call->inline_size(),
      [&](std::span<std::byte> out) { internal::WriteInline(*call, response, out); },
      std::move(dma));
}

void LinkSession::ServeInline(Message& request) {
  absl::StatusOr<internal::IncomingCall> call =
      internal::ParseIncoming(request.data, request.peer_buffer.data());
  if (!call.ok()) {
    (void)link_.Reply(request.id, call.status(), {});
    return;
  }
  ServerContext context(peer_, DeadlineOf(call->header), link_.Watch(request), &stopping_);
  context.set_session(&session_state_);
  if (call->has_attachment) {
    context.request_attachment() = Attachment::FromPeerBuffer(
        std::move(request.peer_buffer), call->attachment_offset, call->attachment_size);
  }
  context.set_allocator([this](size_t bytes) -> absl::StatusOr<Attachment> {
    absl::StatusOr<DmaBuffer> buffer = link_.AllocateBuffer(bytes);
    if (!buffer.ok()) return buffer.status();
    return Attachment::FromDmaBuffer(*std::move(buffer));
  });
  uint64_t id = request.id;
  auto send = [&](const internal::MessageSource& response) {
    return SendResponse(id, response, std::move(context.response_attachment()));
  };
  InlineResponseWriter writer(send);
  ServerCall server_call(request.command, call->message, &context, &writer);
  absl::Status status = service_->Dispatch(server_call);
  bool caller_gone = false;  // the response could not be sent: nobody takes an error either
  if (status.ok() && !server_call.has_response()) {
    status = SendResponse(id, internal::MessageSource::Of(std::span<const std::byte>()),
                          std::move(context.response_attachment()));
  } else if (status.ok()) {
    status = writer.status();
    caller_gone = !status.ok() && IsPeerDied(status);
  }
  if (!status.ok() && !caller_gone) {
    (void)link_.Reply(id, status, {});  // fails quietly if the caller is gone
  }
  context.RunAfterReply();
}

void LinkSession::RunPooled() {
  while (!stopping_.load(std::memory_order_relaxed)) {
    SendReadyReplies();
    absl::StatusOr<Message> message = link_.Receive(absl::InfinitePast());
    if (message.ok()) {
      if (message->kind == MessageKind::kRequest) Submit(*message);
      continue;
    }
    if (!absl::IsDeadlineExceeded(message.status())) return;  // closed
    if (link_.PrepareToPoll()) {
      struct pollfd fds[2] = {{link_.fd(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
      poll(fds, 2, static_cast<int>(absl::ToInt64Milliseconds(kStopCheck)));
      uint64_t count;
      while (read(wake_.get(), &count, sizeof(count)) > 0) {
      }
    }
  }
}

void LinkSession::Submit(Message& request) {
  // The request's inline bytes live in the ring only until the next Receive(): copy them.
  absl::StatusOr<internal::IncomingCall> call =
      internal::ParseIncoming(request.data, request.peer_buffer.data());
  if (!call.ok()) {
    (void)link_.Reply(request.id, call.status(), {});
    return;
  }
  auto bytes = std::make_shared<std::string>(
      reinterpret_cast<const char*>(call->message.data()), call->message.size());
  auto context = std::make_shared<ServerContext>(peer_, DeadlineOf(call->header),
                                                 link_.Watch(request), &stopping_);
  if (call->has_attachment) {
    context->request_attachment() = Attachment::FromPeerBuffer(
        std::move(request.peer_buffer), call->attachment_offset, call->attachment_size);
  }
  uint64_t id = request.id;
  uint32_t method = request.command;
  in_flight_.fetch_add(1);
  pool_->Submit([this, id, method, bytes, context] {
    ServerCall server_call(method, std::as_bytes(std::span(bytes->data(), bytes->size())),
                           context.get());
    absl::Status status = service_->Dispatch(server_call);
    Deliver({id, std::move(status), server_call.response_bytes(),
             std::move(context->response_attachment())});
    context->RunAfterReply();
    in_flight_.fetch_sub(1);
  });
}

void LinkSession::Deliver(ReadyReply reply) {
  {
    std::lock_guard<std::mutex> lock(replies_mutex_);
    replies_.push_back(std::move(reply));
  }
  uint64_t one = 1;
  if (write(wake_.get(), &one, sizeof(one)) < 0) {
    // The eventfd cannot be full.
  }
}

void LinkSession::SendReadyReplies() {
  std::deque<ReadyReply> ready;
  {
    std::lock_guard<std::mutex> lock(replies_mutex_);
    ready.swap(replies_);
  }
  for (ReadyReply& reply : ready) {
    absl::Status status = reply.status;
    if (status.ok()) {
      status = SendResponse(
          reply.id,
          internal::MessageSource::Of(std::as_bytes(std::span(reply.response.data(), reply.response.size()))),
          std::move(reply.attachment));
      if (status.ok() || IsPeerDied(status)) continue;
    }
    (void)link_.Reply(reply.id, status, {});
  }
}

}  // namespace syslink::rpc
