// syslink-gateway's command line.

#include "rpc/grpc/gateway/gateway_flags.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace syslink::rpc {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

TEST(GatewayFlagsTest, DefaultsListenOnLoopbackAndExposeNothing) {
  absl::StatusOr<GatewayFlags> flags = ParseGatewayFlags({});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_THAT(flags->listen, ElementsAre("127.0.0.1:0"));
  EXPECT_TRUE(flags->exposed.empty());
  EXPECT_TRUE(flags->tls_cert.empty());
}

TEST(GatewayFlagsTest, ExposeTakesAServiceAndOptionallyItsBrokerName) {
  absl::StatusOr<GatewayFlags> flags =
      ParseGatewayFlags({"--expose", "kv.Store", "--expose", "fs.FileSystem=memfs"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_THAT(flags->exposed,
              ElementsAre(Pair("fs.FileSystem", "memfs"), Pair("kv.Store", "kv.Store")));
}

TEST(GatewayFlagsTest, ListenIsRepeatable) {
  absl::StatusOr<GatewayFlags> flags =
      ParseGatewayFlags({"--listen", "0.0.0.0:50051", "--listen", "unix:/run/gw.sock"});
  ASSERT_TRUE(flags.ok());
  EXPECT_THAT(flags->listen, ElementsAre("0.0.0.0:50051", "unix:/run/gw.sock"));
}

TEST(GatewayFlagsTest, ValuesMayFollowAnEqualsSign) {
  absl::StatusOr<GatewayFlags> flags = ParseGatewayFlags(
      {"--listen=unix:/run/gw.sock", "--expose=fs.FileSystem=memfs", "--workers=4"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_THAT(flags->listen, ElementsAre("unix:/run/gw.sock"));
  EXPECT_THAT(flags->exposed, ElementsAre(Pair("fs.FileSystem", "memfs")));
  EXPECT_EQ(flags->workers, 4);
  EXPECT_THAT(ParseGatewayFlags({"--exposee=x"}).status().message(), HasSubstr("--exposee"));
  EXPECT_FALSE(ParseGatewayFlags({"--expose="}).ok());
}

TEST(GatewayFlagsTest, HelpIsRecognized) {
  EXPECT_TRUE(ParseGatewayFlags({"--help"})->help);
  EXPECT_TRUE(ParseGatewayFlags({"-h"})->help);
  EXPECT_THAT(kGatewayUsage, HasSubstr("--expose SERVICE[=NAME]"));
  EXPECT_THAT(kGatewayUsage, HasSubstr("--tls-client-ca"));
}

TEST(GatewayFlagsTest, RefusesAnUnknownFlagNamingIt) {
  absl::StatusOr<GatewayFlags> flags = ParseGatewayFlags({"--exposee", "x"});
  EXPECT_EQ(flags.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(flags.status().message(), HasSubstr("--exposee"));
}

TEST(GatewayFlagsTest, RefusesAFlagWithoutItsValue) {
  EXPECT_THAT(ParseGatewayFlags({"--expose"}).status().message(), HasSubstr("needs a value"));
  EXPECT_THAT(ParseGatewayFlags({"--workers", "2", "--listen"}).status().message(),
              HasSubstr("--listen needs a value"));
}

TEST(GatewayFlagsTest, RefusesAnEmptyValueRatherThanLeaveTlsOff) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--tls-cert", "c.pem", "--tls-key", "k.pem", "--tls-client-ca="},
           {"--tls-cert", "c.pem", "--tls-key", "k.pem", "--tls-client-ca", ""},
           {"--tls-cert=", "--tls-key="},
           {"--listen="},
           {"--broker-socket", ""}}) {
    absl::StatusOr<GatewayFlags> flags = ParseGatewayFlags(args);
    EXPECT_EQ(flags.status().code(), absl::StatusCode::kInvalidArgument) << args.back();
    EXPECT_THAT(flags.status().message(), HasSubstr("not an empty one"));
  }
}

TEST(GatewayFlagsTest, RefusesAnArgumentThatIsNoFlag) {
  EXPECT_THAT(ParseGatewayFlags({"--workers", "2", "kv.Store"}).status().message(),
              HasSubstr("unknown argument kv.Store"));
}

TEST(GatewayFlagsTest, RefusesAnEmptyOrPathLikeService) {
  EXPECT_FALSE(ParseGatewayFlags({"--expose", "=memfs"}).ok());
  EXPECT_FALSE(ParseGatewayFlags({"--expose", "kv.Store="}).ok());
  EXPECT_FALSE(ParseGatewayFlags({"--expose", "/kv.Store/Get"}).ok());
}

TEST(GatewayFlagsTest, TlsCertAndKeyGoTogether) {
  EXPECT_FALSE(ParseGatewayFlags({"--tls-cert", "c.pem"}).ok());
  EXPECT_FALSE(ParseGatewayFlags({"--tls-key", "k.pem"}).ok());
  EXPECT_TRUE(ParseGatewayFlags({"--tls-cert", "c.pem", "--tls-key", "k.pem"}).ok());
}

TEST(GatewayFlagsTest, ClientCaNeedsAServerCertificate) {
  EXPECT_FALSE(ParseGatewayFlags({"--tls-client-ca", "ca.pem"}).ok());
}

TEST(GatewayFlagsTest, RefusesABadWorkerCount) {
  for (const char* bad : {"0", "-1", "x", "100000"}) {
    EXPECT_FALSE(ParseGatewayFlags({"--workers", bad}).ok()) << bad;
  }
  EXPECT_EQ(ParseGatewayFlags({"--workers", "4"})->workers, 4);
}

TEST(GatewayFlagsTest, MaxQueuedTakesABoundedCount) {
  EXPECT_EQ(ParseGatewayFlags({})->max_queued, 1024);
  EXPECT_EQ(ParseGatewayFlags({"--max-queued=0"})->max_queued, 0);
  for (const char* bad : {"-1", "x", "2000000"}) {
    EXPECT_THAT(ParseGatewayFlags({"--max-queued", bad}).status().message(),
                HasSubstr("give a number from 0 to 1048576"))
        << bad;
  }
}

TEST(GatewayFlagsTest, MaxMessageTakesABoundedSize) {
  EXPECT_EQ(ParseGatewayFlags({})->max_message, 4 << 20);
  EXPECT_EQ(ParseGatewayFlags({"--max-message=65536"})->max_message, 65536);
  for (const char* bad : {"0", "1023", "x", "2000000000"}) {
    EXPECT_THAT(ParseGatewayFlags({"--max-message", bad}).status().message(),
                HasSubstr("give a number from 1024 to 1073741824"))
        << bad;
  }
}

TEST(GatewayFlagsTest, MaxStreamsTakesABoundedCount) {
  EXPECT_EQ(ParseGatewayFlags({})->max_streams, 256);
  EXPECT_EQ(ParseGatewayFlags({"--max-streams=8"})->max_streams, 8);
  for (const char* bad : {"0", "-1", "x", "70000"}) {
    EXPECT_THAT(ParseGatewayFlags({"--max-streams", bad}).status().message(),
                HasSubstr("give a number from 1 to 65536"))
        << bad;
  }
}

TEST(GatewayFlagsTest, BoundAddressFillsInThePort) {
  EXPECT_EQ(BoundAddress("127.0.0.1:0", 41234), "127.0.0.1:41234");
  EXPECT_EQ(BoundAddress("[::1]:0", 5), "[::1]:5");
  EXPECT_EQ(BoundAddress("unix:/run/gw.sock", 0), "unix:/run/gw.sock");
}

}  // namespace
}  // namespace syslink::rpc
