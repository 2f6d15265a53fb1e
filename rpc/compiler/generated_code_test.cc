// The code generated for testdata/golden.proto, compiled by cc_syslink_library and called
// the way users call it: stub -> InProcessChannel -> Dispatch() -> the server class.

#include <cstddef>
#include <memory>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc/compiler/testdata/golden.syslink.h"
#include "rpc/context.h"
#include "rpc/in_process_channel.h"
#include "rpc/method.h"
#include "rpc/method_id.h"
#include "rpc/service.h"

namespace syslink::golden {
namespace {

using ::testing::HasSubstr;

// Serves Get; Put, Delete and the others keep their generated UNIMPLEMENTED bodies.
class TestStore : public KeyValueStore {
 public:
  absl::Status Get(rpc::ServerContext& context, const GetRequest& request,
                   GetResponse* response) override {
    if (request.key() == "missing") return absl::NotFoundError("no value under \"missing\"");
    response->mutable_value()->add_chunks()->set_data("value of " + request.key());
    response->set_version(7);
    return absl::OkStatus();
  }
};

// Answers Connect with its request.
class TestHealth : public Health {
 public:
  absl::Status Connect(rpc::ServerContext& context, const types::Ping& request,
                       types::Ping* response) override {
    *response = request;
    return absl::OkStatus();
  }
};

class GeneratedCodeTest : public ::testing::Test {
 protected:
  GetRequest Request(const std::string& key) {
    GetRequest request;
    request.set_key(key);
    return request;
  }

  TestStore store_;
  KeyValueStoreStub stub_{std::make_shared<rpc::InProcessChannel>(&store_)};
};

TEST_F(GeneratedCodeTest, ReturningCallFormReturnsTheResponse) {
  absl::StatusOr<GetResponse> response = stub_.Get(Request("a"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->value().chunks(0).data(), "value of a");
  EXPECT_EQ(response->version(), 7u);
}

TEST_F(GeneratedCodeTest, FillingCallFormFillsTheResponse) {
  GetResponse response;
  rpc::ClientContext context;
  ASSERT_TRUE(stub_.Get(Request("b"), &response, &context).ok());
  EXPECT_EQ(response.value().chunks(0).data(), "value of b");
}

TEST_F(GeneratedCodeTest, AsyncCallFormRunsDoneOnceWithTheStatus) {
  GetResponse response;
  int calls = 0;
  absl::Status status = absl::UnknownError("not called");
  stub_.GetAsync(Request("c"), &response, nullptr, [&](absl::Status s) {
    ++calls;
    status = s;
  });
  stub_.channel().Drain(absl::InfiniteFuture());
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(response.value().chunks(0).data(), "value of c");
}

TEST_F(GeneratedCodeTest, TheServersStatusReachesTheCaller) {
  absl::StatusOr<GetResponse> response = stub_.Get(Request("missing"));
  EXPECT_EQ(response.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(response.status().message(), HasSubstr("no value under"));
}

TEST_F(GeneratedCodeTest, AnRpcNotOverriddenAnswersUnimplementedNamingIt) {
  absl::StatusOr<PutResponse> response = stub_.Put(PutRequest());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(response.status().message(), HasSubstr("syslink.golden.KeyValueStore.Put"));
}

TEST_F(GeneratedCodeTest, DispatchAnswersUnimplementedForAnUnknownMethodId) {
  rpc::ServerContext context({}, absl::InfiniteFuture());
  rpc::ServerCall call(12345, {}, &context);
  absl::Status status = store_.Dispatch(call);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(status.message(), HasSubstr("syslink.golden.KeyValueStore has no method with id "
                                          "12345"));
}

TEST_F(GeneratedCodeTest, DispatchRefusesARequestThatDoesNotParse) {
  const std::string garbage = "\xff\xff\xff\xff";
  rpc::ServerContext context({}, absl::InfiniteFuture());
  rpc::ServerCall call(KeyValueStore::kGetMethodId,
                       std::as_bytes(std::span(garbage.data(), garbage.size())), &context);
  EXPECT_EQ(store_.Dispatch(call).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(GeneratedCodeTest, AServiceWithoutRpcsAnswersUnimplemented) {
  Placeholder placeholder;
  rpc::ServerContext context({}, absl::InfiniteFuture());
  rpc::ServerCall call(1, {}, &context);
  EXPECT_EQ(placeholder.Dispatch(call).code(), absl::StatusCode::kUnimplemented);
}

TEST(GeneratedConnectTest, AnRpcNamedConnectOverloadsTheStubsStaticConnect) {
  TestHealth health;
  HealthStub stub(std::make_shared<rpc::InProcessChannel>(&health));
  types::Ping ping;
  ping.set_text("hello");
  absl::StatusOr<types::Ping> answer = stub.Connect(ping);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->text(), "hello");
  types::Ping filled;
  EXPECT_TRUE(stub.Connect(ping, &filled, nullptr).ok());
  EXPECT_EQ(filled.text(), "hello");
  // The static one is still there, of its own type: Connect() connects through the broker.
  absl::StatusOr<HealthStub> (*through_broker)(const broker::BrokerConnectOptions&) =
      &HealthStub::Connect;
  EXPECT_NE(through_broker, nullptr);
}

TEST_F(GeneratedCodeTest, NamesTheServiceByItsFullName) {
  EXPECT_EQ(store_.service_name(), "syslink.golden.KeyValueStore");
  EXPECT_EQ(Health::kServiceName, "syslink.golden.Health");
}

TEST_F(GeneratedCodeTest, MethodIdsAreThoseOfTheFullNames) {
  EXPECT_EQ(KeyValueStore::kGetMethodId, rpc::MethodId("syslink.golden.KeyValueStore.Get"));
  EXPECT_EQ(Health::kPingMethodId, rpc::MethodId("syslink.golden.Health.Ping"));
}

TEST_F(GeneratedCodeTest, MethodsListsEveryRpcInProtoOrderWithItsPath) {
  std::span<const rpc::Method> methods = store_.methods();
  ASSERT_EQ(methods.size(), 5u);
  EXPECT_EQ(methods[0].path, "/syslink.golden.KeyValueStore/Get");
  EXPECT_EQ(methods[0].id, KeyValueStore::kGetMethodId);
  EXPECT_EQ(methods[4].path, "/syslink.golden.KeyValueStore/ReadChunk");
  for (const rpc::Method& method : methods) {
    EXPECT_EQ(method.kind, rpc::MethodKind::kUnary);
    EXPECT_EQ(rpc::MethodIdOfPath(method.path), method.id) << method.path;
  }
  EXPECT_TRUE(Placeholder().methods().empty());
}

TEST_F(GeneratedCodeTest, FindMethodFindsAnRpcByPathOnly) {
  const rpc::Method* put = store_.FindMethod("/syslink.golden.KeyValueStore/Put");
  ASSERT_NE(put, nullptr);
  EXPECT_EQ(put->id, KeyValueStore::kPutMethodId);
  EXPECT_EQ(store_.FindMethod("/syslink.golden.Health/Ping"), nullptr);
  EXPECT_EQ(store_.FindMethod("syslink.golden.KeyValueStore.Put"), nullptr);
}

}  // namespace
}  // namespace syslink::golden
