#include "rpc/grpc/testing/served_interop.h"

#include <signal.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "rpc/grpc/serve_grpc.h"

namespace syslink::grpc_testing {

namespace {

constexpr char kGateway[] = "rpc/grpc/gateway/syslink-gateway";
constexpr char kService[] = "rpc/grpc/syslink_interop_server";
constexpr char kInterop[] = "syslink.interop.Interop";
constexpr char kStockClient[] = "rpc/grpc/stock_interop_client";
constexpr absl::Duration kStockClientTimeout = absl::Seconds(20);

}  // namespace

interop::Text TextOf(const std::string& text, int code) {
  interop::Text message;
  message.set_text(text);
  message.set_code(code);
  return message;
}

absl::StatusOr<std::unique_ptr<ServedInterop>> ServedInterop::Start() {
  std::unique_ptr<ServedInterop> served(new ServedInterop());
  absl::StatusOr<std::unique_ptr<rpc::GrpcServer>> server = rpc::ServeGrpc(&served->service_);
  if (!server.ok()) return server.status();
  served->server_ = *std::move(server);
  served->channel_ = std::make_shared<rpc::GrpcChannel>(
      rpc::CreateGrpcChannel(absl::StrCat("127.0.0.1:", served->server_->port())));
  return served;
}

absl::StatusOr<std::unique_ptr<GatewayedInterop>> GatewayedInterop::Start(
    const std::vector<std::string>& gateway_flags) {
  std::unique_ptr<GatewayedInterop> gatewayed(new GatewayedInterop());
  const std::string socket = gatewayed->directory_.SocketPath();
  absl::StatusOr<std::unique_ptr<testing::BrokerProcess>> broker =
      testing::BrokerProcess::Start(socket);
  if (!broker.ok()) return broker.status();
  gatewayed->broker_ = *std::move(broker);

  gatewayed->service_.emplace(Program::Start(kService, {"--broker-socket", socket}));
  absl::StatusOr<std::string> ready = gatewayed->service_->WaitForLine("ready", kStartTimeout);
  if (!ready.ok()) return ready.status();

  std::vector<std::string> args = {"--broker-socket", socket, "--expose", kInterop};
  args.insert(args.end(), gateway_flags.begin(), gateway_flags.end());
  gatewayed->gateway_.emplace(Program::Start(kGateway, args));
  absl::StatusOr<std::string> address =
      gatewayed->gateway_->WaitForLine("listening on ", kStartTimeout);
  if (!address.ok()) return address.status();
  gatewayed->address_ = *address;
  gatewayed->channel_ =
      std::make_shared<rpc::GrpcChannel>(rpc::CreateGrpcChannel(gatewayed->address_));
  return gatewayed;
}

GatewayedInterop::~GatewayedInterop() {
  channel_.reset();
  if (gateway_.has_value()) gateway_->process().Kill(SIGTERM);
  gateway_.reset();
  if (service_.has_value()) service_->CloseInput();
  service_.reset();
}

std::string StockCall(const std::string& target, const std::string& method,
                      std::vector<std::string> flags, bool show_metadata) {
  flags.push_back("--target=" + target);
  flags.push_back("--method=" + method);
  if (show_metadata) flags.push_back("--show_metadata=1");
  Program client = Program::Start(kStockClient, flags);
  absl::StatusOr<std::string> line = client.ReadLine(kStockClientTimeout);
  if (!line.ok()) return line.status().ToString();
  if (!show_metadata) return *line;
  absl::StatusOr<std::string> metadata = client.ReadLine(kStockClientTimeout);
  return absl::StrCat(*line, "\n", metadata.ok() ? *metadata : metadata.status().ToString());
}

absl::StatusOr<std::unique_ptr<InteropEndpoint>> StartInterop(Transport transport) {
  switch (transport) {
    case Transport::kServeGrpc:
      return ServedInterop::Start();
    case Transport::kGateway:
      return GatewayedInterop::Start();
  }
  return absl::InvalidArgumentError("no such transport");
}

std::string TransportName(const ::testing::TestParamInfo<Transport>& info) {
  return info.param == Transport::kServeGrpc ? "ServeGrpc" : "Gateway";
}

}  // namespace syslink::grpc_testing
