// Trust in who answers, attacked by a second local user (real processes run as uid 65534
// and 65533 with setuid; skipped unless the test runs as root):
//
// - a fake broker in a directory another user made where the victim's broker would be
//   (/tmp/syslink-$UID when $XDG_RUNTIME_DIR is unset) is refused before anything is sent;
// - a broker process of another user is refused even in a directory the client trusts,
//   unless the client names that uid;
// - service names have owners: a squatter cannot take a name, not even the moment its
//   server dies; a policy file gives names to users and groups (supplementary ones too);
// - a client can require its server's uid and gid, and always learns who serves it.

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc/connect.h"
#include "rpc/link_channel.h"
#include "syslink/broker/client.h"
#include "syslink/broker/run.h"
#include "syslink/link.h"
#include "tests/support/broker_process.h"
#include "tests/support/child_process.h"
#include "tests/support/eventually.h"
#include "tests/support/other_user.h"
#include "tests/support/process_event.h"

namespace syslink::broker {
namespace {

using ::syslink::testing::BrokerProcess;
using ::syslink::testing::CanRunAsOtherUsers;
using ::syslink::testing::ChildProcess;
using ::syslink::testing::Eventually;
using ::syslink::testing::ForkAs;
using ::syslink::testing::ForkTied;
using ::syslink::testing::kNeedsRoot;
using ::syslink::testing::kNobodyUser;
using ::syslink::testing::kPatience;
using ::syslink::testing::kSecondUser;
using ::syslink::testing::ListBrokerAt;
using ::syslink::testing::ProcessEvent;
using ::syslink::testing::ScratchDirectory;
using ::syslink::testing::Shared;
using ::syslink::testing::SharedStatus;
using ::syslink::testing::Soon;
using ::syslink::testing::UserIdentity;
using ::testing::AllOf;
using ::testing::HasSubstr;

std::string Uid(uid_t uid) { return absl::StrCat("uid ", uid); }

// Options that reach the broker at `path` trusting `broker_uid` too, and start none.
BrokerConnectOptions Trusting(const std::string& path, uid_t broker_uid) {
  return {
      .socket_path = path, .start_broker = false, .timeout = kPatience, .broker_uid = broker_uid};
}

// ---- Dialing only a broker the caller can trust. ---------------------------------------

class FakeBrokerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!CanRunAsOtherUsers()) GTEST_SKIP() << kNeedsRoot;
  }
};

// The attack as it was filed: the victim (uid 65533) has no $XDG_RUNTIME_DIR, so its
// broker would be /tmp/syslink-65533/broker.sock. Another user (nobody) made that directory
// first (mode 755, theirs) and runs a broker in it with --socket-mode 666. The victim's
// server and client must refuse it, naming the path and its owner, and send nothing there.
TEST_F(FakeBrokerTest, VictimRefusesABrokerInADirectoryAnotherUserMade) {
  const std::string directory = absl::StrCat("/tmp/syslink-", kSecondUser.uid);
  const std::string socket_path = directory + "/broker.sock";
  std::filesystem::remove_all(directory);
  ProcessEvent made;
  ChildProcess attacker = ForkAs(kNobodyUser, [&] {
    if (mkdir(directory.c_str(), 0755) != 0) return 1;
    made.Notify();
    RunOptions run;
    run.broker = {.socket_path = socket_path, .socket_mode = 0666};
    return RunBrokerProcess(run);
  });
  ASSERT_TRUE(made.WaitFor(kPatience));
  absl::StatusOr<Listing> before = ListBroker(Trusting(socket_path, kNobodyUser.uid));
  ASSERT_TRUE(before.ok()) << before.status();

  Shared<SharedStatus> registered, connected;
  ChildProcess victim = ForkAs(kSecondUser, [&] {
    unsetenv("XDG_RUNTIME_DIR");
    unsetenv("SYSLINK_BROKER_SOCKET");
    registered->Set(ServiceRegistration::Register("victim.secrets").status());
    connected->Set(ConnectToService("victim.secrets").status());
    return 0;
  });
  EXPECT_EQ(victim.WaitFor(kPatience), ChildProcess::Exited(0));
  for (const SharedStatus* reported : {&*registered, &*connected}) {
    absl::Status status = reported->Get();
    EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << status;
    EXPECT_THAT(std::string(status.message()),
                AllOf(HasSubstr(directory), HasSubstr(Uid(kNobodyUser.uid))));
  }
  // The fake broker saw no connection but this listing's own.
  absl::StatusOr<Listing> after = ListBroker(Trusting(socket_path, kNobodyUser.uid));
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->counters.connections, before->counters.connections + 1);
  EXPECT_TRUE(after->services.empty());
  attacker.Kill(SIGKILL);
  attacker.Wait();
  std::filesystem::remove_all(directory);
}

// A listening socket bound by root in a root directory, then handed to nobody: the broker's
// directory is one the client trusts, but the process answering is another user's.
TEST_F(FakeBrokerTest, BrokerOfAnotherUserIsRefusedUnlessNamed) {
  ScratchDirectory dir("fake", 0755);
  const std::string socket_path = dir.SocketPath();
  Shared<std::atomic<int>> bytes_received;
  ProcessEvent listening, connection_done;
  ChildProcess fake = ForkTied([&] {
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    sockaddr_un address = {};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, socket_path.c_str(), sizeof(address.sun_path) - 1);
    if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) return 1;
    chmod(socket_path.c_str(), 0666);
    // SO_PEERCRED reports who called listen().
    if (setgid(kNobodyUser.gid) != 0 || setuid(kNobodyUser.uid) != 0) return 2;
    if (listen(fd, 16) != 0) return 3;
    listening.Notify();
    while (true) {
      int connection = accept(fd, nullptr, nullptr);
      if (connection < 0) return 4;
      char buffer[4096];
      ssize_t n;
      while ((n = recv(connection, buffer, sizeof(buffer), 0)) > 0) bytes_received->fetch_add(n);
      close(connection);
      connection_done.Notify();
    }
  });
  ASSERT_TRUE(listening.WaitFor(kPatience));

  BrokerConnectOptions options{
      .socket_path = socket_path, .start_broker = false, .timeout = absl::Seconds(1)};
  absl::StatusOr<Link> refused = ConnectToService("test.anything", options);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()),
              AllOf(HasSubstr(socket_path), HasSubstr(absl::StrCat("runs as ", Uid(65534)))));
  ASSERT_TRUE(connection_done.WaitFor(kPatience));
  EXPECT_EQ(bytes_received->load(), 0) << "the client sent something to an untrusted broker";

  // Named as the broker's uid, it is trusted: the client asks (and this fake never answers).
  options.broker_uid = kNobodyUser.uid;
  absl::StatusOr<Link> asked = ConnectToService("test.anything", options);
  EXPECT_EQ(asked.status().code(), absl::StatusCode::kDeadlineExceeded) << asked.status();
  ASSERT_TRUE(connection_done.WaitFor(kPatience));
  EXPECT_GT(bytes_received->load(), 0);
}

TEST(BrokerDirectoryTest, DirectoryOthersMayWriteIsRefused) {
  ScratchDirectory dir("open", 0777);
  absl::StatusOr<Link> link =
      ConnectToService("test.anything", {.socket_path = dir.SocketPath(), .start_broker = false});
  EXPECT_EQ(link.status().code(), absl::StatusCode::kPermissionDenied) << link.status();
  EXPECT_THAT(std::string(link.status().message()),
              AllOf(HasSubstr(dir.path()), HasSubstr("writable by others")));
}

// ---- Names have owners. ------------------------------------------------------------------

// A machine-wide broker (root, socket 0666 in a root directory), with a policy file or none.
class NameOwnerTest : public ::testing::Test {
 protected:
  void StartBroker(const std::string& policy = "") {
    if (!CanRunAsOtherUsers()) GTEST_SKIP() << kNeedsRoot;
    std::vector<std::string> args = {"--socket-mode", "666"};
    if (!policy.empty()) {
      std::string path = dir_.path() + "/names.policy";
      std::ofstream(path) << policy;
      args.insert(args.end(), {"--policy", path});
    }
    absl::StatusOr<std::unique_ptr<BrokerProcess>> broker =
        BrokerProcess::Start(dir_.SocketPath(), args);
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = *std::move(broker);
    options_ = broker_->ConnectOptions();
  }
  void TearDown() override {
    if (broker_ != nullptr) {
      EXPECT_EQ(broker_->Stop(), ChildProcess::Exited(0));
    }
  }

  // What Register(name) says when `who` asks.
  absl::Status RegisterAs(const UserIdentity& who, const std::string& name) {
    Shared<SharedStatus> status;
    ChildProcess child = ForkAs(who, [&] {
      status->Set(
          ServiceRegistration::Register(name, AccessPolicy::SameUser(), {}, options_).status());
      return 0;
    });
    EXPECT_EQ(child.WaitFor(kPatience), ChildProcess::Exited(0));
    return status->Get();
  }

  ScratchDirectory dir_{"names", 0755};
  std::unique_ptr<BrokerProcess> broker_;
  BrokerConnectOptions options_;
};

TEST_F(NameOwnerTest, WithoutAPolicyOnlyTheBrokersUserRegisters) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  if (broker_ == nullptr) return;
  absl::Status squatter = RegisterAs(kNobodyUser, "test.anything");
  EXPECT_EQ(squatter.code(), absl::StatusCode::kPermissionDenied) << squatter;
  EXPECT_THAT(std::string(squatter.message()),
              AllOf(HasSubstr(Uid(kNobodyUser.uid)), HasSubstr("\"test.anything\""),
                    HasSubstr("--policy")));
  EXPECT_TRUE(
      ServiceRegistration::Register("test.anything", AccessPolicy::SameUser(), {}, options_).ok());
}

// The squatter: it tries to take root's name over and over, before and right after
// the server dies; the name stays root's, who registers it again.
TEST_F(NameOwnerTest, SquatterCannotTakeANameNotEvenWhenItsServerDies) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  if (broker_ == nullptr) return;
  ProcessEvent registered;
  ChildProcess server = ForkTied([&] {
    absl::StatusOr<ServiceRegistration> service =
        ServiceRegistration::Register("test.important", AccessPolicy::SameUser(), {}, options_);
    if (!service.ok()) return 1;
    registered.Notify();
    pause();
    return 0;
  });
  ASSERT_TRUE(registered.WaitFor(kPatience));
  struct Tally {
    std::atomic<int> attempts{0};
    std::atomic<int> denied{0};
    std::atomic<int> stop{0};
    SharedStatus other;  // anything but PERMISSION_DENIED
  };
  Shared<Tally> tally;
  ChildProcess squatter = ForkAs(kNobodyUser, [&] {
    while (tally->stop.load() == 0) {
      absl::Status s =
          ServiceRegistration::Register("test.important", AccessPolicy::SameUser(), {}, options_)
              .status();
      if (absl::IsPermissionDenied(s)) {
        tally->denied.fetch_add(1);
      } else {
        tally->other.Set(s);
      }
      tally->attempts.fetch_add(1);
    }
    return 0;
  });
  ASSERT_TRUE(Eventually([&] { return tally->attempts.load() >= 20; }));
  server.Kill(SIGKILL);
  server.Wait();
  ASSERT_TRUE(Eventually([&] {
    absl::StatusOr<Listing> listing = ListBrokerAt(dir_.SocketPath());
    return listing.ok() && listing->services.empty();
  }));
  int at_death = tally->attempts.load();
  ASSERT_TRUE(Eventually([&] { return tally->attempts.load() >= at_death + 50; }));
  tally->stop.store(1);
  EXPECT_EQ(squatter.WaitFor(kPatience), ChildProcess::Exited(0));
  RecordProperty("squatter_attempts", absl::StrCat(tally->attempts.load()));
  EXPECT_FALSE(tally->other.reported()) << tally->other.Get();
  EXPECT_EQ(tally->denied.load(), tally->attempts.load());
  absl::StatusOr<ServiceRegistration> again =
      ServiceRegistration::Register("test.important", AccessPolicy::SameUser(), {}, options_);
  EXPECT_TRUE(again.ok()) << again.status();
}

constexpr gid_t kStaff = 4242;

constexpr char kPolicy[] =
    "# names other users may register\n"
    "test.alpha       uid=65534\n"
    "test.staff.*     gid=4242   # a supplementary group\n"
    "test.*           uid=1000\n";

TEST_F(NameOwnerTest, PolicyGivesNamesToItsOwnersOnly) {
  ASSERT_NO_FATAL_FAILURE(StartBroker(kPolicy));
  if (broker_ == nullptr) return;
  EXPECT_TRUE(RegisterAs(kNobodyUser, "test.alpha").ok());
  absl::Status other_user = RegisterAs(kSecondUser, "test.alpha");
  EXPECT_EQ(other_user.code(), absl::StatusCode::kPermissionDenied) << other_user;
  EXPECT_THAT(std::string(other_user.message()),
              AllOf(HasSubstr("line 2"), HasSubstr("gives it to uid 65534")));
  absl::Status prefix = RegisterAs(kNobodyUser, "test.beta");  // "test.*" is uid 1000's
  EXPECT_EQ(prefix.code(), absl::StatusCode::kPermissionDenied) << prefix;
  EXPECT_THAT(std::string(prefix.message()), HasSubstr("\"test.*\""));
  absl::Status uncovered = RegisterAs(kNobodyUser, "other.name");
  EXPECT_EQ(uncovered.code(), absl::StatusCode::kPermissionDenied) << uncovered;
  EXPECT_THAT(std::string(uncovered.message()), HasSubstr("no rule"));
}

TEST_F(NameOwnerTest, GroupRulesCountSupplementaryGroups) {
  ASSERT_NO_FATAL_FAILURE(StartBroker(kPolicy));
  if (broker_ == nullptr) return;
  UserIdentity staff = kSecondUser;
  staff.groups = {kStaff};
  EXPECT_TRUE(RegisterAs(staff, "test.staff.wiki").ok());
  EXPECT_EQ(RegisterAs(kSecondUser, "test.staff.mail").code(), absl::StatusCode::kPermissionDenied);
}

// A service's access policy admits a group: a client in it only as a supplementary group
// is let in too.
TEST_F(NameOwnerTest, AccessPolicyGroupsCountSupplementaryGroups) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  if (broker_ == nullptr) return;
  AccessPolicy policy;
  policy.allowed_gids = {kStaff};
  absl::StatusOr<ServiceRegistration> service =
      ServiceRegistration::Register("test.staffonly", policy, {}, options_);
  ASSERT_TRUE(service.ok()) << service.status();
  auto connect_as = [&](const UserIdentity& who) {
    Shared<SharedStatus> status;
    ChildProcess client = ForkAs(who, [&] {
      status->Set(ConnectToService("test.staffonly", options_).status());
      return 0;
    });
    // Its connect waits for this server's verdict.
    Eventually([&] {
      (void)service->Accept(absl::Now() + absl::Milliseconds(20));
      return status->reported();
    });
    EXPECT_EQ(client.WaitFor(kPatience), ChildProcess::Exited(0));
    return status->Get();
  };
  UserIdentity staff = kSecondUser;
  staff.groups = {kStaff};
  EXPECT_TRUE(connect_as(staff).ok());
  EXPECT_EQ(connect_as(kSecondUser).code(), absl::StatusCode::kPermissionDenied);
}

// The server learns a client's supplementary groups from the broker, as the kernel gave
// them when the client connected: not from the client, nor from /proc (where the client
// may be gone by the time the server looks, and its pid another process's).
TEST_F(NameOwnerTest, TheServerLearnsTheClientsSupplementaryGroupsFromTheBroker) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  if (broker_ == nullptr) return;
  AccessPolicy policy;
  policy.allowed_uids = {kSecondUser.uid};
  absl::StatusOr<ServiceRegistration> service =
      ServiceRegistration::Register("test.groups", policy, {}, options_);
  ASSERT_TRUE(service.ok()) << service.status();
  UserIdentity grouped = kSecondUser;
  grouped.groups = {4343, kStaff};
  Shared<SharedStatus> status;
  ChildProcess client = ForkAs(grouped, [&] {
    status->Set(ConnectToService("test.groups", options_).status());
    return 0;
  });
  absl::StatusOr<IncomingLink> incoming = absl::DeadlineExceededError("no link");
  Eventually([&] {
    incoming = service->Accept(absl::Now() + absl::Milliseconds(20));
    return incoming.ok();
  });
  EXPECT_EQ(client.WaitFor(kPatience), ChildProcess::Exited(0));
  ASSERT_TRUE(status->Get().ok()) << status->Get();
  ASSERT_TRUE(incoming.ok()) << incoming.status();
  EXPECT_EQ(incoming->client.uid, kSecondUser.uid);
  std::vector<gid_t> groups = incoming->client_groups;
  std::sort(groups.begin(), groups.end());
  EXPECT_THAT(groups, ::testing::ElementsAre(kStaff, 4343));
}

// ---- A client may require who serves it. -------------------------------------------------

TEST_F(NameOwnerTest, ClientRequiresItsServersUidAndGid) {
  ASSERT_NO_FATAL_FAILURE(StartBroker(kPolicy));
  if (broker_ == nullptr) return;
  ProcessEvent registered;
  ChildProcess server = ForkAs(kNobodyUser, [&] {
    absl::StatusOr<ServiceRegistration> service =  // root, the client, may connect to any
        ServiceRegistration::Register("test.alpha", AccessPolicy::SameUser(), {}, options_);
    if (!service.ok()) return 1;
    registered.Notify();
    while (true) (void)service->Accept(absl::InfiniteFuture());
  });
  ASSERT_TRUE(registered.WaitFor(kPatience));

  BrokerConnectOptions want_root = options_;
  want_root.server_uid = 0;
  absl::StatusOr<Link> refused = ConnectToService("test.alpha", want_root);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()),
              AllOf(HasSubstr("served by uid 65534"), HasSubstr("not by uid 0")));

  BrokerConnectOptions want_staff = options_;
  want_staff.server_gid = kStaff;
  EXPECT_EQ(ConnectToService("test.alpha", want_staff).status().code(),
            absl::StatusCode::kPermissionDenied);

  BrokerConnectOptions want_nobody = options_;
  want_nobody.server_uid = kNobodyUser.uid;
  want_nobody.server_gid = kNobodyUser.gid;
  absl::StatusOr<OutgoingLink> link = ConnectToServiceIdentified("test.alpha", want_nobody);
  ASSERT_TRUE(link.ok()) << link.status();
  EXPECT_EQ(link->server.uid, kNobodyUser.uid);
  EXPECT_EQ(link->server.pid, server.pid());

  // The same through rpc/: the channel says who serves it.
  absl::StatusOr<std::shared_ptr<rpc::LinkChannel>> channel =
      rpc::ConnectLinkChannel("test.alpha", want_nobody);
  ASSERT_TRUE(channel.ok()) << channel.status();
  EXPECT_EQ((*channel)->server().uid, kNobodyUser.uid);
  EXPECT_EQ((*channel)->server().gid, kNobodyUser.gid);
  EXPECT_EQ((*channel)->server().pid, server.pid());
}

}  // namespace
}  // namespace syslink::broker
