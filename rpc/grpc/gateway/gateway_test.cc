// syslink-gateway as users run it: syslinkd, a syslink service and the gateway, each a
// process of its own; callers are grpc_cpp_plugin's client (stock_interop_client) and a
// syslink stub over a GrpcChannel.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc/grpc/grpc_channel.h"
#include "rpc/grpc/testdata/interop.syslink.h"
#include "rpc/grpc/testing/program.h"
#include "rpc/grpc/testing/served_interop.h"
#include "rpc/method_id.h"
#include "syslink/broker/client.h"
#include "tests/support/broker_process.h"

namespace syslink::rpc {
namespace {

using ::syslink::grpc_testing::Program;
using ::syslink::grpc_testing::TextOf;
using ::syslink::interop::InteropStub;
using ::syslink::interop::Text;
using ::syslink::testing::BrokerProcess;
using ::syslink::testing::ScratchDirectory;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kGateway[] = "rpc/grpc/gateway/syslink-gateway";
constexpr char kService[] = "rpc/grpc/syslink_interop_server";
constexpr char kStockClient[] = "rpc/grpc/stock_interop_client";
constexpr char kInterop[] = "syslink.interop.Interop";
constexpr absl::Duration kTimeout = absl::Seconds(20);

std::string TestFile(const std::string& name) { return "rpc/grpc/testdata/" + name; }

class GatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<BrokerProcess>> broker =
        BrokerProcess::Start(directory_.SocketPath());
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = *std::move(broker);
    StartService();
  }

  void StartService() {
    service_.emplace(Program::Start(kService, {"--broker-socket", directory_.SocketPath()}));
    absl::StatusOr<std::string> ready = service_->WaitForLine("ready", kTimeout);
    ASSERT_TRUE(ready.ok()) << ready.status();
  }

  // Starts the gateway exposing the interop service with `flags` more; returns its address.
  std::string StartGateway(std::vector<std::string> flags = {}) {
    std::vector<std::string> args = {"--broker-socket", directory_.SocketPath(), "--expose",
                                     kInterop};
    args.insert(args.end(), flags.begin(), flags.end());
    gateway_.emplace(Program::Start(kGateway, args));
    absl::StatusOr<std::string> address = gateway_->WaitForLine("listening on ", kTimeout);
    EXPECT_TRUE(address.ok()) << address.status();
    address_ = address.ok() ? *address : "";
    stub_ =
        std::make_unique<InteropStub>(std::make_shared<GrpcChannel>(CreateGrpcChannel(address_)));
    return address_;
  }

  // One call of the stock client to the gateway; its line of output.
  std::string StockCall(const std::string& method, std::vector<std::string> flags = {}) {
    return grpc_testing::StockCall(address_, method, std::move(flags));
  }

  void TearDown() override {
    if (gateway_.has_value()) gateway_->process().Kill(SIGTERM);
    gateway_.reset();
    if (service_.has_value()) service_->CloseInput();
    service_.reset();
  }

  ScratchDirectory directory_{"gw"};
  std::unique_ptr<BrokerProcess> broker_;
  std::optional<Program> service_;
  std::optional<Program> gateway_;
  std::string address_;
  std::unique_ptr<InteropStub> stub_;
};

TEST_F(GatewayTest, PrintsTheAddressItBound) {
  EXPECT_THAT(StartGateway(), StartsWith("127.0.0.1:"));
  EXPECT_NE(address_, "127.0.0.1:0");
}

TEST_F(GatewayTest, AStockGrpcClientCallsALocalService) {
  StartGateway();
  EXPECT_EQ(StockCall("Echo", {"--text=through the gateway"}),
            "code=0 text=through the gateway message=");
}

// A method id is a 31-bit hash of the method's name: "Dryjdwt" was searched for (in about
// a second) so that /syslink.interop.Interop/Dryjdwt hashes to grpc.health.v1.Health's
// Check, which the service's server also answers but the gateway does not expose. The
// gateway sends the path with the call, and the server refuses an id that is not its.
TEST_F(GatewayTest, APathHashingToAnotherServicesMethodIsRefused) {
  static_assert(MethodIdOfPath("/syslink.interop.Interop/Dryjdwt") ==
                MethodIdOfPath("/grpc.health.v1.Health/Check"));
  StartGateway();
  EXPECT_THAT(StockCall("Dryjdwt", {std::string("--service=") + kInterop}), StartsWith("code=12 "));
  EXPECT_EQ(StockCall("Echo", {"--text=still served"}), "code=0 text=still served message=");
}

// A request larger than --max-message is refused before it is read whole (a stranger
// cannot make the gateway hold gRPC's 64 MiB per queued call); one within it goes through.
TEST_F(GatewayTest, ARequestLargerThanMaxMessageIsRefused) {
  StartGateway({"--max-message=65536"});
  absl::StatusOr<Text> large = stub_->Echo(TextOf(std::string(100000, 'x')));
  EXPECT_EQ(large.status().code(), absl::StatusCode::kResourceExhausted) << large.status();
  EXPECT_THAT(std::string(large.status().message()), HasSubstr("larger than max"));
  absl::StatusOr<Text> small = stub_->Echo(TextOf(std::string(60000, 'x')));
  ASSERT_TRUE(small.ok()) << small.status();
  EXPECT_EQ(small->text().size(), 60000u);
}

TEST_F(GatewayTest, TheServicesStatusReachesTheRemoteCaller) {
  StartGateway();
  EXPECT_EQ(StockCall("Fail", {"--text=precondition", "--code=9"}),
            "code=9 text= message=precondition");
}

TEST_F(GatewayTest, TheRemoteDeadlineReachesTheService) {
  StartGateway();
  EXPECT_THAT(StockCall("Hold", {"--timeout_ms=300"}), StartsWith("code=4 "));
  EXPECT_TRUE(service_->WaitForLine("held cancelled", kTimeout).ok());
}

TEST_F(GatewayTest, TheRemoteCancellationReachesTheService) {
  StartGateway();
  Program client = Program::Start(kStockClient,
                                  {"--target=" + address_, "--method=Hold", "--cancel_on_input=1"});
  ASSERT_TRUE(service_->WaitForLine("holding", kTimeout).ok());
  client.Write("x");
  absl::StatusOr<std::string> line = client.ReadLine(kTimeout);
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_THAT(*line, StartsWith("code=1 "));
  EXPECT_TRUE(service_->WaitForLine("held cancelled", kTimeout).ok());
}

TEST_F(GatewayTest, ASyslinkStubCarriesAnAttachmentThroughIt) {
  StartGateway();
  std::vector<std::byte> bulk(128 << 10);
  for (size_t i = 0; i < bulk.size(); ++i) bulk[i] = static_cast<std::byte>(i * 13 + 1);
  ClientContext context;
  context.set_request_attachment(Attachment::FromBytes(bulk));
  Text response;
  ASSERT_TRUE(stub_->Reverse(TextOf("r"), &response, &context).ok());
  EXPECT_EQ(response.text(), "reversed 131072");
  std::span<const std::byte> out = std::as_const(context.response_attachment()).data();
  ASSERT_EQ(out.size(), bulk.size());
  for (size_t i = 0; i < bulk.size(); ++i) ASSERT_EQ(out[i], bulk[bulk.size() - 1 - i]) << i;
}

TEST_F(GatewayTest, AServiceNotExposedIsNotFoundNamingIt) {
  StartGateway();
  const std::string line = StockCall("Echo", {"--service=other.Secret"});
  EXPECT_THAT(line, StartsWith("code=5 "));
  EXPECT_THAT(line, HasSubstr("\"other.Secret\""));
}

TEST_F(GatewayTest, NothingIsExposedByDefault) {
  gateway_.emplace(Program::Start(kGateway, {"--broker-socket", directory_.SocketPath()}));
  absl::StatusOr<std::string> address = gateway_->WaitForLine("listening on ", kTimeout);
  ASSERT_TRUE(address.ok());
  address_ = *address;
  EXPECT_THAT(StockCall("Echo"), StartsWith("code=5 "));
}

TEST_F(GatewayTest, GarbageOnItsPortDisturbsNoOtherCaller) {
  StartGateway();
  const std::vector<std::string> host_port = absl::StrSplit(address_, ':');
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(std::stoi(host_port[1])));
  inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  const int garbage = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_EQ(connect(garbage, reinterpret_cast<sockaddr*>(&to), sizeof(to)), 0);
  std::string noise(64 << 10, '\0');
  for (size_t i = 0; i < noise.size(); ++i) noise[i] = static_cast<char>(i * 2654435761u >> 13);
  ASSERT_GT(send(garbage, noise.data(), noise.size(), MSG_NOSIGNAL), 0);
  // Other callers, while the garbage connection is still open:
  EXPECT_EQ(StockCall("Echo", {"--text=still here"}), "code=0 text=still here message=");
  absl::StatusOr<Text> response = stub_->Echo(TextOf("me too"));
  ASSERT_TRUE(response.ok()) << response.status();
  // The gateway closed the garbage connection (a read sees its end, not a hang).
  timeval wait{.tv_sec = 10, .tv_usec = 0};
  setsockopt(garbage, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait));
  char buffer[4096];
  ssize_t n;
  while ((n = recv(garbage, buffer, sizeof(buffer), 0)) > 0) {
  }
  EXPECT_TRUE(n == 0 || errno == ECONNRESET) << "recv: " << n << " errno " << errno;
  close(garbage);
}

TEST_F(GatewayTest, AServiceDyingMidCallGivesUnavailableAtOnce) {
  StartGateway();
  ClientContext context;
  context.set_timeout(absl::Seconds(60));
  Text response;
  absl::Status status;
  absl::Time ended;
  std::thread caller([&] {
    status = stub_->Hold(TextOf(""), &response, &context);
    ended = absl::Now();
  });
  ASSERT_TRUE(service_->WaitForLine("holding", kTimeout).ok());
  const absl::Time killed = absl::Now();
  service_->process().Kill(SIGKILL);
  caller.join();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_THAT(status.message(),
              HasSubstr("service syslink.interop.Interop: /syslink.interop.Interop/Hold: "
                        "PEER_DIED"));
  EXPECT_LT(ended - killed, absl::Seconds(5));  // not the 60 s deadline
}

// ---- Streams, relayed by path like calls ----

TEST_F(GatewayTest, ASyslinkStubStreamsFromALocalService) {
  StartGateway();
  ClientContext context;
  context.set_request_attachment(Attachment::FromBytes(std::as_bytes(std::span("bulk", 4))));
  auto reader = stub_->Count(TextOf("n", 200), &context);
  Text message;
  Attachment attachment;
  int expected = 0;
  while (reader->Read(&message, &attachment)) {
    ASSERT_EQ(message.text(), absl::StrCat("n ", expected));
    ASSERT_EQ(attachment.size(), 4u);
    ++expected;
  }
  EXPECT_EQ(expected, 200);
  EXPECT_TRUE(reader->Finish().ok());
}

TEST_F(GatewayTest, ASyslinkStubStreamsToALocalService) {
  StartGateway();
  ClientContext context;
  Text response;
  auto writer = stub_->Join(&response, &context);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(writer->Write(TextOf(absl::StrCat(i)),
                              Attachment::FromBytes(std::as_bytes(std::span("ab", 2)))));
  }
  EXPECT_TRUE(writer->WritesDone());
  ASSERT_TRUE(writer->Finish().ok());
  std::string expected;
  for (int i = 0; i < 100; ++i) absl::StrAppend(&expected, i == 0 ? "" : ",", i);
  EXPECT_EQ(response.text(), expected);
  EXPECT_EQ(context.response_attachment().size(), 200u);
}

TEST_F(GatewayTest, ASyslinkStubTalksToALocalBidiStream) {
  StartGateway();
  auto stream = stub_->Chat();
  std::thread writer([&] {
    for (int i = 0; i < 300; ++i) {
      if (!stream->Write(TextOf(absl::StrCat(i)))) return;
    }
    stream->WritesDone();
  });
  Text message;
  int expected = 0;
  while (stream->Read(&message)) {
    ASSERT_EQ(message.text(), absl::StrCat(expected));
    ++expected;
  }
  writer.join();
  EXPECT_EQ(expected, 300);
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(GatewayTest, AStreamsStatusReachesTheRemoteCaller) {
  StartGateway();
  Text response;
  auto writer = stub_->Join(&response);
  ASSERT_TRUE(writer->Write(TextOf("fine")));
  (void)writer->Write(TextOf("no such key", 5));
  writer->WritesDone();
  absl::Status status = writer->Finish();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "no such key");
}

TEST_F(GatewayTest, AStreamsDeadlineReachesTheService) {
  StartGateway();
  ClientContext context;
  context.set_timeout(absl::Milliseconds(500));
  auto reader = stub_->Count(TextOf("forever", -1), &context);
  Text message;
  while (reader->Read(&message)) {
  }
  EXPECT_EQ(reader->Finish().code(), absl::StatusCode::kDeadlineExceeded);
  // The service's stream ended too: a unary call to it still works.
  EXPECT_TRUE(stub_->Echo(TextOf("after")).ok());
}

TEST_F(GatewayTest, AStreamOfAServiceNotExposedIsNotFound) {
  GrpcChannel channel(CreateGrpcChannel(StartGateway()));
  static constexpr Method kOther{MethodIdOfPath("/other.Service/Chat"), "/other.Service/Chat",
                                 MethodKind::kBidiStreaming};
  std::unique_ptr<ClientStream> stream = channel.OpenStream(kOther, nullptr, nullptr, nullptr);
  absl::Status status = stream->Finish();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
  EXPECT_THAT(status.message(), HasSubstr("other.Service"));
}

TEST_F(GatewayTest, AServiceDyingMidStreamGivesUnavailableAtOnce) {
  StartGateway();
  ClientContext context;
  context.set_timeout(absl::Seconds(60));
  auto reader = stub_->Count(TextOf("forever", -1), &context);
  Text message;
  ASSERT_TRUE(reader->Read(&message));
  const absl::Time killed = absl::Now();
  service_->process().Kill(SIGKILL);
  while (reader->Read(&message)) {
  }
  absl::Status status = reader->Finish();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_THAT(status.message(), HasSubstr("service syslink.interop.Interop"));
  EXPECT_LT(absl::Now() - killed, absl::Seconds(5));  // not the 60 s deadline
}

TEST_F(GatewayTest, ItReconnectsWhenTheServiceReturns) {
  StartGateway();
  ASSERT_TRUE(stub_->Echo(TextOf("before")).ok());
  service_->process().Kill(SIGKILL);
  service_->process().Wait();
  absl::StatusOr<Text> while_down = stub_->Echo(TextOf("down"));
  EXPECT_EQ(while_down.status().code(), absl::StatusCode::kUnavailable);
  StartService();
  absl::StatusOr<Text> after = stub_->Echo(TextOf("after"));
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->text(), "after");
}

TEST_F(GatewayTest, TheServiceSeesTheGatewayAsItsCaller) {
  StartGateway();
  absl::StatusOr<Text> response = stub_->WhoCalls(TextOf(""));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->text(), "|");  // a link call: no network address reaches the service
  EXPECT_EQ(static_cast<uid_t>(response->code()), getuid());  // the gateway's uid
}

TEST_F(GatewayTest, TheBrokerListsTheGatewaysLinksLikeAnyClients) {
  StartGateway();
  ASSERT_TRUE(stub_->Echo(TextOf("")).ok());
  absl::StatusOr<broker::Listing> listing = broker::ListBroker(broker_->ConnectOptions());
  ASSERT_TRUE(listing.ok()) << listing.status();
  bool found = false;
  for (const broker::LinkListing& link : listing->links) {
    found |= link.service == kInterop && link.client.pid == gateway_->process().pid();
  }
  EXPECT_TRUE(found) << "no link of the gateway (pid " << gateway_->process().pid() << ")";
}

TEST_F(GatewayTest, MutualTlsLetsInOnlyClientsWithACertificate) {
  StartGateway({"--tls-cert", TestFile("server.pem"), "--tls-key", TestFile("server.key"),
                "--tls-client-ca", TestFile("ca.pem")});
  const std::vector<std::string> ca = {"--ca=" + TestFile("ca.pem")};
  EXPECT_EQ(
      StockCall("Echo", {"--text=mtls", "--ca=" + TestFile("ca.pem"),
                         "--cert=" + TestFile("client.pem"), "--key=" + TestFile("client.key")}),
      "code=0 text=mtls message=");
  EXPECT_THAT(StockCall("Echo", {"--text=no cert", "--ca=" + TestFile("ca.pem")}),
              StartsWith("code=14 "));
  EXPECT_THAT(StockCall("Echo", {"--text=plaintext"}), StartsWith("code=14 "));
}

TEST(GatewayUsageTest, HelpSaysHowToExposeAService) {
  Program gateway = Program::Start(kGateway, {"--help"});
  const std::string help = gateway.ReadAll(kTimeout);
  EXPECT_THAT(help, HasSubstr("--expose SERVICE[=NAME]"));
  EXPECT_THAT(help, HasSubstr("--listen"));
  EXPECT_THAT(help, HasSubstr("--tls-client-ca"));
  EXPECT_EQ(gateway.process().Wait(), ::syslink::testing::ChildProcess::Exited(0));
}

TEST(GatewayUsageTest, AnUnknownFlagIsRefused) {
  Program gateway = Program::Start(kGateway, {"--bogus", "1"});
  EXPECT_EQ(gateway.process().Wait(), ::syslink::testing::ChildProcess::Exited(2));
}

}  // namespace
}  // namespace syslink::rpc
