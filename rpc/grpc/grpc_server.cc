#include "rpc/grpc/grpc_server.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "grpc/grpc.h"
#include "grpc/grpc_security_constants.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/security/auth_context.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "rpc/grpc/internal/stream_reactor.h"
#include "rpc/grpc/internal/task_pool.h"
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

namespace {

// The subject of the client certificate gRPC verified, or "".
std::string TlsSubject(const grpc::ServerContextBase& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) return "";
  std::vector<grpc::string_ref> subject = auth->FindPropertyValues(GRPC_X509_SUBJECT_PROPERTY_NAME);
  if (subject.empty()) return "";
  return std::string(subject.front().data(), subject.front().size());
}

}  // namespace

void GrpcServerCall::Bind(grpc::GenericCallbackServerContext& context) {
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

// One unary call: reads the request, has a worker answer it, sends the answer. It deletes
// itself once both gRPC is done with the call (OnDone) and the worker is done with it
// (after the reply's after_reply work, which may still look at the call).
class CallReactor final : public grpc::ServerGenericBidiReactor {
 public:
  CallReactor(grpc::GenericCallbackServerContext* context, GrpcCallHandler* handler, TaskPool* pool)
      : context_(context), handler_(handler), pool_(pool) {
    call_.Bind(*context);
    StartRead(&call_.frame_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the call ended before its request"));
      Release();  // no worker will hold it
      return;
    }
    absl::StatusOr<std::optional<size_t>> size = AttachmentSizeIn(context_->client_metadata());
    absl::StatusOr<FrameLayout> layout =
        size.ok() ? DecodeFrame(call_.frame_, *size) : size.status();
    if (!layout.ok()) {
      Finish(ToGrpcStatus(layout.status()));
      Release();
      return;
    }
    call_.layout_ = *layout;
    pool_->Submit([this] { Answer(); });
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
    if (absl::Status sent = AddTrailingMetadata(reply_.trailing_metadata, *context_); !sent.ok()) {
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
        context_->AddInitialMetadata(kAttachmentSizeKey, absl::StrCat(reply_.attachment_size));
      }
      StartWriteAndFinish(&reply_.frame, grpc::WriteOptions(), grpc::Status::OK);
    } else {
      Finish(ToGrpcStatus(status));
    }
    if (after_reply) after_reply();
    Release();
  }

  // No lock: the call passes from gRPC's thread (the read) to one worker (Answer) through
  // the pool's queue, never used by both at once; OnCancel only calls call_.Cancel(),
  // which is thread-safe.
  grpc::GenericCallbackServerContext* const context_;
  GrpcCallHandler* const handler_;
  TaskPool* const pool_;
  GrpcServerCall call_;
  GrpcReply reply_;
  std::atomic<int> holds_{2};  // gRPC's, until OnDone; the worker's, until Answer() ends
};

}  // namespace grpc_internal

// ---- GrpcServer ----

class GrpcServer::Impl final : public grpc::CallbackGenericService {
 public:
  Impl(GrpcCallHandler* handler, int workers) : handler_(handler), pool_(workers) {}
  ~Impl() override {
    pool_.Stop();
    server_.reset();
    stream_threads_.Wait();
  }

  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    std::optional<MethodKind> announced;
    auto it = context->client_metadata().find(grpc_internal::kMethodKindKey);
    if (it != context->client_metadata().end()) {
      announced =
          grpc_internal::ParseMethodKind(absl::string_view(it->second.data(), it->second.size()));
    }
    const MethodKind kind = handler_->KindOf(context->method(), announced);
    if (kind != MethodKind::kUnary) {
      return new grpc_internal::StreamReactor(context, kind, handler_, &stream_threads_);
    }
    return new grpc_internal::CallReactor(context, handler_, &pool_);
  }

  std::unique_ptr<GrpcCallHandler> owned_handler_;  // may be null; outlives the rest
  GrpcCallHandler* handler_;
  grpc_internal::TaskPool pool_;
  grpc_internal::StreamThreads stream_threads_;
  std::unique_ptr<grpc::Server> server_;
  std::vector<int> ports_;
  bool stopped_ = false;
};

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(GrpcCallHandler* handler,
                                                              const GrpcServerOptions& options) {
  if (options.listen.empty()) return absl::InvalidArgumentError("no address to listen on");
  if (options.workers < 1) return absl::InvalidArgumentError("a gRPC server needs a worker");
  auto impl = std::make_unique<Impl>(handler, options.workers);
  grpc::ServerBuilder builder;
  std::shared_ptr<grpc::ServerCredentials> credentials =
      options.credentials ? options.credentials : grpc::InsecureServerCredentials();
  impl->ports_.assign(options.listen.size(), 0);
  for (size_t i = 0; i < options.listen.size(); ++i) {
    builder.AddListeningPort(options.listen[i], credentials, &impl->ports_[i]);
  }
  builder.RegisterCallbackGenericService(impl.get());
  builder.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
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
      impl->server_->Shutdown();
      return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen[i]));
    }
    if (unix_socket) impl->ports_[i] = 0;
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

void GrpcServer::Shutdown(absl::Duration grace) {
  if (impl_->stopped_) return;
  impl_->stopped_ = true;
  // Returns once every call has ended: the workers must still run to end theirs.
  impl_->server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  impl_->server_->Wait();
  impl_->pool_.Stop();
  impl_->stream_threads_.Wait();
}

}  // namespace syslink::rpc
