#include "rpc/grpc/serve_grpc.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "rpc/internal/server_context_access.h"
#include "rpc/metadata.h"
#include "rpc/method.h"

namespace syslink::rpc {
namespace {

using internal::ServerContextAccess;

// Answers each call with the service's Dispatch(), and keeps the call's ServerContext
// until its after-reply work has run.
class ServiceCallHandler final : public GrpcCallHandler {
 public:
  explicit ServiceCallHandler(Service* service) : service_(service) {}

  MethodKind KindOf(absl::string_view path, std::optional<MethodKind>) override {
    const Method* method = service_->FindMethod(path);
    return method != nullptr ? method->kind : MethodKind::kUnary;
  }

  absl::Status Handle(GrpcServerCall& call, GrpcReply* reply) override {
    absl::StatusOr<uint32_t> method_id = Resolve(call.path());
    if (!method_id.ok()) return method_id.status();
    const std::string request = call.MessageBytes();
    std::shared_ptr<ServerContext> context = NewContext(call);
    if (call.attachment_size() > 0) {
      Attachment attachment = Attachment::FromBytes({});
      attachment.resize(call.attachment_size());
      call.CopyAttachment(attachment.data());
      context->request_attachment() = std::move(attachment);
    }
    ServerCall server_call(*method_id, std::as_bytes(std::span(request.data(), request.size())),
                           context.get());
    absl::Status status = DispatchCatching(*service_, server_call);
    return Reply(std::move(status), server_call, std::move(context), reply);
  }

  // A streaming method: its reader and writer use `stream`. A server-streaming rpc's one
  // request is the caller's first message (its attachment the context's).
  absl::Status HandleStream(GrpcServerCall& call, GrpcServerStream& stream,
                            GrpcReply* reply) override {
    const Method* method = service_->FindMethod(call.path());
    if (method == nullptr) return absl::InternalError("a stream of no method");  // KindOf said
    std::shared_ptr<ServerContext> context = NewContext(call);
    std::string request;  // parsed by Dispatch()
    if (method->kind == MethodKind::kServerStreaming) {
      if (!stream.ReadBytes(&request, &context->request_attachment())) {
        return absl::InvalidArgumentError(
            absl::StrCat(method->path, " streams to one request, and none came"));
      }
    }
    ServerCall server_call(method->id, std::as_bytes(std::span(request.data(), request.size())),
                           context.get());
    server_call.set_stream(&stream);
    absl::Status status = DispatchCatching(*service_, server_call);
    return Reply(std::move(status), server_call, std::move(context), reply);
  }

 private:
  // A call's context: a remote peer, the call's deadline, cancellation and metadata. The
  // call's cancel hook, dropped when the handler returns, runs the method's OnCancel() hook
  // and keeps the context until then.
  static std::shared_ptr<ServerContext> NewContext(GrpcServerCall& call) {
    auto context = std::make_shared<ServerContext>(RemotePeer(), call.deadline());
    ServerContextAccess::WatchCaller(*context, RequestWatch(), call.cancelled_flag());
    call.OnCancel([context] { ServerContextAccess::MarkCancelled(*context); });
    ServerContextAccess::SetTransportPeer(*context, &call.peer());
    ServerContextAccess::SetClientMetadata(*context, call.client_metadata());
    return context;
  }

  // Fills `reply` from a method that returned `status`, and hands it the context to keep
  // until the after-reply work has run. Returns the call's status: the method's, or
  // INVALID_ARGUMENT when the trailing metadata it added breaks a rule (then none is sent).
  static absl::Status Reply(absl::Status status, const ServerCall& server_call,
                            std::shared_ptr<ServerContext> context, GrpcReply* reply) {
    if (!context->trailing_metadata().empty()) {
      absl::Status trailing =
          CheckMetadata(context->trailing_metadata(), "the method's trailing metadata");
      if (trailing.ok()) {
        reply->trailing_metadata = ServerContextAccess::TakeTrailingMetadata(*context);
      } else {
        status = std::move(trailing);
      }
    }
    if (status.ok() && server_call.has_response()) {
      const std::string& response = server_call.response_bytes();
      reply->Set(grpc_internal::FrameMessage::Of(
                     std::as_bytes(std::span(response.data(), response.size()))),
                 std::as_const(context->response_attachment()).data());
    }
    reply->after_reply = [context = std::move(context)] {
      ServerContextAccess::RunAfterReply(*context);
    };
    return status;
  }

  // The method id of `path`, if it names an rpc of the service (of any service of a
  // ServiceSet, whose name is its first service's).
  absl::StatusOr<uint32_t> Resolve(absl::string_view path) const {
    if (const Method* method = service_->FindMethod(path); method != nullptr) return method->id;
    const std::optional<MethodPath> parts = ParseMethodPath(path);
    if (!parts.has_value() || parts->service != service_->service_name()) {
      return absl::UnimplementedError(absl::StrCat("this server serves ", service_->service_name(),
                                                   ", not \"", path.substr(0, 200), "\""));
    }
    if (service_->methods().empty()) return MethodIdOfPath(path);  // Dispatch() decides
    return absl::UnimplementedError(
        absl::StrCat(service_->service_name(), " has no method ", parts->method.substr(0, 200)));
  }

  Service* service_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<GrpcServer>> ServeGrpc(Service* service,
                                                      const GrpcServerOptions& options) {
  return GrpcServer::Start(std::make_unique<ServiceCallHandler>(service), options);
}

}  // namespace syslink::rpc
