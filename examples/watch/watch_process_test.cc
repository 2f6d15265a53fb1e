// watch_server and watch_client as real processes around a syslinkd of the test's own: a
// watcher in one process sees exactly the puts of others, in order; a watcher killed with
// kill -9 is dropped by the server; and a server killed with kill -9 ends every watch with
// UNAVAILABLE (PEER_DIED) instead of leaving it waiting.

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "examples/watch/watch.syslink.h"
#include "gtest/gtest.h"
#include "rpc/connect.h"
#include "rpc/stream.h"
#include "syslink/status.h"
#include "tests/support/broker_process.h"
#include "tests/support/child_process.h"
#include "tests/support/eventually.h"

namespace syslink::examples::watch {
namespace {

using ::syslink::testing::BrokerProcess;
using ::syslink::testing::ChildProcess;
using ::syslink::testing::Eventually;
using ::syslink::testing::ScratchDirectory;

constexpr char kName[] = "test.examples.watch";

// A binary of this package in the test's runfiles.
std::string BinaryPath(const std::string& name) {
  const std::string relative = "examples/watch/" + name;
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (access(relative.c_str(), X_OK) != 0 && srcdir != nullptr && workspace != nullptr) {
    return absl::StrCat(srcdir, "/", workspace, "/", relative);
  }
  char resolved[PATH_MAX];
  return realpath(relative.c_str(), resolved) != nullptr ? resolved : relative;
}

// The read end of a pipe a child writes to, read a line at a time with a time limit.
class Output {
 public:
  explicit Output(int fd) : fd_(fd) {}
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;
  ~Output() { close(fd_); }

  // The next line, without its newline; nullopt at the end of the output or after `timeout`.
  std::optional<std::string> Line(absl::Duration timeout = absl::Seconds(10)) {
    const absl::Time give_up = absl::Now() + timeout;
    size_t newline;
    while ((newline = buffer_.find('\n')) == std::string::npos) {
      if (!Fill(give_up)) return std::nullopt;
    }
    std::string line = buffer_.substr(0, newline);
    buffer_.erase(0, newline + 1);
    return line;
  }
  // Everything up to the end of the output (what came by `timeout`).
  std::string Rest(absl::Duration timeout = absl::Seconds(10)) {
    const absl::Time give_up = absl::Now() + timeout;
    while (Fill(give_up)) {
    }
    return std::exchange(buffer_, "");
  }

 private:
  // Reads what comes before `give_up`; false at the end of the output or the time limit.
  bool Fill(absl::Time give_up) {
    pollfd poll_fd = {.fd = fd_, .events = POLLIN};
    const int ms = static_cast<int>(absl::ToInt64Milliseconds(give_up - absl::Now()));
    if (ms <= 0 || poll(&poll_fd, 1, ms) != 1) return false;
    char chunk[4096];
    const ssize_t n = read(fd_, chunk, sizeof(chunk));
    if (n <= 0) return false;
    buffer_.append(chunk, n);
    return true;
  }

  const int fd_;
  std::string buffer_;
};

// A child running a binary with `stdin_text` on its stdin and its stdout and stderr piped
// to us (stderr only with `pipe_stderr`: else into the test's log); no other descriptor of
// ours (a copy of a link end there would hide its closing).
struct Spawned {
  ChildProcess process;
  std::unique_ptr<Output> out;
  std::unique_ptr<Output> err;  // null without `pipe_stderr`
};

Spawned Spawn(std::vector<std::string> args, const std::string& stdin_text = "",
              bool pipe_stderr = true) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    std::abort();
  }
  ChildProcess child = ChildProcess::Exec(
      std::move(args),
      {.stdin_fd = in[0], .stdout_fd = out[1], .stderr_fd = pipe_stderr ? err[1] : -1});
  close(in[0]);
  close(out[1]);
  close(err[1]);
  if (!stdin_text.empty() && write(in[1], stdin_text.data(), stdin_text.size()) !=
                                 static_cast<ssize_t>(stdin_text.size())) {
    std::abort();  // more than a pipe holds: not what these tests send
  }
  close(in[1]);
  std::unique_ptr<Output> err_output = std::make_unique<Output>(err[0]);
  if (!pipe_stderr) err_output.reset();
  return {std::move(child), std::make_unique<Output>(out[0]), std::move(err_output)};
}

std::vector<std::string> Client(std::vector<std::string> args) {
  std::vector<std::string> argv = {BinaryPath("watch_client"), "--service", kName};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

struct ClientRun {
  std::string how;  // "exited 0"
  std::string out;
  std::string err;
};

// Runs watch_client to its end.
ClientRun RunClient(const std::vector<std::string>& args, const std::string& stdin_text = "") {
  Spawned client = Spawn(Client(args), stdin_text);
  ClientRun run;
  run.out = client.out->Rest();
  run.err = client.err->Rest();
  run.how = client.process.WaitFor(absl::Seconds(10));
  return run;
}

class WatchProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<BrokerProcess>> broker = BrokerProcess::Start(dir_.SocketPath());
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = *std::move(broker);
    setenv("SYSLINK_BROKER_SOCKET", dir_.SocketPath().c_str(), 1);  // for the children
    // The server's stderr goes to the test's log, where a sanitizer's report is seen.
    server_.emplace(Spawn({BinaryPath("watch_server"), "--name", kName}, "",
                          /*pipe_stderr=*/false));
    absl::StatusOr<std::shared_ptr<rpc::Channel>> channel;
    ASSERT_TRUE(Eventually([&] {  // until the server has registered
      channel = rpc::ConnectChannel(kName, broker_->ConnectOptions());
      return !absl::IsNotFound(channel.status());
    }));
    ASSERT_TRUE(channel.ok()) << channel.status();
    stub_.emplace(*channel);
  }
  void TearDown() override {
    stub_.reset();
    unsetenv("SYSLINK_BROKER_SOCKET");
  }

  // Starts `watch_client watch prefix` and waits until its watch has begun.
  Spawned StartWatcher(const std::string& prefix) {
    Spawned watcher = Spawn(Client({"watch", prefix}));
    std::optional<std::string> began = watcher.err->Line();
    EXPECT_TRUE(began.has_value() && absl::StrContains(*began, "watching")) << began.value_or("");
    return watcher;
  }

  // How many watches a put from this process was queued for.
  int PutHere(const std::string& key, const std::string& value) {
    PutRequest request;
    request.set_key(key);
    request.set_value(value);
    absl::StatusOr<PutResponse> response = stub_->Put(request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? response->watchers() : -1;
  }

  ScratchDirectory dir_{"watch"};
  std::unique_ptr<BrokerProcess> broker_;
  std::optional<Spawned> server_;
  std::optional<StoreStub> stub_;
};

TEST_F(WatchProcessTest, AWatcherSeesExactlyThePutsOfOtherProcessesInOrder) {
  Spawned watcher = StartWatcher("a/");
  EXPECT_EQ(RunClient({"put", "a/1", "one"}).how, ChildProcess::Exited(0));
  EXPECT_EQ(RunClient({"put", "b/1", "not watched"}).how, ChildProcess::Exited(0));
  EXPECT_EQ(RunClient({"put", "a/2", "two words"}).how, ChildProcess::Exited(0));
  ClientRun many = RunClient({"put-many"}, "a/3 three\nb/2 x\na/1 again\n");
  EXPECT_EQ(many.how, ChildProcess::Exited(0)) << many.err;
  EXPECT_EQ(many.out, "3 puts, revision 6\n");
  EXPECT_EQ(PutHere("a/last", "from the test"), 1);

  const std::vector<std::string> expected = {"1 a/1 one", "3 a/2 two words", "4 a/3 three",
                                             "6 a/1 again", "7 a/last from the test"};
  for (const std::string& line : expected) {
    EXPECT_EQ(watcher.out->Line().value_or("(no line within 10 s)"), line);
  }
  watcher.process.Kill(SIGKILL);
  EXPECT_EQ(watcher.out->Rest(), "");  // nothing more came
}

TEST_F(WatchProcessTest, KillingTheServerEndsEveryWatchWithPeerDied) {
  Spawned watcher = StartWatcher("");
  rpc::ClientContext context;
  context.set_timeout(absl::Seconds(30));  // a watch left waiting fails the test, not hangs it
  std::unique_ptr<rpc::ClientReader<Change>> here = stub_->Watch(WatchRequest(), &context);
  Change change;
  ASSERT_TRUE(here->Read(&change));  // the watch has begun
  EXPECT_EQ(PutHere("k", "v"), 2);
  ASSERT_TRUE(here->Read(&change));
  EXPECT_EQ(change.key(), "k");
  EXPECT_EQ(watcher.out->Line().value_or("(no line within 10 s)"), "1 k v");

  server_->process.Kill(SIGKILL);
  EXPECT_EQ(server_->process.Wait(), ChildProcess::KilledBy(SIGKILL));
  EXPECT_FALSE(here->Read(&change));
  absl::Status status = here->Finish();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_TRUE(IsPeerDied(status)) << status;

  EXPECT_EQ(watcher.process.WaitFor(absl::Seconds(10)), ChildProcess::Exited(3));
  EXPECT_EQ(watcher.out->Rest(), "");
  std::string said = watcher.err->Rest();
  EXPECT_TRUE(absl::StrContains(said, "the server died")) << said;
  EXPECT_TRUE(absl::StrContains(said, "PEER_DIED")) << said;
}

TEST_F(WatchProcessTest, AWatcherKilledWithSigkillIsDropped) {
  Spawned watcher = StartWatcher("");
  EXPECT_EQ(PutHere("k", "1"), 1);
  watcher.process.Kill(SIGKILL);
  EXPECT_EQ(watcher.process.Wait(), ChildProcess::KilledBy(SIGKILL));
  EXPECT_TRUE(Eventually([&] { return PutHere("k", "again") == 0; }));
}

TEST_F(WatchProcessTest, SigtermStopsTheServerAndEndsItsWatchesWithUnavailable) {
  Spawned watcher = StartWatcher("");
  server_->process.Kill(SIGTERM);
  EXPECT_EQ(server_->process.WaitFor(absl::Seconds(10)), ChildProcess::Exited(0));
  EXPECT_EQ(watcher.process.WaitFor(absl::Seconds(10)), ChildProcess::Exited(1));
  const std::string said = watcher.err->Rest();
  EXPECT_TRUE(absl::StrContains(said, "UNAVAILABLE: the store is stopping")) << said;
}

TEST_F(WatchProcessTest, GetPrintsWhatPutStored) {
  EXPECT_EQ(RunClient({"put", "greeting", "hello there"}).out,
            "revision 1, queued for 0 watches\n");
  ClientRun get = RunClient({"get", "greeting"});
  EXPECT_EQ(get.how, ChildProcess::Exited(0));
  EXPECT_EQ(get.out, "hello there\n");
}

TEST_F(WatchProcessTest, ClientFailuresExitWithOneAndBadArgumentsWithTwo) {
  ClientRun missing = RunClient({"get", "nothing"});
  EXPECT_EQ(missing.how, ChildProcess::Exited(1));
  EXPECT_TRUE(absl::StrContains(missing.err, "NOT_FOUND")) << missing.err;
  EXPECT_EQ(RunClient({"put", "", "empty key"}).how, ChildProcess::Exited(1));
  EXPECT_EQ(RunClient({"put", "only-a-key"}).how, ChildProcess::Exited(2));
  EXPECT_EQ(RunClient({"bogus"}).how, ChildProcess::Exited(2));
  ClientRun elsewhere = RunClient({"--service", "test.examples.watch.none", "get", "k"});
  EXPECT_EQ(elsewhere.how, ChildProcess::Exited(1));
  EXPECT_TRUE(absl::StrContains(elsewhere.err,
                                "cannot connect to test.examples.watch.none: "
                                "NOT_FOUND"))
      << elsewhere.err;
  ClientRun spelled_with_equals = RunClient({"--service=test.examples.watch.none", "get", "k"});
  EXPECT_EQ(spelled_with_equals.how, ChildProcess::Exited(1));
  EXPECT_TRUE(
      absl::StrContains(spelled_with_equals.err, "cannot connect to test.examples.watch.none"))
      << spelled_with_equals.err;
  ClientRun unknown = RunClient({"--services", "x", "get", "k"});
  EXPECT_EQ(unknown.how, ChildProcess::Exited(2));
  EXPECT_TRUE(absl::StrContains(unknown.err, "bad argument \"--services\"")) << unknown.err;
}

TEST(WatchBinaryTest, HelpDescribesEveryCommandAndOption) {
  Spawned server = Spawn({BinaryPath("watch_server"), "--help"});
  std::string text = server.out->Rest();
  EXPECT_EQ(server.process.Wait(), ChildProcess::Exited(0));
  for (const char* word : {"usage:", "--name", "SIGTERM"}) {
    EXPECT_TRUE(absl::StrContains(text, word)) << word;
  }
  Spawned client = Spawn({BinaryPath("watch_client"), "--help"});
  text = client.out->Rest();
  EXPECT_EQ(client.process.Wait(), ChildProcess::Exited(0));
  for (const char* word : {"usage:", "--service", "watch [PREFIX]", "put KEY VALUE", "get KEY",
                           "put-many", "Exit status"}) {
    EXPECT_TRUE(absl::StrContains(text, word)) << word;
  }
}

}  // namespace
}  // namespace syslink::examples::watch
