// GrpcChannel and ServeGrpc together: a syslink stub calling a syslink service over gRPC,
// in one process. (interop_test.cc puts grpc_cpp_plugin's code on the other side.)

#include "rpc/grpc/grpc_channel.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc/grpc/serve_grpc.h"
#include "rpc/grpc/testdata/interop.syslink.h"
#include "rpc/grpc/testing/served_interop.h"
#include "rpc/grpc/tls_files.h"
#include "tests/support/eventually.h"

namespace syslink::rpc {
namespace {

using ::syslink::grpc_testing::ServedInteropTest;
using ::syslink::grpc_testing::TextOf;
using ::syslink::interop::InteropService;
using ::syslink::interop::InteropStub;
using ::syslink::interop::Text;
using ::syslink::testing::Eventually;
using ::syslink::testing::Soon;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class GrpcChannelTest : public ServedInteropTest {};

TEST_F(GrpcChannelTest, SyncCallRoundTrips) {
  absl::StatusOr<Text> response = stub_->Echo(TextOf("over the network"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->text(), "over the network");
}

TEST_F(GrpcChannelTest, LargeMessageRoundTrips) {
  Text request = TextOf("big");
  request.set_blob(std::string(3 << 20, 'b'));
  absl::StatusOr<Text> response = stub_->Echo(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->blob(), request.blob());
}

TEST_F(GrpcChannelTest, AsyncCallsCompleteInDrain) {
  std::vector<Text> responses(8);
  std::vector<absl::Status> statuses(8, absl::UnknownError("not completed"));
  for (int i = 0; i < 8; ++i) {
    stub_->EchoAsync(TextOf(std::to_string(i)), &responses[i], nullptr,
                     [&statuses, i](absl::Status s) { statuses[i] = s; });
  }
  EXPECT_EQ(channel()->Drain(Soon()), 0u);
  for (int i = 0; i < 8; ++i) {
    EXPECT_TRUE(statuses[i].ok()) << statuses[i];
    EXPECT_EQ(responses[i].text(), std::to_string(i));
  }
}

TEST_F(GrpcChannelTest, EveryStatusCodeArrivesWithItsMessage) {
  for (int code = 1; code <= 16; ++code) {
    absl::StatusOr<Text> response = stub_->Fail(TextOf("code " + std::to_string(code), code));
    EXPECT_EQ(static_cast<int>(response.status().code()), code);
    EXPECT_EQ(response.status().message(), "code " + std::to_string(code));
  }
}

TEST_F(GrpcChannelTest, DeadlineGivesDeadlineExceededAndTheMethodSeesIt) {
  ClientContext context;
  context.set_timeout(absl::Milliseconds(100));
  Text response;
  EXPECT_EQ(stub_->Hold(TextOf("wait"), &response, &context).code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(Eventually([&] { return service().saw_cancelled.load() == 1; }));
}

// A deadline already over (absl::InfinitePast(), or any time before 1970) fails the call
// at once, as over a link, instead of reaching gRPC as no deadline.
TEST_F(GrpcChannelTest, ADeadlineLongPastFailsAtOnce) {
  for (absl::Time deadline : {absl::InfinitePast(), absl::UnixEpoch() - absl::Hours(1)}) {
    ClientContext context;
    context.set_deadline(deadline);
    Text response;
    EXPECT_EQ(stub_->Hold(TextOf("wait"), &response, &context).code(),
              absl::StatusCode::kDeadlineExceeded);
  }
}

TEST_F(GrpcChannelTest, TryCancelCancelsASyncCall) {
  ClientContext context;
  Text response;
  absl::Status status;
  std::thread caller([&] { status = stub_->Hold(TextOf("wait"), &response, &context); });
  ASSERT_TRUE(Eventually([&] { return service().holding.load() == 1; }));
  context.TryCancel();
  caller.join();
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
  EXPECT_TRUE(Eventually([&] { return service().saw_cancelled.load() == 1; }));
}

TEST_F(GrpcChannelTest, TryCancelCancelsAnAsyncCall) {
  ClientContext context;
  Text response;
  absl::Status status = absl::UnknownError("not completed");
  stub_->HoldAsync(TextOf("wait"), &response, &context, [&](absl::Status s) { status = s; });
  ASSERT_TRUE(Eventually([&] { return service().holding.load() == 1; }));
  context.TryCancel();
  EXPECT_EQ(channel()->Drain(Soon()), 0u);
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
}

TEST_F(GrpcChannelTest, AttachmentsTravelBothWays) {
  absl::StatusOr<Attachment> bulk = channel()->AllocateAttachment(128 << 10);
  ASSERT_TRUE(bulk.ok());
  for (size_t i = 0; i < bulk->size(); ++i) bulk->data()[i] = static_cast<std::byte>(i * 7);
  ClientContext context;
  context.set_request_attachment(*std::move(bulk));
  Text response;
  ASSERT_TRUE(stub_->Reverse(TextOf("r"), &response, &context).ok());
  EXPECT_EQ(response.text(), "reversed 131072");
  std::span<const std::byte> in = std::as_const(context.request_attachment()).data();
  std::span<const std::byte> out = std::as_const(context.response_attachment()).data();
  ASSERT_EQ(in.size(), 128u << 10);
  ASSERT_EQ(out.size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) ASSERT_EQ(out[i], in[in.size() - 1 - i]) << i;
}

TEST_F(GrpcChannelTest, TheMethodSeesTheCallersAddressAndNoLocalUid) {
  absl::StatusOr<Text> response = stub_->WhoCalls(TextOf(""));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_THAT(response->text(), StartsWith("ipv4:127.0.0.1:"));
  EXPECT_THAT(response->text(), ::testing::EndsWith("|"));  // no TLS: no subject
  EXPECT_EQ(static_cast<uid_t>(response->code()), kNoUid);
}

TEST_F(GrpcChannelTest, AnUnknownMethodIsUnimplementedNamingIt) {
  constexpr Method kMissing{MethodIdOfPath("/syslink.interop.Interop/Missing"),
                            "/syslink.interop.Interop/Missing", MethodKind::kUnary};
  Text response;
  absl::Status status = channel()->Call(kMissing, TextOf(""), &response, nullptr);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(status.message(), HasSubstr("has no method Missing"));
}

TEST_F(GrpcChannelTest, AnotherServiceIsUnimplementedNamingIt) {
  constexpr Method kOther{MethodIdOfPath("/other.Service/Echo"), "/other.Service/Echo",
                          MethodKind::kUnary};
  Text response;
  absl::Status status = channel()->Call(kOther, TextOf(""), &response, nullptr);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(status.message(), HasSubstr("serves syslink.interop.Interop"));
}

TEST(GrpcChannelNoServerTest, NoServerGivesUnavailableAtOnce) {
  // A port just bound and released: nobody listens there.
  InteropService service;
  absl::StatusOr<std::unique_ptr<GrpcServer>> server = ServeGrpc(&service);
  ASSERT_TRUE(server.ok());
  const int port = (*server)->port();
  (*server)->Shutdown(absl::ZeroDuration());
  InteropStub stub(
      std::make_shared<GrpcChannel>(CreateGrpcChannel(absl::StrCat("127.0.0.1:", port))));
  const absl::Time start = absl::Now();
  absl::StatusOr<Text> response = stub.Echo(TextOf("anyone?"));
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST_F(GrpcChannelTest, DestroyingTheChannelCompletesItsAsyncCalls) {
  absl::Status status = absl::UnknownError("not completed");
  Text response;
  {
    auto channel = std::make_shared<GrpcChannel>(
        CreateGrpcChannel(absl::StrCat("127.0.0.1:", server().port())));
    InteropStub stub(channel);
    stub.HoldAsync(TextOf("wait"), &response, nullptr, [&](absl::Status s) { status = s; });
    ASSERT_TRUE(Eventually([&] { return service().holding.load() == 1; }));
  }
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
}

TEST_F(GrpcChannelTest, DestroyingTheChannelGivesAnsweredAsyncCallsTheirAnswers) {
  absl::Status status = absl::UnknownError("not completed");
  Text response;
  {
    auto channel = std::make_shared<GrpcChannel>(
        CreateGrpcChannel(absl::StrCat("127.0.0.1:", server().port())));
    InteropStub stub(channel);
    stub.EchoAsync(TextOf("answered"), &response, nullptr, [&](absl::Status s) { status = s; });
    ASSERT_TRUE(Eventually([&] { return channel->answered() == 1; }));
    EXPECT_EQ(status.code(), absl::StatusCode::kUnknown);  // not run before a Drain()
  }
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(response.text(), "answered");
}

// ---- TLS ----

std::string TestFile(const std::string& name) { return "rpc/grpc/testdata/" + name; }

class GrpcTlsTest : public ::testing::Test {
 protected:
  std::unique_ptr<GrpcServer> Serve(bool require_client_cert) {
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
        ServerTlsCredentials({.cert_file = TestFile("server.pem"),
                              .key_file = TestFile("server.key"),
                              .ca_file = require_client_cert ? TestFile("ca.pem") : ""});
    EXPECT_TRUE(credentials.ok()) << credentials.status();
    absl::StatusOr<std::unique_ptr<GrpcServer>> server =
        ServeGrpc(&service_, {.listen = {"127.0.0.1:0"}, .credentials = *credentials});
    EXPECT_TRUE(server.ok()) << server.status();
    return *std::move(server);
  }

  absl::StatusOr<Text> WhoCalls(int port, bool with_client_cert) {
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
        ChannelTlsCredentials({.cert_file = with_client_cert ? TestFile("client.pem") : "",
                               .key_file = with_client_cert ? TestFile("client.key") : "",
                               .ca_file = TestFile("ca.pem")});
    if (!credentials.ok()) return credentials.status();
    InteropStub stub(std::make_shared<GrpcChannel>(
        CreateGrpcChannel(absl::StrCat("127.0.0.1:", port), {.credentials = *credentials})));
    return stub.WhoCalls(TextOf(""));
  }

  InteropService service_;
};

TEST_F(GrpcTlsTest, MutualTlsShowsTheClientCertificatesSubject) {
  std::unique_ptr<GrpcServer> server = Serve(/*require_client_cert=*/true);
  absl::StatusOr<Text> response = WhoCalls(server->port(), /*with_client_cert=*/true);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_THAT(response->text(), HasSubstr("|"));
  EXPECT_THAT(response->text(), HasSubstr("CN=interop-client"));
}

TEST_F(GrpcTlsTest, MutualTlsRefusesAClientWithoutCertificate) {
  std::unique_ptr<GrpcServer> server = Serve(/*require_client_cert=*/true);
  absl::StatusOr<Text> response = WhoCalls(server->port(), /*with_client_cert=*/false);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(GrpcTlsTest, TlsWithoutClientCertificateHasNoSubject) {
  std::unique_ptr<GrpcServer> server = Serve(/*require_client_cert=*/false);
  absl::StatusOr<Text> response = WhoCalls(server->port(), /*with_client_cert=*/false);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_THAT(response->text(), ::testing::EndsWith("|"));
}

TEST(TlsFilesTest, AMissingFileIsNamed) {
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      ServerTlsCredentials({.cert_file = "/nonexistent/cert.pem", .key_file = "/nonexistent/k"});
  EXPECT_EQ(credentials.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(credentials.status().message(), HasSubstr("/nonexistent/cert.pem"));
}

TEST(TlsFilesTest, ACertificateNeedsItsKey) {
  EXPECT_EQ(ServerTlsCredentials({.cert_file = TestFile("server.pem")}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ChannelTlsCredentials({.key_file = TestFile("client.key")}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace syslink::rpc
