// The interop service as rpc/grpc's tests call it over gRPC, two ways: served by ServeGrpc in
// the test's own process (ServedInterop), or by syslink_interop_server behind syslink-gateway
// (GatewayedInterop); and TextOf(), the request and message the tests send.
//
//   absl::StatusOr<std::unique_ptr<ServedInterop>> served = ServedInterop::Start();
//   ASSERT_TRUE(served.ok()) << served.status();
//   interop::InteropStub stub((*served)->channel());
//   absl::StatusOr<interop::Text> echoed = stub.Echo(TextOf("hi"));
//
// ServedInteropTest is a fixture with a ServedInterop and a stub. A suite that runs against
// both takes a Transport as its parameter and starts its InteropEndpoint with StartInterop().
//
// Errors: Start() returns what failed to start (a binary that did not print its line in
// time is DEADLINE_EXCEEDED). GatewayedInterop needs in the test's `data`
// //syslink/broker:syslinkd, //rpc/grpc:syslink_interop_server and
// //rpc/grpc/gateway:syslink-gateway.
//
// Thread safety: the channels may be used from any thread; the rest by one thread at a time.
// Lifetime: each object owns what it started and stops it when destroyed; stubs made on its
// channel must go first.

#ifndef SYSLINK_RPC_GRPC_TESTING_SERVED_INTEROP_H_
#define SYSLINK_RPC_GRPC_TESTING_SERVED_INTEROP_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "rpc/grpc/grpc_channel.h"
#include "rpc/grpc/grpc_server.h"
#include "rpc/grpc/testdata/interop.syslink.h"
#include "rpc/grpc/testing/interop_service.h"
#include "rpc/grpc/testing/program.h"
#include "tests/support/broker_process.h"

namespace syslink::grpc_testing {

// A Text of `text` and `code` (a status code for Fail, a count for Count).
interop::Text TextOf(const std::string& text, int code = 0);

// What a test of the interop service calls: a channel to it over gRPC.
class InteropEndpoint {
 public:
  virtual ~InteropEndpoint() = default;
  virtual const std::shared_ptr<rpc::GrpcChannel>& channel() const = 0;
};

// InteropService served by ServeGrpc in this process, and a GrpcChannel to it.
class ServedInterop final : public InteropEndpoint {
 public:
  static absl::StatusOr<std::unique_ptr<ServedInterop>> Start();

  interop::InteropService& service() { return service_; }
  rpc::GrpcServer& server() { return *server_; }
  const std::shared_ptr<rpc::GrpcChannel>& channel() const override { return channel_; }

 private:
  ServedInterop() = default;

  interop::InteropService service_;
  std::unique_ptr<rpc::GrpcServer> server_;
  std::shared_ptr<rpc::GrpcChannel> channel_;
};

// A fixture: a ServedInterop started before each test, and a stub on its channel.
class ServedInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<ServedInterop>> served = ServedInterop::Start();
    ASSERT_TRUE(served.ok()) << served.status();
    served_ = *std::move(served);
    stub_ = std::make_unique<interop::InteropStub>(served_->channel());
  }

  interop::InteropService& service() { return served_->service(); }
  rpc::GrpcServer& server() { return served_->server(); }
  const std::shared_ptr<rpc::GrpcChannel>& channel() const { return served_->channel(); }

  std::unique_ptr<ServedInterop> served_;
  std::unique_ptr<interop::InteropStub> stub_;
};

// syslinkd, syslink_interop_server and syslink-gateway exposing it, each a process of its
// own, and a GrpcChannel to the gateway.
class GatewayedInterop final : public InteropEndpoint {
 public:
  // How long each process may take to say it is ready.
  static constexpr absl::Duration kStartTimeout = absl::Seconds(20);

  // `gateway_flags` go to syslink-gateway after those that name the broker and expose the
  // service.
  static absl::StatusOr<std::unique_ptr<GatewayedInterop>> Start(
      const std::vector<std::string>& gateway_flags = {});
  // Stops the gateway (SIGTERM), then the service (its stdin closes), then the broker.
  ~GatewayedInterop() override;

  // Where the gateway listens ("127.0.0.1:port").
  const std::string& address() const { return address_; }
  Program& service() { return *service_; }
  Program& gateway() { return *gateway_; }
  const std::shared_ptr<rpc::GrpcChannel>& channel() const override { return channel_; }

 private:
  GatewayedInterop() = default;

  testing::ScratchDirectory directory_{"gwi"};
  std::unique_ptr<testing::BrokerProcess> broker_;
  std::optional<Program> service_;
  std::optional<Program> gateway_;
  std::string address_;
  std::shared_ptr<rpc::GrpcChannel> channel_;
};

// grpc_cpp_plugin's client (stock_interop_client, which the test's `data` must hold) calling
// `method` at `target` with `flags`: its line of output, which says how the call ended (or
// the error that came instead). With `show_metadata`, that line and the metadata line after
// it, joined by "\n".
std::string StockCall(const std::string& target, const std::string& method,
                      std::vector<std::string> flags = {}, bool show_metadata = false);

// How a suite's calls reach the interop service.
enum class Transport {
  kServeGrpc,  // ServedInterop
  kGateway,    // GatewayedInterop
};

// Starts the endpoint of `transport`.
absl::StatusOr<std::unique_ptr<InteropEndpoint>> StartInterop(Transport transport);

// Names the instances of a suite parameterized by Transport: "ServeGrpc", "Gateway".
std::string TransportName(const ::testing::TestParamInfo<Transport>& info);

}  // namespace syslink::grpc_testing

#endif  // SYSLINK_RPC_GRPC_TESTING_SERVED_INTEROP_H_
