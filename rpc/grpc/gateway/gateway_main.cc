// syslink-gateway: exposes chosen local syslink services to gRPC callers on the network.
// See kGatewayUsage (gateway_flags.cc), `syslink-gateway --help` or docs/grpc.md.

#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "rpc/grpc/gateway/gateway_flags.h"
#include "rpc/grpc/gateway/local_forwarder.h"
#include "rpc/grpc/grpc_server.h"
#include "rpc/grpc/tls_files.h"
#include "rpc/stop_signals.h"

namespace syslink::rpc {
namespace {

int Run(const GatewayFlags& flags, StopSignals& stop) {
  GrpcServerOptions server_options{.listen = flags.listen,
                                   .workers = flags.workers,
                                   .max_queued_calls = flags.max_queued,
                                   .max_streams = flags.max_streams,
                                   .max_receive_message_bytes = flags.max_message};
  if (!flags.tls_cert.empty()) {
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials = ServerTlsCredentials(
        {.cert_file = flags.tls_cert, .key_file = flags.tls_key, .ca_file = flags.tls_client_ca});
    if (!credentials.ok()) {
      std::fprintf(stderr, "syslink-gateway: %s\n", credentials.status().ToString().c_str());
      return 2;
    }
    server_options.credentials = *credentials;
  }
  LocalForwarderOptions forwarder_options{.exposed = flags.exposed};
  forwarder_options.broker.socket_path = flags.broker_socket;
  LocalForwarder forwarder(forwarder_options);
  absl::StatusOr<std::unique_ptr<GrpcServer>> server =
      GrpcServer::Start(&forwarder, server_options);
  if (!server.ok()) {
    std::fprintf(stderr, "syslink-gateway: %s\n", server.status().ToString().c_str());
    return 1;
  }
  for (size_t i = 0; i < flags.listen.size(); ++i) {
    std::printf("listening on %s\n", BoundAddress(flags.listen[i], (*server)->ports()[i]).c_str());
  }
  if (flags.exposed.empty()) {
    std::fprintf(stderr, "syslink-gateway: no --expose: every call gets NOT_FOUND\n");
  }
  std::fflush(stdout);

  stop.Wait();
  (*server)->Shutdown(absl::Seconds(1));
  return 0;
}

}  // namespace
}  // namespace syslink::rpc

int main(int argc, char** argv) {
  syslink::rpc::StopSignals stop;  // before any thread starts

  absl::StatusOr<syslink::rpc::GatewayFlags> flags =
      syslink::rpc::ParseGatewayFlags(std::vector<std::string>(argv + 1, argv + argc));
  if (!flags.ok()) {
    std::fprintf(stderr, "syslink-gateway: %s\n", std::string(flags.status().message()).c_str());
    return 2;
  }
  if (flags->help) {
    std::fputs(syslink::rpc::kGatewayUsage, stdout);
    return 0;
  }
  return syslink::rpc::Run(*flags, stop);
}
