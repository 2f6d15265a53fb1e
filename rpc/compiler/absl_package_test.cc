// The code generated for a package named like the absl namespace compiles (the test is
// mostly its build) and dispatches a call.

#include "gtest/gtest.h"
#include "rpc/compiler/testdata/absl_package.syslink.h"
#include "rpc/in_process_channel.h"

namespace syslink::compiler_test::absl {
namespace {

class Echo : public Shadowed {
  ::absl::Status Get(::syslink::rpc::ServerContext&, const Status& request,
                     Status* response) override {
    response->set_text(request.text());
    return ::absl::OkStatus();
  }
};

TEST(AbslPackageTest, GeneratedCodeReachesTheAbslNamespace) {
  Echo service;
  ShadowedStub stub(std::make_shared<::syslink::rpc::InProcessChannel>(&service));
  Status request;
  request.set_text("shadowed");
  ::absl::StatusOr<Status> response = stub.Get(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->text(), "shadowed");
}

}  // namespace
}  // namespace syslink::compiler_test::absl
