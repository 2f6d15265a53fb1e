#include "rpc/grpc/gateway/local_forwarder.h"

#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "rpc/grpc/gateway/serialized_message.h"
#include "rpc/method.h"
#include "syslink/status.h"

namespace syslink::rpc {
namespace {

// At most this much of a caller's path is quoted back in an error.
constexpr size_t kQuoted = 200;

}  // namespace

LocalForwarder::LocalForwarder(LocalForwarderOptions options) : options_(std::move(options)) {}

size_t LocalForwarder::idle_links(const std::string& service) const {
  absl::MutexLock lock(&mutex_);
  auto it = idle_.find(service);
  return it == idle_.end() ? 0 : it->second.size();
}

absl::StatusOr<std::unique_ptr<LinkChannel>> LocalForwarder::TakeLink(
    const std::string& service, const std::string& broker_name) {
  {
    absl::MutexLock lock(&mutex_);
    std::vector<std::unique_ptr<LinkChannel>>& idle = idle_[service];
    while (!idle.empty()) {
      std::unique_ptr<LinkChannel> link = std::move(idle.back());
      idle.pop_back();
      if (link->status().ok()) return link;  // else: the service went away meanwhile
    }
  }
  absl::StatusOr<Link> link = broker::ConnectToService(broker_name, options_.broker);
  if (link.ok()) return std::make_unique<LinkChannel>(*std::move(link));
  if (absl::IsPermissionDenied(link.status())) return link.status();
  return absl::UnavailableError(
      absl::StrCat("service ", service, " is not running here: ", link.status().message()));
}

void LocalForwarder::ReturnLink(const std::string& service, std::unique_ptr<LinkChannel> link) {
  if (!link->status().ok()) return;
  absl::MutexLock lock(&mutex_);
  std::vector<std::unique_ptr<LinkChannel>>& idle = idle_[service];
  if (idle.size() < options_.max_idle_links) idle.push_back(std::move(link));
}

absl::StatusOr<std::pair<std::string, std::string>> LocalForwarder::Resolve(
    absl::string_view path) const {
  const std::optional<MethodPath> parts = ParseMethodPath(path);
  if (!parts.has_value()) {
    return absl::UnimplementedError(
        absl::StrCat("\"", path.substr(0, kQuoted), "\" is not a method path"));
  }
  const std::string service(parts->service);
  auto exposed = options_.exposed.find(service);
  if (exposed == options_.exposed.end()) {
    return absl::NotFoundError(
        absl::StrCat("this gateway exposes no service named \"", service.substr(0, kQuoted), "\""));
  }
  return std::make_pair(service, exposed->second);
}

absl::Status LocalForwarder::Handle(GrpcServerCall& call, GrpcReply* reply) {
  absl::StatusOr<std::pair<std::string, std::string>> names = Resolve(call.path());
  if (!names.ok()) return names.status();
  const std::string& service = names->first;
  absl::StatusOr<std::unique_ptr<LinkChannel>> link = TakeLink(service, names->second);
  if (!link.ok()) return link.status();

  ClientContext context;
  context.set_deadline(call.deadline());
  // The service checks that the id is the path's: no path hashing to another rpc's id
  // reaches an rpc this gateway does not expose.
  context.set_send_method_path(true);
  for (const auto& [key, value] : call.client_metadata()) context.AddMetadata(key, value);
  if (call.attachment_size() > 0) {
    // Into the link's arena when it fits there (lent without a copy), else plain memory
    // (the link then says whether it can carry it).
    absl::StatusOr<Attachment> attachment = (*link)->AllocateAttachment(call.attachment_size());
    if (!attachment.ok()) {
      attachment = Attachment::FromBytes({});
      attachment->resize(call.attachment_size());
    }
    call.CopyAttachment(attachment->data());
    context.set_request_attachment(*std::move(attachment));
  }
  const Method method{MethodIdOfPath(call.path()), call.path(), MethodKind::kUnary};
  const SerializedMessage request(call.frame(), call.message_size());
  SerializedMessage response;
  call.OnCancel([&context] { context.TryCancel(); });
  absl::Status status = (*link)->Call(method, request, &response, &context);
  call.OnCancel(nullptr);  // the context must not be touched from here on
  reply->trailing_metadata = context.GetServerTrailingMetadata();
  if (status.ok()) {
    reply->Set(std::move(response.mutable_bytes()),
               std::as_const(context.response_attachment()).data());
  } else if (IsPeerDied(status) || !(*link)->status().ok()) {
    // The service died or closed the link during the call (or a method of its own said a
    // peer died): UNAVAILABLE, and the next call connects anew.
    status = absl::UnavailableError(absl::StrCat("service ", service, ": ", status.message()));
    link->reset();
  }
  // The response attachment (a view of the service's arena) is given back before the link
  // is reused or dropped.
  context.response_attachment() = Attachment();
  if (*link != nullptr) ReturnLink(service, *std::move(link));
  return status;
}

MethodKind LocalForwarder::KindOf(absl::string_view, std::optional<MethodKind> announced) {
  return announced.value_or(MethodKind::kUnary);
}

absl::Status LocalForwarder::HandleStream(GrpcServerCall& call, GrpcServerStream& stream,
                                          GrpcReply* reply) {
  absl::StatusOr<std::pair<std::string, std::string>> names = Resolve(call.path());
  if (!names.ok()) return names.status();
  const std::string& service = names->first;
  const MethodKind kind = call.kind();
  const bool client_sends =
      kind == MethodKind::kClientStreaming || kind == MethodKind::kBidiStreaming;
  const bool service_sends =
      kind == MethodKind::kServerStreaming || kind == MethodKind::kBidiStreaming;

  ClientContext context;
  context.set_deadline(call.deadline());
  // The service checks that the id is the path's: no path hashing to another rpc's id
  // reaches an rpc this gateway does not expose.
  context.set_send_method_path(true);
  for (const auto& [key, value] : call.client_metadata()) context.AddMetadata(key, value);
  SerializedMessage request;
  if (kind == MethodKind::kServerStreaming) {
    Attachment attachment;
    if (!stream.ReadBytes(&request.mutable_bytes(), &attachment)) {
      return call.cancelled() ? absl::CancelledError("the caller gave up")
                              : absl::InvalidArgumentError(absl::StrCat(
                                    call.path().substr(0, kQuoted), ": no request came"));
    }
    context.set_request_attachment(std::move(attachment));
  }
  absl::StatusOr<std::unique_ptr<LinkChannel>> link = TakeLink(service, names->second);
  if (!link.ok()) return link.status();

  const Method method{MethodIdOfPath(call.path()), call.path(), kind};
  SerializedMessage response;
  call.OnCancel([&context] { context.TryCancel(); });
  std::unique_ptr<ClientStream> local =
      (*link)->OpenStream(method, kind == MethodKind::kServerStreaming ? &request : nullptr,
                          kind == MethodKind::kClientStreaming ? &response : nullptr, &context);
  // The caller's messages go to the service on a thread of their own, the service's to the
  // caller on this one: either side may wait for the other.
  std::thread to_service;
  if (client_sends) {
    to_service = std::thread([&stream, &local] {
      SerializedMessage message;
      Attachment attachment;
      while (stream.ReadBytes(&message.mutable_bytes(), &attachment)) {
        if (!local->Write(message, &attachment, /*wait=*/true).ok()) break;
        attachment = Attachment();
      }
      (void)local->WritesDone();
    });
  }
  if (service_sends) {
    SerializedMessage message;
    Attachment attachment;
    while (local->Read(&message, &attachment)) {
      // Written into the gRPC frame at once: the service's buffer goes back right after.
      const bool sent = stream.Write(message, std::move(attachment));
      attachment = Attachment();
      if (!sent) {
        context.TryCancel();  // the caller is gone
        break;
      }
    }
  }
  absl::Status status = local->Finish();
  stream.StopReading();  // the service is done: the caller's further messages go nowhere
  if (to_service.joinable()) to_service.join();
  call.OnCancel(nullptr);  // the context must not be touched from here on
  reply->trailing_metadata = context.GetServerTrailingMetadata();
  if (status.ok() && kind == MethodKind::kClientStreaming) {
    reply->Set(grpc_internal::FrameMessage::Of(
                   std::as_bytes(std::span(response.bytes().data(), response.bytes().size()))),
               std::as_const(context.response_attachment()).data());
  } else if (IsPeerDied(status) || !(*link)->status().ok()) {
    status = absl::UnavailableError(absl::StrCat("service ", service, ": ", status.message()));
  }
  context.response_attachment() = Attachment();
  local.reset();
  if ((*link)->status().ok()) ReturnLink(service, *std::move(link));
  return status;
}

}  // namespace syslink::rpc
