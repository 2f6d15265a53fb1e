// The code generated for testdata/storage.proto (package acme.storage.v1), compiled by
// cc_syslink_library and called through an InProcessChannel: a nested namespace, two
// services of one file, fields named like C++ keywords, messages of another package, and an
// rpc (GetAsync) named like the stub's async form of another (Get).

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "rpc/compiler/testdata/storage.syslink.h"
#include "rpc/context.h"
#include "rpc/in_process_channel.h"
#include "rpc/method.h"
#include "rpc/method_id.h"

namespace acme::storage::v1 {
namespace {

using ::acme::common::v1::Etag;
using ::acme::common::v1::PageRequest;
using ::acme::common::v1::PageResponse;

// Says in each response which rpc served it.
class TestObjects : public Objects {
 public:
  absl::Status Get(syslink::rpc::ServerContext& context, const GetObjectRequest& request,
                   Object* response) override {
    return Serve("Get", request, response);
  }

  absl::Status GetAsync(syslink::rpc::ServerContext& context, const GetObjectRequest& request,
                        Object* response) override {
    return Serve("GetAsync", request, response);
  }

  absl::Status List(syslink::rpc::ServerContext& context, const ListObjectsRequest& request,
                    ListObjectsResponse* response) override {
    for (uint32_t i = 0; i < request.page().size(); ++i) {
      response->add_objects()->set_name(request.prefix() + std::to_string(i));
    }
    response->mutable_page()->set_next_token(request.page().token() + "+");
    return absl::OkStatus();
  }

  absl::Status Delete(syslink::rpc::ServerContext& context, const DeleteObjectRequest& request,
                      Etag* response) override {
    response->set_value(request.name() + (request.delete_() ? " and versions" : ""));
    return absl::OkStatus();
  }

 private:
  static absl::Status Serve(const std::string& rpc, const GetObjectRequest& request,
                            Object* response) {
    if (request.has_if_match() && request.if_match().value() != "v1") {
      return absl::FailedPreconditionError("etag mismatch");
    }
    response->set_name(request.name());
    response->set_data("served by " + rpc);
    response->set_class_("cold");
    response->set_delete_(true);
    response->set_default_("yes");
    response->mutable_etag()->set_value("v1");
    response->mutable_etag()->set_new_(true);
    return absl::OkStatus();
  }
};

class TestBuckets : public Buckets {
 public:
  absl::Status Create(syslink::rpc::ServerContext& context, const Bucket& request,
                      Bucket* response) override {
    *response = request;
    if (response->class_().empty()) response->set_class_("standard");
    return absl::OkStatus();
  }
};

class StorageGeneratedCodeTest : public ::testing::Test {
 protected:
  static GetObjectRequest Request(const std::string& name) {
    GetObjectRequest request;
    request.set_name(name);
    return request;
  }

  TestObjects objects_;
  TestBuckets buckets_;
  ObjectsStub objects_stub_{std::make_shared<syslink::rpc::InProcessChannel>(&objects_)};
  BucketsStub buckets_stub_{std::make_shared<syslink::rpc::InProcessChannel>(&buckets_)};
};

TEST_F(StorageGeneratedCodeTest, ANestedPackageIsANestedNamespace) {
  EXPECT_EQ(::acme::storage::v1::Objects::kServiceName, "acme.storage.v1.Objects");
  EXPECT_EQ(Objects::kGetMethodId, syslink::rpc::MethodId("acme.storage.v1.Objects.Get"));
  EXPECT_EQ(Objects::kGetMethod.path, "/acme.storage.v1.Objects/Get");
}

TEST_F(StorageGeneratedCodeTest, FieldsNamedLikeKeywordsCrossTheCall) {
  absl::StatusOr<Object> object = objects_stub_.Get(Request("a"));
  ASSERT_TRUE(object.ok()) << object.status();
  EXPECT_EQ(object->class_(), "cold");
  EXPECT_TRUE(object->delete_());
  EXPECT_EQ(object->default_(), "yes");
  EXPECT_TRUE(object->etag().new_());
}

TEST_F(StorageGeneratedCodeTest, MessagesOfAnotherPackageAreRequestsAndResponses) {
  ListObjectsRequest list;
  list.set_prefix("log-");
  list.mutable_page()->set_size(2);
  list.mutable_page()->set_token("t");
  absl::StatusOr<ListObjectsResponse> page = objects_stub_.List(list);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->objects_size(), 2);
  EXPECT_EQ(page->objects(1).name(), "log-1");
  EXPECT_EQ(page->page().next_token(), "t+");

  DeleteObjectRequest remove;
  remove.set_name("a");
  remove.set_delete_(true);
  absl::StatusOr<Etag> etag = objects_stub_.Delete(remove);
  ASSERT_TRUE(etag.ok()) << etag.status();
  EXPECT_EQ(etag->value(), "a and versions");
}

TEST_F(StorageGeneratedCodeTest, TheServersStatusReachesTheCaller) {
  GetObjectRequest request = Request("a");
  request.mutable_if_match()->set_value("v0");
  EXPECT_EQ(objects_stub_.Get(request).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(StorageGeneratedCodeTest, TheRpcGetAsyncAndGetsAsyncFormAreTold) {
  // The returning and filling forms of the rpc GetAsync...
  absl::StatusOr<Object> returned = objects_stub_.GetAsync(Request("b"));
  ASSERT_TRUE(returned.ok()) << returned.status();
  EXPECT_EQ(returned->data(), "served by GetAsync");
  Object filled;
  ASSERT_TRUE(objects_stub_.GetAsync(Request("b"), &filled, nullptr).ok());
  EXPECT_EQ(filled.data(), "served by GetAsync");

  // ... beside the async form of the rpc Get, and the rpc GetAsync's own async form.
  Object by_get, by_get_async;
  absl::Status get_status = absl::UnknownError("not called");
  absl::Status get_async_status = absl::UnknownError("not called");
  objects_stub_.GetAsync(Request("c"), &by_get, nullptr, [&](absl::Status s) { get_status = s; });
  objects_stub_.GetAsyncAsync(Request("c"), &by_get_async, nullptr,
                              [&](absl::Status s) { get_async_status = s; });
  objects_stub_.channel().Drain(absl::InfiniteFuture());
  ASSERT_TRUE(get_status.ok()) << get_status;
  ASSERT_TRUE(get_async_status.ok()) << get_async_status;
  EXPECT_EQ(by_get.data(), "served by Get");
  EXPECT_EQ(by_get_async.data(), "served by GetAsync");
}

TEST_F(StorageGeneratedCodeTest, TwoServicesOfOneFileServeSideBySide) {
  Bucket bucket;
  bucket.set_name("logs");
  absl::StatusOr<Bucket> created = buckets_stub_.Create(bucket);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->class_(), "standard");

  // Each service has its own List, with its own id; neither serves the other's.
  EXPECT_NE(Buckets::kListMethodId, Objects::kListMethodId);
  EXPECT_EQ(buckets_stub_.List(PageRequest()).status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(objects_.FindMethod("/acme.storage.v1.Buckets/List"), nullptr);
}

TEST_F(StorageGeneratedCodeTest, MethodsListEachServicesRpcsInProtoOrder) {
  std::span<const syslink::rpc::Method> objects = objects_.methods();
  ASSERT_EQ(objects.size(), 4u);
  EXPECT_EQ(objects[0].path, "/acme.storage.v1.Objects/Get");
  EXPECT_EQ(objects[1].path, "/acme.storage.v1.Objects/GetAsync");
  EXPECT_EQ(objects[3].path, "/acme.storage.v1.Objects/Delete");
  std::span<const syslink::rpc::Method> buckets = buckets_.methods();
  ASSERT_EQ(buckets.size(), 2u);
  EXPECT_EQ(buckets[1].path, "/acme.storage.v1.Buckets/List");
  for (const syslink::rpc::Method& method : objects) {
    EXPECT_EQ(syslink::rpc::MethodIdOfPath(method.path), method.id) << method.path;
  }
}

}  // namespace
}  // namespace acme::storage::v1
