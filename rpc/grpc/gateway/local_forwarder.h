// LocalForwarder: the GrpcCallHandler of syslink-gateway. It relays each gRPC call to a
// local service found by name through the broker, as bytes, by method path: no code and
// no .proto per service.
//
//   LocalForwarder forwarder({.exposed = {{"kv.Store", "kv.Store"}}});
//   auto server = GrpcServer::Start(&forwarder, {.listen = {"0.0.0.0:50051"}});
//
// A call to "/kv.Store/Get" goes to the service the broker names "kv.Store" (or the name
// `exposed` maps it to), as a link call with method id MethodIdOfPath(path), the request's
// bytes, deadline and attachment; the reply's status, bytes and attachment go back. The
// local service sees the gateway's process as its caller (its uid, attested by the
// broker), never the remote one's: docs/grpc.md says what that means for access.
//
// Metadata (rpc/metadata.h): the caller's entries that follow syslink's rules
// (GrpcServerCall::client_metadata(): not grpc-*, not syslink-*; a stock client's
// "user-agent" among them) are the link call's metadata, and the service's trailing
// metadata is the gRPC call's, whatever the status; for a stream, at its end. Caller's
// metadata over kMaxMetadataBytes fails the call with INVALID_ARGUMENT, unsent.
//
// A streaming call (one whose caller names its kind, as GrpcChannel does) is relayed the
// same way, as a stream over the link (LinkChannel::OpenStream): the caller's messages go
// to the service as they come, the service's to the caller, each with its attachment;
// the service's final status and trailing metadata end the gRPC call.
//
// Outcomes, beside the service's own:
//   - NOT_FOUND naming the service: it is not exposed (nothing is by default);
//   - UNIMPLEMENTED: the path is not "/<service>/<method>";
//   - UNAVAILABLE: the service is not running (not registered with the broker, or no
//     broker), or it died or closed its link during the call or stream (at once, not at
//     the deadline: "service <name>: <method path>: PEER_DIED: ..."). The next call
//     connects again, so a restarted service is found;
//   - PERMISSION_DENIED: the service's access policy refuses the gateway's user;
//   - DEADLINE_EXCEEDED / CANCELLED: the remote caller's deadline or cancellation, passed on
//     to the local call.
//
// Thread safety: Handle() and HandleStream() run on many threads at once; each call and
// each stream uses a link of its own,
// taken from a pool of idle links per service. Ownership: owns its links.

#ifndef SYSLINK_RPC_GRPC_GATEWAY_LOCAL_FORWARDER_H_
#define SYSLINK_RPC_GRPC_GATEWAY_LOCAL_FORWARDER_H_

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "rpc/grpc/grpc_server.h"
#include "rpc/link_channel.h"
#include "syslink/broker/client.h"

namespace syslink::rpc {

struct LocalForwarderOptions {
  // gRPC service name ("pkg.Service", as in the method path) -> broker name of the local
  // service that answers it.
  std::map<std::string, std::string> exposed;
  // How to reach the broker; the gateway does not start one (a service that runs has one).
  broker::BrokerConnectOptions broker = {.start_broker = false, .timeout = absl::Seconds(5)};
  // Idle links kept per service.
  size_t max_idle_links = 32;
};

class LocalForwarder final : public GrpcCallHandler {
 public:
  explicit LocalForwarder(LocalForwarderOptions options);

  absl::Status Handle(GrpcServerCall& call, GrpcReply* reply) override;
  // A stream is relayed when its caller names the kind (kMethodKindKey, message_frame.h):
  // GrpcChannel does; a caller that does not is taken to call a unary rpc.
  MethodKind KindOf(absl::string_view path, std::optional<MethodKind> announced) override;
  absl::Status HandleStream(GrpcServerCall& call, GrpcServerStream& stream,
                            GrpcReply* reply) override;

  // Idle links kept to `service` (a gRPC service name), for tests.
  size_t idle_links(const std::string& service) const;

 private:
  // The exposed service `path` names, and the broker name of the local one.
  absl::StatusOr<std::pair<std::string, std::string>> Resolve(absl::string_view path) const;
  // A link to the local service `broker_name`: an idle one, or a new one.
  absl::StatusOr<std::unique_ptr<LinkChannel>> TakeLink(const std::string& service,
                                                        const std::string& broker_name);
  // Keeps `link` for the next call to `service`, if it is still open.
  void ReturnLink(const std::string& service, std::unique_ptr<LinkChannel> link);

  const LocalForwarderOptions options_;  // set by the constructor
  mutable absl::Mutex mutex_;
  std::map<std::string, std::vector<std::unique_ptr<LinkChannel>>> idle_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace syslink::rpc

#endif  // SYSLINK_RPC_GRPC_GATEWAY_LOCAL_FORWARDER_H_
