// fs_mount's command line: help, usage errors and the errors it reports before mounting.

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "absl/time/clock.h"
#include "examples/fs/fuse/mount_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/broker_process.h"

namespace syslink::examples::fs {
namespace {

using ::syslink::testing::BrokerProcess;
using ::syslink::testing::ChildProcess;
using ::syslink::testing::ScratchDirectory;
using ::testing::HasSubstr;

ToolRun FsMount(std::vector<std::string> args) {
  args.insert(args.begin(), RunfilesPath("examples/fs/fuse/fs_mount"));
  return RunTool(args, absl::Seconds(30));
}

TEST(FsMountCliTest, HelpDescribesEveryOptionAndTheErrno) {
  ToolRun help = FsMount({"--help"});
  EXPECT_EQ(help.how, ChildProcess::Exited(0));
  for (const char* text :
       {"usage: fs_mount", "--name=", "--foreground", "-o OPTIONS", "--threads=", "--wait=",
        "--cache=", "--entry-timeout=", "--attr-timeout=", "ENOTCONN", "ESTALE"}) {
    EXPECT_THAT(help.out, HasSubstr(text));
  }
}

TEST(FsMountCliTest, NoMountpointIsAUsageError) {
  ToolRun run = FsMount({"--foreground"});
  EXPECT_EQ(run.how, ChildProcess::Exited(2));
  EXPECT_THAT(run.err, HasSubstr("no mountpoint"));
}

TEST(FsMountCliTest, AnUnknownOptionIsAUsageError) {
  ToolRun run = FsMount({"--bogus", "/tmp"});
  EXPECT_EQ(run.how, ChildProcess::Exited(2));
  EXPECT_THAT(run.err, HasSubstr("unknown option \"--bogus\""));
}

TEST(FsMountCliTest, ABadCacheModeIsAUsageError) {
  ToolRun run = FsMount({"--cache=sometimes", "/tmp"});
  EXPECT_EQ(run.how, ChildProcess::Exited(2));
  EXPECT_THAT(run.err, HasSubstr("--cache"));
}

TEST(FsMountCliTest, AMissingValueOrAValuedSwitchIsAUsageError) {
  ToolRun missing = FsMount({"/tmp", "--threads"});
  EXPECT_EQ(missing.how, ChildProcess::Exited(2));
  EXPECT_THAT(missing.err, HasSubstr("--threads needs a value"));
  ToolRun valued = FsMount({"--foreground=yes", "/tmp"});
  EXPECT_EQ(valued.how, ChildProcess::Exited(2));
  EXPECT_THAT(valued.err, HasSubstr("--foreground takes no value"));
  ToolRun bad = FsMount({"--threads", "65", "/tmp"});
  EXPECT_EQ(bad.how, ChildProcess::Exited(2));
  EXPECT_THAT(bad.err, HasSubstr("bad value for --threads: \"65\""));
}

TEST(FsMountCliTest, ADoubleDashEndsTheOptions) {
  // "--" makes a mountpoint named like an option an operand: it is looked for, not parsed.
  ToolRun run = FsMount({"--", "--cache"});
  EXPECT_EQ(run.how, ChildProcess::Exited(1));
  EXPECT_THAT(run.err, HasSubstr("mountpoint --cache: No such file"));
}

TEST(FsMountCliTest, AMissingMountpointFailsAndSaysSo) {
  ToolRun run = FsMount({"/nonexistent/mount/point"});
  EXPECT_EQ(run.how, ChildProcess::Exited(1));
  EXPECT_THAT(run.err, HasSubstr("mountpoint /nonexistent/mount/point: No such file"));
}

TEST(FsMountCliTest, AFileAsMountpointFailsAndSaysSo) {
  ScratchDirectory dir("fusecli");
  const std::string file = dir.path() + "/file";
  close(open(file.c_str(), O_CREAT | O_WRONLY, 0600));
  ToolRun run = FsMount({file});
  EXPECT_EQ(run.how, ChildProcess::Exited(1));
  EXPECT_THAT(run.err, HasSubstr("is not a directory"));
}

TEST(FsMountCliTest, AServerThatIsNotThereFailsAtOnceWithoutWait) {
  struct stat st;
  if (stat("/dev/fuse", &st) != 0) GTEST_SKIP() << "no /dev/fuse: fs_mount stops before";
  ScratchDirectory dir("fusecli");
  absl::StatusOr<std::unique_ptr<BrokerProcess>> broker = BrokerProcess::Start(dir.SocketPath());
  ASSERT_TRUE(broker.ok()) << broker.status();
  setenv("SYSLINK_BROKER_SOCKET", dir.SocketPath().c_str(), 1);
  const absl::Time start = absl::Now();
  ToolRun run = FsMount({"--name=nobody.serves.this", dir.path()});
  unsetenv("SYSLINK_BROKER_SOCKET");
  EXPECT_EQ(run.how, ChildProcess::Exited(1));
  EXPECT_THAT(run.err, HasSubstr("cannot reach the file server \"nobody.serves.this\""));
  EXPECT_THAT(run.err, HasSubstr("--wait"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_FALSE(IsMounted(dir.path()));
}

TEST(FsMountCliTest, WaitGivesUpAfterItsTime) {
  struct stat st;
  if (stat("/dev/fuse", &st) != 0) GTEST_SKIP() << "no /dev/fuse: fs_mount stops before";
  ScratchDirectory dir("fusecli");
  absl::StatusOr<std::unique_ptr<BrokerProcess>> broker = BrokerProcess::Start(dir.SocketPath());
  ASSERT_TRUE(broker.ok()) << broker.status();
  setenv("SYSLINK_BROKER_SOCKET", dir.SocketPath().c_str(), 1);
  const absl::Time start = absl::Now();
  ToolRun run = FsMount({"--name=nobody.serves.this", "--wait=0.5", dir.path()});
  unsetenv("SYSLINK_BROKER_SOCKET");
  EXPECT_EQ(run.how, ChildProcess::Exited(1));
  EXPECT_THAT(run.err, HasSubstr("NOT_FOUND"));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(500));
}

}  // namespace
}  // namespace syslink::examples::fs
