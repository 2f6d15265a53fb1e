// Trust in whom a call is for, across real processes: a syslinkd and a file server (memfs,
// the passthrough) run as root; a client that is root may name another caller for its
// calls (as fs_mount does), and a client running as an unprivileged user (uid 65534, by
// setuid: the test needs root) that claims another identity is refused PERMISSION_DENIED,
// nothing is done, and the server logs it. Supplementary groups the broker-attested
// process has count for its calls.

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "examples/fs/fs_client.h"
#include "examples/fs/memfs_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc/connect.h"
#include "tests/support/broker_process.h"
#include "tests/support/child_process.h"
#include "tests/support/other_user.h"
#include "tests/support/registered_service.h"

namespace syslink::examples::fs {
namespace {

using ::syslink::testing::BrokerProcess;
using ::syslink::testing::CanRunAsOtherUsers;
using ::syslink::testing::ChildProcess;
using ::syslink::testing::ConnectWhenRegistered;
using ::syslink::testing::ForkAs;
using ::syslink::testing::kNeedsRoot;
using ::syslink::testing::ScratchDirectory;
using ::syslink::testing::UserIdentity;
using ::testing::HasSubstr;

constexpr char kName[] = "test.examples.fs.callers";
constexpr gid_t kProjects = 4444;
const UserIdentity kMember = {65534, 65534, {kProjects}};
const UserIdentity kStranger = {65533, 65533, {}};

enum class Server { kMemfs, kPassthrough };

std::string ServerName(const ::testing::TestParamInfo<Server>& info) {
  return info.param == Server::kMemfs ? "Memfs" : "Passthrough";
}

// A binary of this repository in the test's runfiles ("examples/fs/memfs").
std::string BinaryPath(const std::string& relative) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (access(relative.c_str(), X_OK) != 0 && srcdir != nullptr && workspace != nullptr) {
    return absl::StrCat(srcdir, "/", workspace, "/", relative);
  }
  char resolved[PATH_MAX];
  return realpath(relative.c_str(), resolved) != nullptr ? resolved : relative;
}

std::string FileText(const std::string& path) {
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  return text.str();
}

OnBehalfOf Claim(uid_t uid, gid_t gid) {
  OnBehalfOf claim;
  claim.set_uid(uid);
  claim.set_gid(gid);
  return claim;
}

class CallerProcessTest : public ::testing::TestWithParam<Server> {
 protected:
  void SetUp() override {
    if (!CanRunAsOtherUsers()) GTEST_SKIP() << kNeedsRoot;
    // A broker other users may reach, as a machine's syslinkd is.
    absl::StatusOr<std::unique_ptr<BrokerProcess>> broker =
        BrokerProcess::Start(dir_.SocketPath(), {"--socket-mode", "666"});
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = *std::move(broker);
    std::vector<std::string> argv;
    if (GetParam() == Server::kMemfs) {
      argv = {BinaryPath("examples/fs/memfs"), "--size", "16M", "--root-mode", "0777"};
    } else {
      served_ = dir_.path() + "/served";
      ASSERT_EQ(mkdir(served_.c_str(), 0777), 0);
      ASSERT_EQ(chmod(served_.c_str(), 0777), 0);
      argv = {BinaryPath("examples/fs/passthrough/passthrough"), served_};
    }
    for (const char* more : {"--name", kName, "--allow-uid", "65534", "--allow-uid", "65533"}) {
      argv.push_back(more);
    }
    const std::string socket = dir_.SocketPath();
    const std::string log = server_log();
    const int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(log_fd, 0) << log;
    server_.emplace(ChildProcess::Exec(
        std::move(argv), {.stderr_fd = log_fd, .parent_death_signal = SIGKILL, .before_exec = [&] {
                            return setenv("SYSLINK_BROKER_SOCKET", socket.c_str(), 1);
                          }}));
    close(log_fd);
    root_ = Connect();
    ASSERT_NE(root_, nullptr);
  }

  // A client of this process (root), waiting for the server to register.
  std::unique_ptr<FsClient> Connect() {
    absl::StatusOr<std::shared_ptr<rpc::Channel>> channel =
        ConnectWhenRegistered(kName, broker_->ConnectOptions());
    if (channel.ok()) return std::make_unique<FsClient>(*channel);
    ADD_FAILURE() << channel.status() << "\n" << FileText(server_log());
    return nullptr;
  }

  // Runs `body` with a client of the server in a child process of user `who`; how the
  // child ended (its exit code says which step failed).
  std::string AsClient(const UserIdentity& who, const std::function<int(FsClient&)>& body) {
    const broker::BrokerConnectOptions options = broker_->ConnectOptions();
    ChildProcess child = ForkAs(who, [&] {
      absl::StatusOr<std::shared_ptr<rpc::Channel>> channel = rpc::ConnectChannel(kName, options);
      if (!channel.ok()) {
        std::fprintf(stderr, "connect as %d: %s\n", getuid(), channel.status().ToString().c_str());
        return 100;
      }
      FsClient client(*channel);
      return body(client);
    });
    return child.WaitFor(absl::Seconds(30));
  }

  std::string server_log() const { return dir_.path() + "/server.log"; }

  ScratchDirectory dir_{"callers", 0755};
  std::string served_;
  std::unique_ptr<BrokerProcess> broker_;
  std::optional<ChildProcess> server_;
  std::unique_ptr<FsClient> root_;
};

TEST_P(CallerProcessTest, AnUnprivilegedClientThatClaimsAnotherIdentityIsRefusedAndLogged) {
  const std::string how = AsClient(kMember, [&](FsClient& client) {
    absl::StatusOr<InitResponse> init = client.Init();
    if (!init.ok() || init->acts_for_others()) return 1;
    client.set_on_behalf_of(Claim(0, 0));
    absl::StatusOr<Entry> claimed = client.Mkdir(kRootIno, "claimed", 0755);
    if (claimed.status().code() != absl::StatusCode::kPermissionDenied) return 2;
    client.set_on_behalf_of(std::nullopt);
    absl::StatusOr<Entry> own = client.Mkdir(kRootIno, "own", 0755);
    if (!own.ok()) return 3;
    return 0;
  });
  EXPECT_EQ(how, ChildProcess::Exited(0)) << FileText(server_log());
  EXPECT_EQ(Errno(root_->Lookup(kRootIno, "claimed")), "ENOENT");
  absl::StatusOr<Entry> own = root_->Lookup(kRootIno, "own");
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_EQ(own->attr().uid(), kMember.uid);
  const std::string log = FileText(server_log());
  EXPECT_THAT(log, HasSubstr("refused a call from pid"));
  EXPECT_THAT(log, HasSubstr("(uid 65534, gid 65534) claiming to act for uid 0"));
}

TEST_P(CallerProcessTest, RootMayCallForAnotherUser) {
  absl::StatusOr<InitResponse> init = root_->Init();
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_TRUE(init->acts_for_others());
  root_->set_on_behalf_of(Claim(kStranger.uid, kStranger.gid));
  absl::StatusOr<Entry> made = root_->Mkdir(kRootIno, "for-stranger", 0700);
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_EQ(made->attr().uid(), kStranger.uid);
  if (!served_.empty()) {
    struct stat st;
    ASSERT_EQ(stat((served_ + "/for-stranger").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, kStranger.uid);
  }
  // The stranger's directory is the stranger's: the member may not make a name in it.
  EXPECT_EQ(AsClient(kMember,
                     [&](FsClient& client) {
                       return Errno(client.Mkdir(made->ino(), "x", 0755)) == "EACCES" ? 0 : 1;
                     }),
            ChildProcess::Exited(0));
}

TEST_P(CallerProcessTest, TheAttestedSupplementaryGroupsOfADirectClientCount) {
  absl::StatusOr<FsClient::Created> created =
      root_->Create(kRootIno, "group-only", 0640, O_WRONLY | O_EXCL);
  ASSERT_TRUE(created.ok()) << created.status();
  ASSERT_TRUE(root_->Release(created->entry.ino(), created->fh).ok());
  SetAttrRequest chgrp;
  chgrp.set_ino(created->entry.ino());
  chgrp.set_valid(SET_ATTR_GID);
  chgrp.set_gid(kProjects);
  ASSERT_TRUE(root_->SetAttr(chgrp).ok());
  auto open_to_read = [](FsClient& client) {
    absl::StatusOr<LookupRef> file = client.Resolve("/group-only");
    if (!file.ok()) return std::string("lookup: ") + std::string(file.status().message());
    return Errno(client.Open(file->ino(), O_RDONLY));
  };
  EXPECT_EQ(
      AsClient(kMember, [&](FsClient& client) { return open_to_read(client) == "OK" ? 0 : 1; }),
      ChildProcess::Exited(0));
  EXPECT_EQ(AsClient(kStranger,
                     [&](FsClient& client) { return open_to_read(client) == "EACCES" ? 0 : 1; }),
            ChildProcess::Exited(0));
}

INSTANTIATE_TEST_SUITE_P(Servers, CallerProcessTest,
                         ::testing::Values(Server::kMemfs, Server::kPassthrough), ServerName);

}  // namespace
}  // namespace syslink::examples::fs
