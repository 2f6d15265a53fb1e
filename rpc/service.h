// Service and ServerCall: what generated server code implements and uses.
//
// A generated service base class derives from Service: Dispatch() maps a method id to the
// virtual method, parsing the request and serializing the response through ServerCall.
// A Server (server.h), an InProcessChannel or a gRPC server (rpc/grpc/grpc_server.h) calls
// Dispatch() for each request. methods() lists the service's rpcs (method.h), for a
// transport that addresses them by path or must know their kind.
//
// Thread safety: a Service's methods may be called from several threads at once (a
// server's worker pool); implementations synchronize their own state.

#ifndef SYSLINK_RPC_SERVICE_H_
#define SYSLINK_RPC_SERVICE_H_

#include <cstdint>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message_lite.h"
#include "rpc/context.h"
#include "rpc/method.h"
#include "rpc/method_id.h"
#include "rpc/stream.h"

namespace syslink::rpc {

// Sends a response as soon as it is set: over a link, serialized straight into ring space.
class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;
  virtual void Write(const google::protobuf::MessageLite& response) = 0;
  // The same for a response serialized already.
  virtual void WriteSerialized(std::span<const std::byte> response) = 0;
};

// One call being served: the request's bytes, the context, and where the response goes.
class ServerCall {
 public:
  // With a `writer`, SetResponse() hands the response to it at once; without one, the
  // response is kept serialized in response_bytes().
  ServerCall(uint32_t method_id, std::span<const std::byte> request, ServerContext* context,
             ResponseWriter* writer = nullptr)
      : method_id_(method_id), request_(request), context_(context), writer_(writer) {}

  uint32_t method_id() const { return method_id_; }
  ServerContext& context() { return *context_; }
  // The request's bytes, serialized; valid for the call.
  std::span<const std::byte> request() const { return request_; }

  // A streaming method's stream (stream.h); null for a unary call. The transport sets it
  // before Dispatch(); generated code answers FAILED_PRECONDITION when a streaming method
  // comes without one.
  ServerStream* stream() const { return stream_; }
  void set_stream(ServerStream* stream) { stream_ = stream; }

  // Parses the request into `message`. INVALID_ARGUMENT (naming the method and the type)
  // when the bytes are not a valid `message`.
  [[nodiscard]] absl::Status ParseRequest(google::protobuf::MessageLite* message) const;
  // The same, the error naming `method` by its path (what generated code calls).
  [[nodiscard]] absl::Status ParseRequest(google::protobuf::MessageLite* message,
                                          const Method& method) const;

  // The method's response (called by generated code when the method returns OK).
  void SetResponse(const google::protobuf::MessageLite& message);
  // The same for a response serialized already (a call that relays another's response).
  void SetSerializedResponse(std::span<const std::byte> bytes);
  bool has_response() const { return has_response_; }
  const std::string& response_bytes() const { return response_; }

 private:
  uint32_t method_id_;
  std::span<const std::byte> request_;
  ServerContext* context_;
  ResponseWriter* writer_;
  ServerStream* stream_ = nullptr;
  bool has_response_ = false;
  std::string response_;
};

// What generated code answers when a streaming method is called without a stream (a
// unary call of it, or a transport that carries no streams).
absl::Status NotAStream(const Method& method);

class Service {
 public:
  virtual ~Service() = default;

  // The service's full protobuf name, e.g. "echo.EchoService".
  virtual absl::string_view service_name() const = 0;

  // Every rpc of the service, in .proto order (generated code lists them). Empty for a
  // hand-written service that does not say: a transport then lets Dispatch() decide.
  virtual std::span<const Method> methods() const { return {}; }

  // The rpc of this service at `path` ("/package.Service/Method"), or null.
  const Method* FindMethod(absl::string_view path) const;

  // Whether a call of `method_id` may be served as the rpc at `path`: the listed rpc at
  // `path` has that id; or no listed rpc is at `path`, the id is the path's hash, and no
  // listed rpc has it (a hand-written service's own rpc). False whenever the id is another
  // rpc's than the path's, which a path hashing to that rpc's id would otherwise reach.
  bool MethodIdIsPath(uint32_t method_id, absl::string_view path) const;

  // Serves `call`. UNIMPLEMENTED for an unknown method id; INVALID_ARGUMENT for a request
  // that does not parse; otherwise the method's own status.
  [[nodiscard]] virtual absl::Status Dispatch(ServerCall& call) = 0;
};

// service.Dispatch(call), as the transports call it: an exception the method throws ends
// the call with UNKNOWN naming it (as a gRPC server answers one) instead of the process, and
// the server goes on serving.
[[nodiscard]] absl::Status DispatchCatching(Service& service, ServerCall& call);

}  // namespace syslink::rpc

#endif  // SYSLINK_RPC_SERVICE_H_
