// syslinkd's command line as the parser reads it (syslinkd_usage_test.sh runs the binary).

#include "syslink/broker/internal/syslinkd_flags.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace syslink::broker::internal {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<SyslinkdCommandLine> Parse(std::vector<std::string> args) {
  return ParseSyslinkdCommandLine(args);
}

TEST(SyslinkdFlagsTest, WithoutIdleExitTheBrokerRunsUntilStopped) {
  absl::StatusOr<SyslinkdCommandLine> command = Parse({"--socket", "/run/x/broker.sock"});
  ASSERT_TRUE(command.ok()) << command.status();
  EXPECT_EQ(command->run.broker.idle_exit, absl::InfiniteDuration());
  EXPECT_EQ(command->run.broker.socket_path, "/run/x/broker.sock");
}

TEST(SyslinkdFlagsTest, IdleExitTakesADuration) {
  absl::StatusOr<SyslinkdCommandLine> command = Parse({"--idle-exit=1m"});
  ASSERT_TRUE(command.ok()) << command.status();
  EXPECT_EQ(command->run.broker.idle_exit, absl::Minutes(1));
}

TEST(SyslinkdFlagsTest, IdleExitTakesSeconds) {
  absl::StatusOr<SyslinkdCommandLine> command = Parse({"--idle-exit", "90"});
  ASSERT_TRUE(command.ok()) << command.status();
  EXPECT_EQ(command->run.broker.idle_exit, absl::Seconds(90));
}

TEST(SyslinkdFlagsTest, IdleExitRefusesZero) {
  absl::StatusOr<SyslinkdCommandLine> command = Parse({"--idle-exit=0s"});
  EXPECT_EQ(command.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(command.status().message(), HasSubstr("--idle-exit wants seconds or a duration"));
}

TEST(SyslinkdFlagsTest, AFlagWithoutItsValueSaysSo) {
  absl::StatusOr<SyslinkdCommandLine> command = Parse({"--socket=/run/x", "--idle-exit"});
  EXPECT_EQ(command.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(command.status().message(), HasSubstr("--idle-exit needs a value"));
}

TEST(SyslinkdFlagsTest, AnUnknownFlagOrAnOperandIsNamed) {
  EXPECT_THAT(Parse({"--idle-exitt=5"}).status().message(),
              HasSubstr("unknown argument '--idle-exitt=5'"));
  EXPECT_THAT(Parse({"/run/x"}).status().message(), HasSubstr("unknown argument '/run/x'"));
}

TEST(SyslinkdFlagsTest, HelpStopsReading) {
  absl::StatusOr<SyslinkdCommandLine> command = Parse({"--help", "--bogus"});
  ASSERT_TRUE(command.ok()) << command.status();
  EXPECT_TRUE(command->help);
}

}  // namespace
}  // namespace syslink::broker::internal
