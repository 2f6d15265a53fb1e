#include "rpc/grpc/grpc_server.h"

#include <algorithm>
#include <deque>
#include <limits>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "grpc/grpc.h"
#include "grpc/grpc_security_constants.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/resource_quota.h"
#include "grpcpp/security/auth_context.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "rpc/grpc/internal/async_call.h"
#include "rpc/grpc/internal/read_ahead_budget.h"
#include "rpc/grpc/internal/stream_reactor.h"
#include "rpc/grpc/status_map.h"

namespace syslink::rpc {

// ---- GrpcServerCall ----

std::string GrpcServerCall::MessageBytes() const {
  return grpc_internal::FrameMessageBytes(frame_, layout_.message_size);
}

void GrpcServerCall::CopyAttachment(std::span<std::byte> out) const {
  grpc_internal::CopyFrameBytes(frame_, layout_.attachment_offset,
                                out.first(std::min(out.size(), layout_.attachment_size)));
}

Metadata GrpcServerCall::client_metadata() const {
  return client_metadata_ != nullptr ? grpc_internal::FromGrpcMetadata(*client_metadata_)
                                     : Metadata();
}

void GrpcServerCall::OnCancel(std::function<void()> hook) {
  {
    absl::MutexLock lock(&hook_mutex_);
    if (!cancelled() || !hook) {
      hook_ = std::move(hook);
      return;
    }
  }
  hook();
}

void GrpcServerCall::Cancel() {
  // The hook runs under the lock, so that OnCancel() and DropCancelHook() return only once
  // it has finished: whatever it touches may go away after them.
  absl::MutexLock lock(&hook_mutex_);
  cancelled_.store(true, std::memory_order_release);
  if (hook_) std::exchange(hook_, nullptr)();
}

void GrpcServerCall::DropCancelHook() {
  absl::MutexLock lock(&hook_mutex_);
  hook_ = nullptr;
}

void GrpcReply::Set(const grpc_internal::FrameMessage& message,
                    std::span<const std::byte> attachment) {
  frame = grpc_internal::EncodeFrame(message, attachment);
  attachment_size = attachment.size();
  has_message = true;
}

void GrpcReply::Set(std::string&& message, std::span<const std::byte> attachment) {
  frame = grpc_internal::EncodeFrame(std::move(message), attachment);
  attachment_size = attachment.size();
  has_message = true;
}

namespace {

// The subject of the client certificate gRPC verified, or "".
std::string TlsSubject(const grpc::ServerContextBase& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) return "";
  std::vector<grpc::string_ref> subject = auth->FindPropertyValues(GRPC_X509_SUBJECT_PROPERTY_NAME);
  if (subject.empty()) return "";
  return std::string(subject.front().data(), subject.front().size());
}

// The transport quota's size: the option, or (0) twice what the server's own bounds let it
// hold, at least 1 GiB (GrpcServerOptions::max_transport_memory_bytes).
uint64_t TransportMemory(const GrpcServerOptions& options) {
  if (options.max_transport_memory_bytes > 0) {
    return static_cast<uint64_t>(options.max_transport_memory_bytes);
  }
  const uint64_t held = static_cast<uint64_t>(options.max_queued_bytes) +
                        static_cast<uint64_t>(options.max_read_ahead_bytes) +
                        static_cast<uint64_t>(std::max(options.workers, 0)) *
                            static_cast<uint64_t>(std::max(options.max_receive_message_bytes, 0));
  // Doubled without overflow, and within what grpc::ResourceQuota takes.
  constexpr uint64_t kMost = std::numeric_limits<int64_t>::max() / 4;
  return std::max<uint64_t>(uint64_t{1} << 30, std::min(held, kMost) * 2);
}

}  // namespace

void GrpcServerCall::Bind(grpc::GenericServerContext& context) {
  path_ = context.method();
  deadline_ = grpc_internal::FromGrpcDeadline(context.raw_deadline());
  peer_.address = context.peer();
  peer_.tls_subject = TlsSubject(context);
  client_metadata_ = &context.client_metadata();
}

namespace grpc_internal {

absl::Status AddTrailingMetadata(const Metadata& metadata, grpc::ServerContextBase& context) {
  if (metadata.empty()) return absl::OkStatus();
  if (absl::Status status = CheckMetadata(metadata, "the reply's trailing metadata");
      !status.ok()) {
    return status;
  }
  for (const auto& [key, value] : metadata) context.AddTrailingMetadata(key, value);
  return absl::OkStatus();
}

// One unary call: reads the request, answers it on the poller that read it (or, while
// `workers` answer already, on the first to finish), sends the answer. It deletes itself
// once both gRPC is done with the call (OnDone) and the answer is done with it (after the
// reply's after_reply work, which may still look at the call).
class CallReactor final : public AsyncReactor {
 public:
  // Runs a call's answer, or queues it (GrpcServer's Answer()).
  // `bytes`: the request's size, which the answer holds while it waits. Not OK (the
  // status to answer with) when it can do neither: the answer will never run.
  using AnswerRunner = std::function<absl::Status(std::function<void()>, size_t bytes)>;
  CallReactor(AsyncCall* async_call, GrpcCallHandler* handler, const AnswerRunner* run_answer)
      : AsyncReactor(async_call), handler_(handler), run_answer_(run_answer) {
    call_.Bind(context());
  }
  // Starts the call's read; the reactions may run from then on.
  void Begin() { StartRead(&call_.frame_); }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the call ended before its request"));
      Release();  // no answer will hold it
      return;
    }
    absl::StatusOr<std::optional<size_t>> size = AttachmentSizeIn(context().client_metadata());
    absl::StatusOr<FrameLayout> layout =
        size.ok() ? DecodeFrame(call_.frame_, *size) : size.status();
    if (!layout.ok()) {
      Finish(ToGrpcStatus(layout.status()));
      Release();
      return;
    }
    call_.layout_ = *layout;
    if (absl::Status run = (*run_answer_)([this] { Answer(); }, call_.frame_.Length()); !run.ok()) {
      Finish(ToGrpcStatus(run));
      Release();
    }
  }

  void OnCancel() override { call_.Cancel(); }
  void OnDone() override { Release(); }

 private:
  void Release() {
    if (holds_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  void Answer() {
    absl::Status status = call_.cancelled()
                              ? absl::CancelledError("the caller gave up before the call ran")
                              : handler_->Handle(call_, &reply_);
    call_.DropCancelHook();
    if (absl::Status sent = AddTrailingMetadata(reply_.trailing_metadata, context()); !sent.ok()) {
      status = std::move(sent);
    }
    if (call_.deadline_ != absl::InfiniteFuture() && absl::Now() >= call_.deadline_) {
      // As over a link, whatever the method says after the deadline is not the answer: the
      // caller's own timer and this reply would otherwise race.
      status = absl::DeadlineExceededError("the caller's deadline passed");
    }
    std::function<void()> after_reply = std::move(reply_.after_reply);
    if (status.ok()) {
      if (reply_.attachment_size > 0) {
        context().AddInitialMetadata(kAttachmentSizeKey, absl::StrCat(reply_.attachment_size));
      }
      StartWriteAndFinish(&reply_.frame, grpc::WriteOptions(), grpc::Status::OK);
    } else {
      Finish(ToGrpcStatus(status));
    }
    // The call and its context may be gone from here on (OnDone).
    if (after_reply) after_reply();
    Release();
  }

  // No lock: the call passes from the read's reaction to Answer() (on the same thread, or
  // through GrpcServer's queue of answers), never used by both at once; OnCancel only
  // calls call_.Cancel(), which is thread-safe.
  GrpcCallHandler* const handler_;
  const AnswerRunner* const run_answer_;
  GrpcServerCall call_;
  GrpcReply reply_;
  std::atomic<int> holds_{2};  // gRPC's, until OnDone; the answer's, until Answer() ends
};

}  // namespace grpc_internal

// ---- GrpcServer ----

// The pollers: threads that take completions from the server's queue and run their
// reactions. A unary call is answered on the poller that read its request, as gRPC's sync
// server answers on the thread that polled: no hand-off to another thread. So that calls
// and cancellations are still seen while a handler runs (it may block), a poller about to
// answer first makes sure another one polls (kMinIdlePollers), starting a thread if need
// be; a poller retires when more than kMaxIdlePollers are idle. At most `workers` answer
// at once; a call read meanwhile waits in queued_ for the first to finish, unless
// `max_queued` wait already.
class GrpcServer::Impl final : public grpc_internal::AsyncCall::Acceptor {
 public:
  static constexpr int kMinIdlePollers = 1;
  static constexpr int kMaxIdlePollers = 2;

  Impl(GrpcCallHandler* handler, const GrpcServerOptions& options)
      : handler_(handler),
        workers_(options.workers),
        max_queued_(static_cast<size_t>(options.max_queued_calls)),
        max_queued_bytes_(static_cast<uint64_t>(options.max_queued_bytes)),
        read_ahead_(static_cast<uint64_t>(options.max_read_ahead_bytes)),
        stream_threads_(options.max_streams) {}
  ~Impl() { Stop(); }

  // Requests the first calls and starts polling; false when no poller could start.
  bool Begin() {
    for (int i = 0; i < workers_; ++i) RequestCall();
    absl::MutexLock lock(&mutex_);
    for (int i = 0; i < kMaxIdlePollers; ++i) StartPollerLocked();
    return pollers_ > 0;
  }

  // Once the server has shut down (or failed to start): ends the queue and the pollers.
  void Stop() {
    if (queue_ == nullptr) return;
    if (server_ != nullptr) server_->Shutdown();  // no-op if it already was
    {
      // No operation may start on the queue once it is shut down.
      absl::MutexLock lock(&mutex_);
      mutex_.Await(absl::Condition(
          +[](Impl* self)
               ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mutex_) { return self->live_calls_ == 0; },
          this));
    }
    queue_->Shutdown();
    poller_threads_.Wait();
    stream_threads_.Wait();
    void* tag;  // what is left when no poller ever ran (the server failed to start)
    bool ok;
    while (queue_->Next(&tag, &ok)) static_cast<grpc_internal::CompletionTag*>(tag)->Complete(ok);
    server_.reset();
    queue_.reset();
  }

  void Accept(grpc_internal::AsyncCall* call) override {
    {
      absl::MutexLock lock(&mutex_);
      ++live_calls_;
    }
    RequestCall();  // the next one
    grpc::GenericServerContext& context = call->context();
    std::optional<MethodKind> announced;
    auto it = context.client_metadata().find(grpc_internal::kMethodKindKey);
    if (it != context.client_metadata().end()) {
      announced =
          grpc_internal::ParseMethodKind(absl::string_view(it->second.data(), it->second.size()));
    }
    const MethodKind kind = handler_->KindOf(context.method(), announced);
    // Each reactor deletes itself once gRPC (OnDone) and its own work are done with it.
    auto start = [call](auto* reactor) {
      call->Start(reactor);
      reactor->Begin();
    };
    if (kind != MethodKind::kUnary) {
      start(new grpc_internal::StreamReactor(call, kind, handler_, &stream_threads_, &read_ahead_));
    } else {
      start(new grpc_internal::CallReactor(call, handler_, &run_answer_));
    }
  }

  void Ended() override {
    absl::MutexLock lock(&mutex_);
    --live_calls_;
  }

  std::unique_ptr<GrpcCallHandler> owned_handler_;  // may be null; outlives the rest
  GrpcCallHandler* const handler_;
  const int workers_;
  const size_t max_queued_;
  const uint64_t max_queued_bytes_;
  uint64_t transport_memory_ = 0;  // the quota's size, set by Start()
  // Outlives the streams: Stop() waits for them all.
  grpc_internal::ReadAheadBudget read_ahead_;
  grpc::AsyncGenericService service_;
  std::unique_ptr<grpc::ServerCompletionQueue> queue_;  // outlives server_
  std::unique_ptr<grpc::Server> server_;
  std::vector<int> ports_;
  bool stopped_ = false;

 private:
  void RequestCall() { grpc_internal::AsyncCall::Request(&service_, queue_.get(), this); }

  // Out of threads, the pollers there are poll on (a later need tries again).
  void StartPollerLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    ++pollers_;  // before the thread runs: its end counts down under mutex_
    if (!poller_threads_.Start([this] { Poll(); })) --pollers_;
  }

  void Poll() {
    void* tag;
    bool ok;
    while (queue_->Next(&tag, &ok)) {
      static_cast<grpc_internal::CompletionTag*>(tag)->Complete(ok);
      absl::MutexLock lock(&mutex_);
      if (pollers_ - answering_ > kMaxIdlePollers) {
        --pollers_;
        return;
      }
    }
    absl::MutexLock lock(&mutex_);
    --pollers_;
  }

  // Runs `answer` on this poller, then the answers queued meanwhile; or queues it (with
  // the `bytes` of its request) while `workers` answer already. RESOURCE_EXHAUSTED, with
  // `answer` dropped, when max_queued_ wait already or they would hold more than
  // max_queued_bytes_.
  absl::Status Answer(std::function<void()> answer, size_t bytes) {
    {
      absl::MutexLock lock(&mutex_);
      if (answering_ >= workers_) {
        if (queued_.size() >= max_queued_) {
          return absl::ResourceExhaustedError(
              "the server has as many calls waiting for a worker as it queues "
              "(GrpcServerOptions::max_queued_calls)");
        }
        if (queued_bytes_ + bytes > max_queued_bytes_) {
          return absl::ResourceExhaustedError(absl::StrCat(
              "the calls waiting for a worker hold ", queued_bytes_,
              " bytes of requests; this one's ", bytes, " would pass the server's bound of ",
              max_queued_bytes_, " (GrpcServerOptions::max_queued_bytes)"));
        }
        queued_.push_back({std::move(answer), bytes});
        queued_bytes_ += bytes;
        return absl::OkStatus();
      }
      ++answering_;
      if (pollers_ - answering_ < kMinIdlePollers) StartPollerLocked();
    }
    while (true) {
      answer();
      absl::MutexLock lock(&mutex_);
      if (queued_.empty()) {
        --answering_;
        return absl::OkStatus();
      }
      answer = std::move(queued_.front().answer);
      queued_bytes_ -= queued_.front().bytes;
      queued_.pop_front();
    }
  }

  const grpc_internal::CallReactor::AnswerRunner run_answer_ = [this](std::function<void()> answer,
                                                                      size_t bytes) {
    return Answer(std::move(answer), bytes);
  };
  absl::Mutex mutex_;
  int pollers_ ABSL_GUARDED_BY(mutex_) = 0;    // threads polling or answering
  int answering_ ABSL_GUARDED_BY(mutex_) = 0;  // of them, answering a call
  struct Queued {
    std::function<void()> answer;
    size_t bytes;  // its request's
  };
  std::deque<Queued> queued_ ABSL_GUARDED_BY(mutex_);
  uint64_t queued_bytes_ ABSL_GUARDED_BY(mutex_) = 0;
  int live_calls_ ABSL_GUARDED_BY(mutex_) = 0;  // accepted and not yet ended
  grpc_internal::StreamThreads poller_threads_;
  grpc_internal::StreamThreads stream_threads_;
};

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(GrpcCallHandler* handler,
                                                              const GrpcServerOptions& options) {
  if (options.listen.empty()) return absl::InvalidArgumentError("no address to listen on");
  if (options.workers < 1) return absl::InvalidArgumentError("a gRPC server needs a worker");
  if (options.max_streams < 0) return absl::InvalidArgumentError("max_streams is negative");
  if (options.max_queued_calls < 0) {
    return absl::InvalidArgumentError("max_queued_calls is negative");
  }
  if (options.max_queued_bytes < 0) {
    return absl::InvalidArgumentError("max_queued_bytes is negative");
  }
  if (options.max_read_ahead_bytes < 0) {
    return absl::InvalidArgumentError("max_read_ahead_bytes is negative");
  }
  if (options.max_transport_memory_bytes < 0) {
    return absl::InvalidArgumentError("max_transport_memory_bytes is negative");
  }
  auto impl = std::make_unique<Impl>(handler, options);
  grpc::ServerBuilder builder;
  std::shared_ptr<grpc::ServerCredentials> credentials =
      options.credentials ? options.credentials : grpc::InsecureServerCredentials();
  impl->ports_.assign(options.listen.size(), 0);
  for (size_t i = 0; i < options.listen.size(); ++i) {
    builder.AddListeningPort(options.listen[i], credentials, &impl->ports_[i]);
  }
  builder.RegisterAsyncGenericService(&impl->service_);
  impl->queue_ = builder.AddCompletionQueue();
  builder.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  grpc::ResourceQuota quota("syslink GrpcServer");  // the server keeps a reference
  impl->transport_memory_ = TransportMemory(options);
  quota.Resize(static_cast<size_t>(impl->transport_memory_));
  builder.SetResourceQuota(quota);
  // Any metadata rpc/metadata.h allows, by gRPC's count (kMaxGrpcMetadataBytes).
  builder.AddChannelArgument(GRPC_ARG_MAX_METADATA_SIZE, grpc_internal::kMaxGrpcMetadataBytes);
  // Clients' keepalive pings (GrpcChannelOptions) every 10 s are welcome, with or without
  // calls.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  impl->server_ = builder.BuildAndStart();
  if (impl->server_ == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", absl::StrJoin(options.listen, ", ")));
  }
  for (size_t i = 0; i < options.listen.size(); ++i) {
    const bool unix_socket = options.listen[i].rfind("unix:", 0) == 0;
    if (impl->ports_[i] == 0 && !unix_socket) {
      return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen[i]));
    }
    if (unix_socket) impl->ports_[i] = 0;
  }
  if (!impl->Begin()) {
    return absl::ResourceExhaustedError("the gRPC server could start no thread to poll with");
  }
  return std::unique_ptr<GrpcServer>(new GrpcServer(std::move(impl)));
}

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(
    std::unique_ptr<GrpcCallHandler> handler, const GrpcServerOptions& options) {
  absl::StatusOr<std::unique_ptr<GrpcServer>> server = Start(handler.get(), options);
  if (server.ok()) (*server)->impl_->owned_handler_ = std::move(handler);
  return server;
}

GrpcServer::GrpcServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

GrpcServer::~GrpcServer() { Shutdown(); }

const std::vector<int>& GrpcServer::ports() const { return impl_->ports_; }

uint64_t GrpcServer::read_ahead_bytes() const { return impl_->read_ahead_.held(); }

uint64_t GrpcServer::transport_memory_bytes() const { return impl_->transport_memory_; }

void GrpcServer::Shutdown(absl::Duration grace) {
  if (impl_->stopped_) return;
  impl_->stopped_ = true;
  // Returns once every call has ended: the pollers must still run to end theirs.
  impl_->server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  impl_->server_->Wait();
  impl_->Stop();
}

}  // namespace syslink::rpc
