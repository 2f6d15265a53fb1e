// Method paths: how a gRPC path maps to a service, a method and a method id.

#include "rpc/method.h"

#include "gtest/gtest.h"
#include "rpc/method_id.h"

namespace syslink::rpc {
namespace {

TEST(MethodPathTest, SplitsServiceAndMethod) {
  std::optional<MethodPath> parts = ParseMethodPath("/kv.Store/Get");
  ASSERT_TRUE(parts.has_value());
  EXPECT_EQ(parts->service, "kv.Store");
  EXPECT_EQ(parts->method, "Get");
}

TEST(MethodPathTest, AcceptsAServiceWithoutPackage) {
  ASSERT_TRUE(ParseMethodPath("/Store/Get").has_value());
  EXPECT_EQ(MethodIdOfPath("/Store/Get"), MethodId("Store.Get"));
}

TEST(MethodPathTest, RefusesAPathWithoutLeadingSlash) {
  EXPECT_FALSE(ParseMethodPath("kv.Store/Get").has_value());
}

TEST(MethodPathTest, RefusesEmptyParts) {
  EXPECT_FALSE(ParseMethodPath("").has_value());
  EXPECT_FALSE(ParseMethodPath("/").has_value());
  EXPECT_FALSE(ParseMethodPath("//Get").has_value());
  EXPECT_FALSE(ParseMethodPath("/kv.Store/").has_value());
  EXPECT_FALSE(ParseMethodPath("/kv.Store").has_value());
}

TEST(MethodPathTest, RefusesAThirdSlash) {
  EXPECT_FALSE(ParseMethodPath("/kv/Store/Get").has_value());
  EXPECT_EQ(MethodIdOfPath("/kv/Store/Get"), 0u);
}

TEST(MethodPathTest, IdOfAPathIsTheIdOfTheFullName) {
  EXPECT_EQ(MethodIdOfPath("/syslink.examples.echo.Echo/Say"),
            MethodId("syslink.examples.echo.Echo.Say"));
  EXPECT_NE(MethodIdOfPath("/kv.Store/Get"), MethodIdOfPath("/kv.Store/Put"));
}

}  // namespace
}  // namespace syslink::rpc
