// Which binary a broker started on demand runs, across real processes: tests/broker_user
// is copied into a directory of the test's own, with or without a syslinkd beside it, and
// run from there. With one, the broker is that syslinkd; without, it is the program
// re-executed. A program rebuilt (its file replaced) while its broker runs: the broker goes
// on serving, new clients connect, and a broker the old program starts again runs the old
// program's code.

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "syslink/broker/client.h"
#include "syslink/link.h"
#include "tests/support/broker_process.h"
#include "tests/support/child_process.h"
#include "tests/support/eventually.h"
#include "tests/support/other_user.h"
#include "tests/support/process_event.h"

namespace syslink::broker {
namespace {

using ::syslink::testing::AutoStartedBrokers;
using ::syslink::testing::ChildProcess;
using ::syslink::testing::EmbeddedBrokersFor;
using ::syslink::testing::Eventually;
using ::syslink::testing::ForkTied;
using ::syslink::testing::ListBrokerAt;
using ::syslink::testing::ProcessEvent;
using ::syslink::testing::RunfilePath;
using ::syslink::testing::ScratchDirectory;
using ::syslink::testing::SyslinkdPath;
using ::syslink::testing::WaitUntilGone;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Longer than tests/support's kPatience: these waits include starting a broker process.
constexpr absl::Duration kStartPatience = absl::Seconds(20);
constexpr char kService[] = "test.autostart";

// Puts a copy of `from` at `to`, as installing or rebuilding a program does: whatever was
// at `to` is unlinked first, and the copy is a new file.
void Install(const std::string& from, const std::string& to) {
  unlink(to.c_str());
  std::filesystem::copy_file(from, to);
  ASSERT_EQ(chmod(to.c_str(), 0755), 0) << to;
}

std::string ExecutableOf(pid_t pid) {
  std::error_code error;
  return std::filesystem::read_symlink(absl::StrCat("/proc/", pid, "/exe"), error).string();
}

std::vector<std::string> CommandLineOf(pid_t pid) {
  std::ifstream file(absl::StrCat("/proc/", pid, "/cmdline"), std::ios::binary);
  std::string cmdline((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  return absl::StrSplit(cmdline, '\0', absl::SkipEmpty());
}

// `program serve SOCKET kService`, run as a child of this test; returns once registered.
class ServerProgram {
 public:
  ServerProgram(const std::string& program, const std::string& socket_path) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) std::abort();
    UniqueFd read_end(fds[0]), write_end(fds[1]);
    process_.emplace(ForkTied([&] {
      if (dup2(write_end.get(), 3) != 3) return 126;  // dup2 leaves it open across exec
      execl(program.c_str(), program.c_str(), "serve", socket_path.c_str(), kService, "3", nullptr);
      return 127;
    }));
    write_end.Reset();
    char byte;
    ready_ = read(read_end.get(), &byte, 1) == 1;
  }

  bool ready() const { return ready_; }

 private:
  std::optional<ChildProcess> process_;
  bool ready_ = false;
};

// `program connect SOCKET kService`: how it ended.
std::string ConnectWith(const std::string& program, const std::string& socket_path) {
  ChildProcess client = ForkTied([&] {
    execl(program.c_str(), program.c_str(), "connect", socket_path.c_str(), kService, nullptr);
    return 127;
  });
  return client.WaitFor(kStartPatience);
}

// The broker answering at `socket_path` with kService registered, other than `not`; -1 if
// none comes within the patience.
pid_t BrokerServing(const std::string& socket_path, pid_t not_this = -1) {
  pid_t found = -1;
  Eventually(
      [&] {
        absl::StatusOr<Listing> listing = ListBrokerAt(socket_path, absl::Milliseconds(100));
        if (!listing.ok() || listing->broker_pid == not_this) return false;
        for (const ServiceListing& s : listing->services) {
          if (s.name == kService) found = listing->broker_pid;
        }
        return found > 0;
      },
      kStartPatience);
  return found;
}

TEST(AutoStartTest, RunsTheSyslinkdInstalledBesideTheProgram) {
  ScratchDirectory dir("beside");
  AutoStartedBrokers cleanup(dir.SocketPath());
  const std::string program = dir.path() + "/broker_user";
  Install(RunfilePath("tests/broker_user"), program);
  Install(SyslinkdPath(), dir.path() + "/syslinkd");
  ServerProgram server(program, dir.SocketPath());
  ASSERT_TRUE(server.ready());
  pid_t broker = BrokerServing(dir.SocketPath());
  ASSERT_GT(broker, 0);
  EXPECT_EQ(ExecutableOf(broker), dir.path() + "/syslinkd");
  EXPECT_THAT(CommandLineOf(broker),
              ElementsAre("syslinkd", "--socket", dir.SocketPath(), "--idle-exit=1m"));
  // (A broker started a second time, had the first been slow, leaves at once.)
  EXPECT_TRUE(Eventually([&] { return EmbeddedBrokersFor(dir.SocketPath()).size() == 1; }));
  EXPECT_THAT(EmbeddedBrokersFor(dir.SocketPath()), ElementsAre(broker));
  EXPECT_EQ(ConnectWith(program, dir.SocketPath()), ChildProcess::Exited(0));
}

TEST(AutoStartTest, ReexecutesTheProgramWhenNoSyslinkdIsBesideIt) {
  ScratchDirectory dir("reexec");
  AutoStartedBrokers cleanup(dir.SocketPath());
  const std::string program = dir.path() + "/broker_user";
  Install(RunfilePath("tests/broker_user"), program);
  ServerProgram server(program, dir.SocketPath());
  ASSERT_TRUE(server.ready());
  pid_t broker = BrokerServing(dir.SocketPath());
  ASSERT_GT(broker, 0);
  EXPECT_EQ(ExecutableOf(broker), program);
  EXPECT_THAT(CommandLineOf(broker), Contains("--idle-exit=1m"));
  EXPECT_EQ(ConnectWith(program, dir.SocketPath()), ChildProcess::Exited(0));
}

// A syslinkd beside the program that others may write is not run: whoever can change it
// would run code as every user of the program.
TEST(AutoStartTest, IgnoresASyslinkdBesideTheProgramThatOthersMayWrite) {
  ScratchDirectory dir("writable");
  AutoStartedBrokers cleanup(dir.SocketPath());
  const std::string program = dir.path() + "/broker_user";
  Install(RunfilePath("tests/broker_user"), program);
  Install(SyslinkdPath(), dir.path() + "/syslinkd");
  ASSERT_EQ(chmod((dir.path() + "/syslinkd").c_str(), 0777), 0);
  ServerProgram server(program, dir.SocketPath());
  ASSERT_TRUE(server.ready());
  pid_t broker = BrokerServing(dir.SocketPath());
  ASSERT_GT(broker, 0);
  EXPECT_EQ(ExecutableOf(broker), program);
}

// The program is rebuilt (its file replaced by a new one) while the broker it started
// runs: that broker goes on serving, and a client run from the new file connects. When the
// broker is killed, the old program starts another by re-executing itself: /proc/self/exe
// still names the old, deleted file, so the new broker runs the same code as the program
// that started it, and serves again.
TEST(AutoStartTest, BrokerOutlivesARebuildOfItsProgramAndIsStartedAgainFromTheOldFile) {
  ScratchDirectory dir("rebuild");
  AutoStartedBrokers cleanup(dir.SocketPath());
  const std::string program = dir.path() + "/broker_user";
  Install(RunfilePath("tests/broker_user"), program);
  ServerProgram server(program, dir.SocketPath());
  ASSERT_TRUE(server.ready());
  const pid_t first = BrokerServing(dir.SocketPath());
  ASSERT_GT(first, 0);
  ASSERT_EQ(ExecutableOf(first), program);

  Install(RunfilePath("tests/broker_user"), program);  // the rebuild
  EXPECT_EQ(ExecutableOf(first), program + " (deleted)");
  EXPECT_EQ(ConnectWith(program, dir.SocketPath()), ChildProcess::Exited(0));
  EXPECT_EQ(BrokerServing(dir.SocketPath()), first);

  ASSERT_EQ(kill(first, SIGKILL), 0);
  ASSERT_TRUE(WaitUntilGone(first, kStartPatience));
  const pid_t second = BrokerServing(dir.SocketPath(), first);
  ASSERT_GT(second, 0) << "the server did not register again with a broker it started";
  EXPECT_EQ(ExecutableOf(second), program + " (deleted)");
  EXPECT_EQ(ConnectWith(program, dir.SocketPath()), ChildProcess::Exited(0));
}

// A broker of another build closes every connection whose messages have another protocol
// version, unanswered. A client tells which process that is instead of a bare hang-up.
TEST(AutoStartTest, ABrokerThatHangsUpEveryTimeIsNamed) {
  ScratchDirectory dir("hangup");
  ProcessEvent listening;
  ChildProcess other_build = ForkTied([&] {
    UniqueFd listener(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    sockaddr_un address = {};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, dir.SocketPath().c_str(), sizeof(address.sun_path) - 1);
    if (bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        listen(listener.get(), 16) != 0) {
      return 1;
    }
    listening.Notify();
    while (true) {
      UniqueFd connection(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
      char packet[4096];
      if (connection.valid()) (void)recv(connection.get(), packet, sizeof(packet), 0);
    }
  });
  ASSERT_TRUE(listening.WaitFor(kStartPatience));

  absl::StatusOr<Link> link = ConnectToService(
      kService,
      {.socket_path = dir.SocketPath(), .start_broker = false, .timeout = kStartPatience});
  ASSERT_FALSE(link.ok());
  EXPECT_EQ(link.status().code(), absl::StatusCode::kUnavailable);
  const std::string message(link.status().message());
  EXPECT_THAT(message, HasSubstr(absl::StrCat("(pid ", other_build.pid(), ") hung up 4 times")));
  EXPECT_THAT(message, HasSubstr(absl::StrCat("kill ", other_build.pid())));
}

}  // namespace
}  // namespace syslink::broker
