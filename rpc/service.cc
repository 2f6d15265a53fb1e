#include "rpc/service.h"

#include <exception>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace syslink::rpc {

absl::Status ServerCall::ParseRequest(google::protobuf::MessageLite* message) const {
  if (message->ParseFromArray(request_.data(), static_cast<int>(request_.size()))) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrFormat("the request for method %d (%d bytes) does not parse as %s", method_id_,
                      request_.size(), message->GetTypeName()));
}

absl::Status ServerCall::ParseRequest(google::protobuf::MessageLite* message,
                                      const Method& method) const {
  if (message->ParseFromArray(request_.data(), static_cast<int>(request_.size()))) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrFormat("the request of %s (%d bytes) does not parse as %s", method.path,
                      request_.size(), message->GetTypeName()));
}

absl::Status DispatchCatching(Service& service, ServerCall& call) {
  try {
    return service.Dispatch(call);
  } catch (const std::exception& e) {
    return absl::UnknownError(absl::StrCat("the method threw an exception: ", e.what()));
  } catch (...) {
    return absl::UnknownError("the method threw an exception");
  }
}

absl::Status NotAStream(const Method& method) {
  return absl::FailedPreconditionError(
      absl::StrCat(method.path, " streams, but was called as a unary rpc"));
}

const Method* Service::FindMethod(absl::string_view path) const {
  for (const Method& method : methods()) {
    if (method.path == path) return &method;
  }
  return nullptr;
}

bool Service::MethodIdIsPath(uint32_t method_id, absl::string_view path) const {
  if (const Method* method = FindMethod(path); method != nullptr) return method->id == method_id;
  if (MethodIdOfPath(path) != method_id) return false;
  for (const Method& method : methods()) {
    if (method.id == method_id) return false;
  }
  return true;
}

void ServerCall::SetResponse(const google::protobuf::MessageLite& message) {
  has_response_ = true;
  if (writer_ != nullptr) {
    writer_->Write(message);
  } else {
    message.SerializeToString(&response_);
  }
}

void ServerCall::SetSerializedResponse(std::span<const std::byte> bytes) {
  has_response_ = true;
  if (writer_ != nullptr) {
    writer_->WriteSerialized(bytes);
  } else {
    response_.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
}

}  // namespace syslink::rpc
