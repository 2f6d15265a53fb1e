// The command line of syslink-gateway (gateway_main.cc): what it parses into, and its
// --help text.
//
//   absl::StatusOr<GatewayFlags> flags = ParseGatewayFlags({"--expose", "kv.Store"});
//
// Thread safety: pure functions. Errors: INVALID_ARGUMENT naming the flag that is unknown,
// lacks its value, or has a bad one.

#ifndef SYSLINK_RPC_GRPC_GATEWAY_GATEWAY_FLAGS_H_
#define SYSLINK_RPC_GRPC_GATEWAY_GATEWAY_FLAGS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace syslink::rpc {

struct GatewayFlags {
  bool help = false;
  std::vector<std::string> listen;             // default {"127.0.0.1:0"}
  std::map<std::string, std::string> exposed;  // gRPC service name -> broker name
  std::string tls_cert, tls_key, tls_client_ca;
  int workers = 16;
  int max_queued = 1024;
  int max_streams = 256;
  int max_message = 4 << 20;  // bytes of one gRPC message the gateway reads
  std::string broker_socket;  // empty: the library's default
};

// The usage text --help prints.
extern const char kGatewayUsage[];

[[nodiscard]] absl::StatusOr<GatewayFlags> ParseGatewayFlags(const std::vector<std::string>& args);

// "host:port" with port 0 replaced by `port` (for printing what was bound).
std::string BoundAddress(const std::string& listen, int port);

}  // namespace syslink::rpc

#endif  // SYSLINK_RPC_GRPC_GATEWAY_GATEWAY_FLAGS_H_
