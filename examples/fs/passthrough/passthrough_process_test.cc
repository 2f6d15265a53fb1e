// The passthrough binary and the fs CLI as real processes around a syslinkd of the test's
// own: what the CLI does lands in the served host directory and what the host puts there
// reaches the CLI; a killed client's locks, handles and lookups are given back; the
// binary's usage and errors.

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

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
#include "examples/fs/fs_format.h"
#include "examples/fs/lock_holder_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc/connect.h"
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
using ::syslink::testing::ScratchDirectory;
using ::testing::HasSubstr;

constexpr char kService[] = "test.examples.fs.passthrough";
// The binaries, relative to the runfiles directory the test (and its children) run in.
constexpr char kPassthrough[] = "examples/fs/passthrough/passthrough";
constexpr char kFsCli[] = "examples/fs/fs";
constexpr char kLockHolder[] = "examples/fs/lock_holder";

// Runs `args`: stdout and stderr go to `output_fd` (when not -1); no other descriptor of
// the test's stays open in the child.
ChildProcess Start(std::vector<std::string> args, int output_fd = -1) {
  return ChildProcess::Exec(std::move(args), {.stdout_fd = output_fd, .stderr_fd = output_fd});
}

struct Finished {
  std::string how;     // "exited 0"
  std::string output;  // stdout and stderr
};

Finished RunToEnd(const std::vector<std::string>& args) {
  int fds[2];
  EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
  ChildProcess child = Start(args, fds[1]);
  close(fds[1]);
  Finished finished;
  char chunk[4096];
  for (ssize_t n; (n = read(fds[0], chunk, sizeof(chunk))) > 0;) finished.output.append(chunk, n);
  close(fds[0]);
  finished.how = child.WaitFor(absl::Seconds(30));
  return finished;
}

// How many descriptors process `pid` has open on the file at `path` (as /proc shows
// where each leads). Other descriptors come and go with the server's own work.
size_t DescriptorsOn(pid_t pid, const std::string& path) {
  const std::string fds = absl::StrCat("/proc/", pid, "/fd");
  DIR* dir = opendir(fds.c_str());
  if (dir == nullptr) return 0;
  size_t count = 0;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    char target[PATH_MAX];
    const ssize_t n =
        readlink(absl::StrCat(fds, "/", entry->d_name).c_str(), target, sizeof(target) - 1);
    count += n > 0 && std::string(target, n) == path;
  }
  closedir(dir);
  return count;
}

std::string ReadHostFile(const std::string& path) {
  std::stringstream contents;
  contents << std::ifstream(path, std::ios::binary).rdbuf();
  return contents.str();
}

class PassthroughProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(mkdir(served_.c_str(), 0755), 0);
    absl::StatusOr<std::unique_ptr<BrokerProcess>> broker =
        BrokerProcess::Start(scratch_.SocketPath());
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = *std::move(broker);
    setenv("SYSLINK_BROKER_SOCKET", scratch_.SocketPath().c_str(), 1);  // for the children
    server_.emplace(Start({kPassthrough, absl::StrCat("--name=", kService), served_}));
    absl::StatusOr<std::shared_ptr<rpc::Channel>> channel =
        ConnectWhenRegistered(kService, broker_->ConnectOptions());
    ASSERT_TRUE(channel.ok()) << channel.status();
    client_ = std::make_unique<FsClient>(*channel);
  }
  void TearDown() override {
    client_.reset();
    unsetenv("SYSLINK_BROKER_SOCKET");
  }

  Finished Fs(std::vector<std::string> args) {
    args.insert(args.begin(), {kFsCli, "--service", kService});
    return RunToEnd(args);
  }

  ScratchDirectory scratch_{"pt"};
  const std::string served_ = scratch_.path() + "/served";
  std::unique_ptr<BrokerProcess> broker_;
  std::optional<ChildProcess> server_;
  std::unique_ptr<FsClient> client_;
};

TEST_F(PassthroughProcessTest, WhatTheCliPutsLandsInTheHostDirectory) {
  const std::string local = scratch_.path() + "/local";
  std::string bytes(2 * kMaxIoSize + 777, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7 % 251);
  std::ofstream(local, std::ios::binary) << bytes;
  EXPECT_EQ(Fs({"mkdir", "/d"}).how, ChildProcess::Exited(0));
  EXPECT_EQ(Fs({"put", local, "/d/copy"}).how, ChildProcess::Exited(0));
  EXPECT_TRUE(ReadHostFile(served_ + "/d/copy") == bytes);
  Finished ls = Fs({"ls", "-l", "/d"});
  EXPECT_EQ(ls.how, ChildProcess::Exited(0));
  EXPECT_THAT(ls.output, HasSubstr(absl::StrCat(bytes.size(), " ")));
  EXPECT_EQ(Fs({"mv", "/d/copy", "/moved"}).how, ChildProcess::Exited(0));
  struct stat st;
  EXPECT_EQ(stat((served_ + "/moved").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, static_cast<off_t>(bytes.size()));
}

TEST_F(PassthroughProcessTest, WhatTheHostPutsThereReachesTheCli) {
  std::ofstream(served_ + "/hello") << "from the host\n";
  Finished cat = Fs({"cat", "/hello"});
  EXPECT_EQ(cat.how, ChildProcess::Exited(0));
  EXPECT_EQ(cat.output, "from the host\n");
  EXPECT_EQ(Fs({"rm", "/hello"}).how, ChildProcess::Exited(0));
  EXPECT_NE(access((served_ + "/hello").c_str(), F_OK), 0);
  EXPECT_EQ(Fs({"cat", "/hello"}).how, ChildProcess::Exited(1));
}

TEST_F(PassthroughProcessTest, TheCliAndTheLibrarySeeOneDirectory) {
  ASSERT_TRUE(client_->WriteFileFromString("/note", "from the library\n").ok());
  EXPECT_EQ(ReadHostFile(served_ + "/note"), "from the library\n");
  EXPECT_EQ(Fs({"cat", "/note"}).output, "from the library\n");
}

TEST_F(PassthroughProcessTest, AKilledClientsLocksGoToTheWaiter) {
  for (const char* kind : {"posix", "flock"}) {
    SCOPED_TRACE(kind);
    ASSERT_TRUE(client_->WriteFileFromString("/locked", "x").ok());
    absl::StatusOr<ChildProcess> holder = StartLockHolder(kLockHolder, kService, "/locked", kind);
    ASSERT_TRUE(holder.ok()) << holder.status();
    ExpectKillHandsTheLockOn(*client_, *holder, "/locked", kind);
  }
}

// Each handle and lookup is a descriptor of the server's on the host file: those of a
// client killed while it held them go back.
TEST_F(PassthroughProcessTest, AKilledClientsHandlesAndLookupsAreGivenBack) {
  ASSERT_TRUE(client_->WriteFileFromString("/held", "x").ok());  // released and forgotten
  char served[PATH_MAX];
  ASSERT_NE(realpath(served_.c_str(), served), nullptr);  // as /proc names it
  const std::string held = absl::StrCat(served, "/held");
  EXPECT_EQ(DescriptorsOn(server_->pid(), held), 0u);
  absl::StatusOr<ChildProcess> holder = StartLockHolder(kLockHolder, kService, "/held", "flock");
  ASSERT_TRUE(holder.ok()) << holder.status();
  EXPECT_GT(DescriptorsOn(server_->pid(), held), 0u);  // its lookup and its open handle
  holder->Kill(SIGKILL);
  EXPECT_EQ(holder->Wait(), ChildProcess::KilledBy(SIGKILL));
  EXPECT_TRUE(Eventually([&] { return DescriptorsOn(server_->pid(), held) == 0; }))
      << DescriptorsOn(server_->pid(), held) << " descriptors still on " << held;
}

TEST_F(PassthroughProcessTest, StopsCleanlyOnSigterm) {
  server_->Kill(SIGTERM);
  EXPECT_EQ(server_->WaitFor(absl::Seconds(10)), ChildProcess::Exited(0));
}

TEST(PassthroughBinaryTest, HelpDescribesTheOptions) {
  Finished help = RunToEnd({kPassthrough, "--help"});
  EXPECT_EQ(help.how, ChildProcess::Exited(0));
  EXPECT_THAT(help.output, HasSubstr("usage: passthrough [OPTIONS] DIR"));
  EXPECT_THAT(help.output, HasSubstr("--allow-uid"));
  EXPECT_THAT(help.output, HasSubstr("--check-access"));
}

TEST(PassthroughBinaryTest, AMissingDirectoryIsAClearError) {
  Finished run = RunToEnd({kPassthrough, "/nonexistent/directory"});
  EXPECT_EQ(run.how, ChildProcess::Exited(1));
  EXPECT_THAT(run.output, HasSubstr("\"/nonexistent/directory\": No such file or directory"));
}

TEST(PassthroughBinaryTest, AFileIsNotADirectory) {
  ScratchDirectory scratch("pt");
  std::ofstream(scratch.path() + "/file") << "x";
  Finished run = RunToEnd({kPassthrough, scratch.path() + "/file"});
  EXPECT_EQ(run.how, ChildProcess::Exited(1));
  EXPECT_THAT(run.output, HasSubstr("Not a directory"));
}

TEST(PassthroughBinaryTest, BadUsageExitsWithTwoAndSaysWhy) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{kPassthrough}, "no directory to serve"},
      {{kPassthrough, "a", "b"}, "more than one directory"},
      {{kPassthrough, "--workers=-1", "/tmp"}, "bad value for --workers: \"-1\""},
      {{kPassthrough, "--bogus", "x", "/tmp"}, "unknown option \"--bogus\""},
      {{kPassthrough, "/tmp", "--name"}, "--name needs a value"},
      {{kPassthrough, "--check-access=yes", "/tmp"}, "--check-access takes no value"},
  };
  for (const auto& [args, why] : cases) {
    Finished run = RunToEnd(args);
    EXPECT_EQ(run.how, ChildProcess::Exited(2)) << why;
    EXPECT_THAT(run.output, HasSubstr(why));
    EXPECT_THAT(run.output, HasSubstr("usage:"));
  }
}

TEST(PassthroughBinaryTest, OptionsTakeTheirValueEitherWay) {
  // Both spellings reach the same check: a bad value, named as given.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{kPassthrough, "--allow-uid=x", "/tmp"},
        {kPassthrough, "--allow-uid", "x", "/tmp"}}) {
    Finished run = RunToEnd(args);
    EXPECT_EQ(run.how, ChildProcess::Exited(2));
    EXPECT_THAT(run.output, HasSubstr("bad value for --allow-uid: \"x\""));
  }
}

}  // namespace
}  // namespace syslink::examples::fs
