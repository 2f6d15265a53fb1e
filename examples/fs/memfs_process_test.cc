// memfs and the fs CLI as real processes around a syslinkd of the test's own: the CLI and
// the client library reach the server by name through the broker, a server killed with
// kill -9 fails its clients' calls with ENOTCONN instead of hanging them, and a killed
// client's locks, handles and lookups are given back.

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "examples/fs/fs_client.h"
#include "examples/fs/lock_holder_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc/connect.h"
#include "syslink/status.h"
#include "tests/support/broker_process.h"
#include "tests/support/child_process.h"
#include "tests/support/eventually.h"
#include "tests/support/registered_service.h"

namespace syslink::examples::fs {
namespace {

using ::syslink::testing::BrokerProcess;
using ::syslink::testing::ChildProcess;
using ::syslink::testing::ConnectWhenRegistered;
using ::syslink::testing::Eventually;
using ::syslink::testing::kPatience;
using ::syslink::testing::ScratchDirectory;
using ::testing::HasSubstr;

constexpr char kName[] = "test.examples.fs.memfs";

// A binary of this package in the test's runfiles.
std::string BinaryPath(const std::string& name) {
  const std::string relative = "examples/fs/" + name;
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (access(relative.c_str(), X_OK) != 0 && srcdir != nullptr && workspace != nullptr) {
    return absl::StrCat(srcdir, "/", workspace, "/", relative);
  }
  char resolved[PATH_MAX];
  return realpath(relative.c_str(), resolved) != nullptr ? resolved : relative;
}

// Runs `args` in a child with no descriptor of ours but stdio.
ChildProcess Spawn(std::vector<std::string> args) {
  // No copy of a link end may stay in the child: it would hide the link's closing.
  return ChildProcess::Exec(std::move(args));
}

struct CliRun {
  std::string how;  // "exited 0"
  std::string out;
};

// Runs `args` to its end: how it ended, and what it printed on stdout (and on stderr,
// into the same string, if `with_stderr`).
CliRun RunToEnd(const std::vector<std::string>& args, bool with_stderr = true) {
  int pipe_fds[2];
  EXPECT_EQ(pipe(pipe_fds), 0);
  ChildProcess child = ChildProcess::Exec(
      args, {.stdout_fd = pipe_fds[1], .stderr_fd = with_stderr ? pipe_fds[1] : -1});
  close(pipe_fds[1]);
  CliRun run;
  char buffer[4096];
  for (ssize_t n; (n = read(pipe_fds[0], buffer, sizeof(buffer))) > 0;) run.out.append(buffer, n);
  close(pipe_fds[0]);
  run.how = child.WaitFor(absl::Seconds(30));
  return run;
}

// Runs the fs CLI to its end.
CliRun RunFs(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {BinaryPath("fs"), "--service", kName};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunToEnd(argv, /*with_stderr=*/false);
}

class MemfsProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<BrokerProcess>> broker = BrokerProcess::Start(dir_.SocketPath());
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = *std::move(broker);
    setenv("SYSLINK_BROKER_SOCKET", dir_.SocketPath().c_str(), 1);  // for the children
    memfs_.emplace(Spawn({BinaryPath("memfs"), "--name", kName, "--size", "64M"}));
    absl::StatusOr<std::shared_ptr<rpc::Channel>> channel =
        ConnectWhenRegistered(kName, broker_->ConnectOptions());
    ASSERT_TRUE(channel.ok()) << channel.status();
    client_ = std::make_unique<FsClient>(*channel);
  }
  void TearDown() override {
    client_.reset();
    unsetenv("SYSLINK_BROKER_SOCKET");
  }

  ScratchDirectory dir_{"fs"};
  std::unique_ptr<BrokerProcess> broker_;
  std::optional<ChildProcess> memfs_;
  std::unique_ptr<FsClient> client_;
};

TEST_F(MemfsProcessTest, CliPutsListsAndGetsThroughTheBroker) {
  const std::string local = dir_.path() + "/local";
  std::string bytes(3 * kMaxIoSize + 100, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i % 253);
  std::ofstream(local, std::ios::binary) << bytes;
  EXPECT_EQ(RunFs({"mkdir", "/d"}).how, ChildProcess::Exited(0));
  EXPECT_EQ(RunFs({"put", local, "/d/copy"}).how, ChildProcess::Exited(0));
  CliRun ls = RunFs({"ls", "-l", "/d"});
  EXPECT_EQ(ls.how, ChildProcess::Exited(0));
  EXPECT_THAT(ls.out, HasSubstr(absl::StrCat(bytes.size(), " ")));
  EXPECT_THAT(ls.out, HasSubstr(" copy\n"));
  const std::string back = dir_.path() + "/back";
  EXPECT_EQ(RunFs({"get", "/d/copy", back}).how, ChildProcess::Exited(0));
  std::stringstream read_back;
  read_back << std::ifstream(back, std::ios::binary).rdbuf();
  EXPECT_TRUE(read_back.str() == bytes);
}

TEST_F(MemfsProcessTest, TheCliAndTheLibrarySeeOneFilesystem) {
  ASSERT_TRUE(client_->WriteFileFromString("/hello", "from the library\n").ok());
  CliRun cat = RunFs({"cat", "/hello"});
  EXPECT_EQ(cat.how, ChildProcess::Exited(0));
  EXPECT_EQ(cat.out, "from the library\n");
  EXPECT_EQ(RunFs({"mv", "/hello", "/moved"}).how, ChildProcess::Exited(0));
  EXPECT_EQ(*client_->ReadFileToString("/moved"), "from the library\n");
}

TEST_F(MemfsProcessTest, CliFailuresExitWithOne) {
  EXPECT_EQ(RunFs({"cat", "/nothing"}).how, ChildProcess::Exited(1));
  EXPECT_EQ(RunFs({"bogus"}).how, ChildProcess::Exited(2));
}

TEST_F(MemfsProcessTest, KilledServerFailsCallsWithEnotconn) {
  ASSERT_TRUE(client_->WriteFileFromString("/f", "x").ok());
  memfs_->Kill(SIGKILL);
  EXPECT_EQ(memfs_->Wait(), ChildProcess::KilledBy(SIGKILL));
  absl::Status status = client_->Stat("/f").status();
  EXPECT_TRUE(IsPeerDied(status)) << status;
  EXPECT_EQ(ErrnoOf(status), ENOTCONN);
  EXPECT_EQ(ErrnoOf(client_->ReadFileToString("/f").status()), ENOTCONN);
}

TEST_F(MemfsProcessTest, AKilledClientsPosixLockGoesToTheWaiter) {
  ASSERT_TRUE(client_->WriteFileFromString("/locked", "x").ok());
  absl::StatusOr<ChildProcess> holder =
      StartLockHolder(BinaryPath("lock_holder"), kName, "/locked", "posix");
  ASSERT_TRUE(holder.ok()) << holder.status();
  ExpectKillHandsTheLockOn(*client_, *holder, "/locked", "posix");
}

TEST_F(MemfsProcessTest, AKilledClientsFlockGoesToTheWaiter) {
  ASSERT_TRUE(client_->WriteFileFromString("/locked", "x").ok());
  absl::StatusOr<ChildProcess> holder =
      StartLockHolder(BinaryPath("lock_holder"), kName, "/locked", "flock");
  ASSERT_TRUE(holder.ok()) << holder.status();
  ExpectKillHandsTheLockOn(*client_, *holder, "/locked", "flock");
}

// A file that a killed client held open (and looked up) is given back with the client's
// other handles and lookups: unlinked, its inode and its memory go with the client, as a
// filesystem frees a file at its last close.
TEST_F(MemfsProcessTest, AKilledClientsHandlesAndLookupsAreGivenBack) {
  const absl::StatusOr<StatfsResponse> empty = client_->Statfs();
  ASSERT_TRUE(empty.ok()) << empty.status();
  // Released and forgotten by this process.
  ASSERT_TRUE(client_->WriteFileFromString("/held", std::string(1 << 20, 'x')).ok());
  absl::StatusOr<ChildProcess> holder =
      StartLockHolder(BinaryPath("lock_holder"), kName, "/held", "flock");
  ASSERT_TRUE(holder.ok()) << holder.status();
  ASSERT_TRUE(client_->Remove("/held").ok());
  // Free blocks and inodes, as Statfs counts them now.
  auto free_now = [&] {
    absl::StatusOr<StatfsResponse> now = client_->Statfs();
    EXPECT_TRUE(now.ok()) << now.status();
    return now.ok() ? std::make_pair(now->blocks_free(), now->files_free())
                    : std::make_pair(uint64_t{0}, uint64_t{0});
  };
  const auto while_held = free_now();
  EXPECT_EQ(while_held.first, empty->blocks_free() - (1 << 20) / empty->block_size());
  EXPECT_EQ(while_held.second, empty->files_free() - 1);
  holder->Kill(SIGKILL);
  EXPECT_EQ(holder->Wait(), ChildProcess::KilledBy(SIGKILL));
  EXPECT_TRUE(Eventually(
      [&] { return free_now() == std::make_pair(empty->blocks_free(), empty->files_free()); },
      kPatience, absl::Milliseconds(1)))
      << free_now().first << " blocks and " << free_now().second << " inodes free, "
      << empty->blocks_free() << " and " << empty->files_free() << " before";
}

TEST_F(MemfsProcessTest, MemfsStopsCleanlyOnSigterm) {
  memfs_->Kill(SIGTERM);
  EXPECT_EQ(memfs_->WaitFor(absl::Seconds(10)), ChildProcess::Exited(0));
}

TEST(MemfsBinaryTest, HelpDescribesEveryOption) {
  for (const char* binary : {"memfs", "fs"}) {
    CliRun run = RunToEnd({BinaryPath(binary), "--help"}, /*with_stderr=*/false);
    EXPECT_EQ(run.how, ChildProcess::Exited(0)) << binary;
    EXPECT_THAT(run.out, HasSubstr("usage:")) << binary;
    EXPECT_THAT(run.out, HasSubstr(std::string(binary) == "fs" ? "--service" : "--allow-uid"));
  }
}

TEST(MemfsBinaryTest, BadUsageExitsWithTwoAndSaysWhy) {
  const std::string memfs = BinaryPath("memfs");
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{memfs, "--bogus", "1"}, "unknown option \"--bogus\""},
      {{memfs, "--size", "1M", "--inodes"}, "--inodes needs a value"},
      {{memfs, "--size=lots"}, "bad value for --size: \"lots\""},
      {{memfs, "--size", "lots"}, "bad value for --size: \"lots\""},
      {{memfs, "--name="}, "bad value for --name: \"\""},
      {{memfs, "stray"}, "unexpected argument \"stray\""},
  };
  for (const auto& [args, why] : cases) {
    CliRun run = RunToEnd(args);
    EXPECT_EQ(run.how, ChildProcess::Exited(2)) << why;
    EXPECT_THAT(run.out, HasSubstr(why));
    EXPECT_THAT(run.out, HasSubstr("usage: memfs"));
  }
}

TEST(MemfsBinaryTest, TheFsCliSaysWhatIsWrongWithItsOptions) {
  const std::string fs = BinaryPath("fs");
  CliRun missing = RunToEnd({fs, "--service"});
  EXPECT_EQ(missing.how, ChildProcess::Exited(2));
  EXPECT_THAT(missing.out, HasSubstr("--service needs a value"));
  CliRun unknown = RunToEnd({fs, "--services=x", "ls", "/"});
  EXPECT_EQ(unknown.how, ChildProcess::Exited(2));
  EXPECT_THAT(unknown.out, HasSubstr("unknown option \"--services=x\""));
}

}  // namespace
}  // namespace syslink::examples::fs
