// The broker in this process (its event loop on a thread), reached through the client API.

#include "syslink/broker/broker.h"

#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "syslink/broker/client.h"
#include "syslink/status.h"
#include "tests/support/broker_process.h"
#include "tests/support/eventually.h"
#include "tests/support/proc_state.h"

namespace syslink::broker {
namespace {

using ::syslink::testing::ConnectAndAccept;
using ::syslink::testing::ConnectedPair;
using ::syslink::testing::Eventually;
using ::syslink::testing::ThreadState;
using ::testing::HasSubstr;

class BrokerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Short: a Unix socket path has at most 107 bytes, and TEST_TMPDIR can be longer.
    static int count = 0;
    dir_ = absl::StrCat("/tmp/sl-broker-test-", getpid(), "-", count++);
    socket_path_ = dir_ + "/broker.sock";
    absl::StatusOr<std::unique_ptr<Broker>> broker = Broker::Start({.socket_path = socket_path_});
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = *std::move(broker);
    thread_ = std::thread([this] { ASSERT_TRUE(broker_->Run().ok()); });
    options_.socket_path = socket_path_;
    options_.start_broker = false;
    options_.timeout = absl::Seconds(5);
  }
  void TearDown() override {
    broker_->Stop();
    thread_.join();
    broker_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string dir_;
  std::string socket_path_;
  std::unique_ptr<Broker> broker_;
  std::thread thread_;
  BrokerConnectOptions options_;
};

TEST_F(BrokerTest, SocketDirectoryIsPrivate) {
  struct stat st;
  ASSERT_EQ(stat(socket_path_.substr(0, socket_path_.rfind('/')).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(stat(socket_path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(BrokerTest, SecondBrokerOnTheSameSocketIsRefused) {
  absl::StatusOr<std::unique_ptr<Broker>> second = Broker::Start({.socket_path = socket_path_});
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(second.status().message()), HasSubstr("another syslinkd"));
}

TEST_F(BrokerTest, ConnectByNameMakesALinkAndAttestsTheClient) {
  absl::StatusOr<ServiceRegistration> service =
      ServiceRegistration::Register("test.echo", AccessPolicy::SameUser(), {}, options_);
  ASSERT_TRUE(service.ok()) << service.status();
  ConnectedPair pair = ConnectAndAccept(*service, "test.echo", options_);
  ASSERT_TRUE(pair.client.ok()) << pair.client.status();
  absl::StatusOr<IncomingLink>& incoming = pair.server;
  ASSERT_TRUE(incoming.ok()) << incoming.status();
  EXPECT_EQ(incoming->client.pid, getpid());
  EXPECT_EQ(incoming->client.uid, getuid());
  EXPECT_EQ(incoming->client.gid, getgid());
  // The client learns who serves it, as the kernel attested.
  EXPECT_EQ(pair.client->server.pid, getpid());
  EXPECT_EQ(pair.client->server.uid, getuid());
  EXPECT_EQ(pair.client->link_id, incoming->link_id);

  Link* client = &pair.client->link;
  ASSERT_TRUE(client->Send(1, AsBytes("hello")).ok());
  absl::StatusOr<Message> request = incoming->link.Receive(absl::Now() + absl::Seconds(5));
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->DataAsString(), "hello");
}

TEST_F(BrokerTest, UnknownNameIsNotFound) {
  absl::StatusOr<Link> client = ConnectToService("no.such.service", options_);
  EXPECT_EQ(client.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(client.status().message()), HasSubstr("no.such.service"));
}

TEST_F(BrokerTest, PolicyThatExcludesTheCallerIsPermissionDenied) {
  if (getuid() == 0) GTEST_SKIP() << "root may connect to anything";
  AccessPolicy policy;
  policy.allowed_uids = {getuid() + 1};
  absl::StatusOr<ServiceRegistration> service =
      ServiceRegistration::Register("test.private", policy, {}, options_);
  ASSERT_TRUE(service.ok());
  absl::StatusOr<Link> client = ConnectToService("test.private", options_);
  EXPECT_EQ(client.status().code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(BrokerTest, NameTakenIsAlreadyExists) {
  absl::StatusOr<ServiceRegistration> first =
      ServiceRegistration::Register("test.taken", AccessPolicy::SameUser(), {}, options_);
  ASSERT_TRUE(first.ok());
  absl::StatusOr<ServiceRegistration> second =
      ServiceRegistration::Register("test.taken", AccessPolicy::SameUser(), {}, options_);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(BrokerTest, ClosedEndIsAnsweredForByTheBroker) {
  absl::StatusOr<ServiceRegistration> service =
      ServiceRegistration::Register("test.closer", AccessPolicy::SameUser(), {}, options_);
  ASSERT_TRUE(service.ok());
  ConnectedPair pair = ConnectAndAccept(*service, "test.closer", options_);
  ASSERT_TRUE(pair.client.ok()) << pair.client.status();
  ASSERT_TRUE(pair.server.ok()) << pair.server.status();
  Link* client = &pair.client->link;
  IncomingLink* incoming = &*pair.server;
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(client->Send(1, AsBytes("x")).ok());
  incoming->link.Close();
  for (int i = 0; i < 4; ++i) {
    absl::StatusOr<Message> reply = client->Receive(absl::Now() + absl::Seconds(5));
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_TRUE(IsPeerDied(reply->status)) << reply->status;
  }
  absl::StatusOr<Listing> listing = ListBroker(options_);
  ASSERT_TRUE(listing.ok()) << listing.status();
  EXPECT_EQ(listing->counters.ends_closed, 1u);
}

TEST_F(BrokerTest, ListingShowsServicesLinksAndPendingRequests) {
  absl::StatusOr<ServiceRegistration> service =
      ServiceRegistration::Register("test.listed", AccessPolicy::SameUser(), {}, options_);
  ASSERT_TRUE(service.ok());
  ConnectedPair pair = ConnectAndAccept(*service, "test.listed", options_);
  ASSERT_TRUE(pair.client.ok()) << pair.client.status();
  ASSERT_TRUE(pair.client->link.Send(42, AsBytes("x")).ok());
  absl::StatusOr<Listing> listing = ListBroker(options_);
  ASSERT_TRUE(listing.ok()) << listing.status();
  ASSERT_EQ(listing->services.size(), 1u);
  EXPECT_EQ(listing->services[0].name, "test.listed");
  EXPECT_EQ(listing->services[0].owner.pid, getpid());
  ASSERT_EQ(listing->links.size(), 1u);
  ASSERT_EQ(listing->links[0].pending[0].size(), 1u);
  EXPECT_EQ(listing->links[0].pending[0][0].command, 42u);
  EXPECT_EQ(listing->broker_pid, getpid());
}

// A connect that may wait for its service is held by the broker, not retried by the client:
// the client sleeps in one poll() until the server registers, and then has its link.
TEST_F(BrokerTest, AConnectThatWaitsIsConnectedWhenTheServiceRegisters) {
  BrokerConnectOptions waiting = options_;
  waiting.wait_for_registration = absl::InfiniteDuration();
  std::atomic<pid_t> tid{0};
  absl::StatusOr<OutgoingLink> client = absl::UnknownError("not yet");
  std::thread connector([&] {
    tid.store(gettid());
    client = ConnectToServiceIdentified("test.late", waiting);
  });
  ASSERT_TRUE(Eventually([&] { return tid.load() != 0 && ThreadState(tid.load()) == 'S'; }));
  absl::StatusOr<ServiceRegistration> service =
      ServiceRegistration::Register("test.late", AccessPolicy::SameUser(), {}, options_);
  ASSERT_TRUE(service.ok()) << service.status();
  absl::StatusOr<IncomingLink> incoming = service->Accept(absl::Now() + absl::Seconds(10));
  connector.join();
  ASSERT_TRUE(incoming.ok()) << incoming.status();
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_EQ(incoming->client.pid, getpid());
  // The link works.
  ASSERT_TRUE(client->link.Send(1, AsBytes("hello"), {}, absl::Now() + absl::Seconds(10)).ok());
  absl::StatusOr<Message> request = incoming->link.Receive(absl::Now() + absl::Seconds(10));
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->DataAsString(), "hello");
}

TEST_F(BrokerTest, AConnectThatWaitsInVainIsNotFoundNamingTheWait) {
  BrokerConnectOptions waiting = options_;
  waiting.wait_for_registration = absl::Milliseconds(50);
  absl::Time start = absl::Now();
  absl::StatusOr<Link> link = ConnectToService("test.never", waiting);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(50));
  EXPECT_EQ(link.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(link.status().message()), HasSubstr("\"test.never\""));
  EXPECT_THAT(std::string(link.status().message()), HasSubstr("within 50ms"));
}

// The waiting client gives up (CANCELLED) when its cancel descriptor becomes readable; the
// broker forgets the request with the connection, and a server registering later is
// offered nothing.
TEST_F(BrokerTest, AWaitingConnectEndsWhenCancelled) {
  UniqueFd cancel(eventfd(0, EFD_CLOEXEC));
  ASSERT_TRUE(cancel.valid());
  BrokerConnectOptions waiting = options_;
  waiting.wait_for_registration = absl::InfiniteDuration();
  waiting.cancel_fd = cancel.get();
  std::atomic<pid_t> tid{0};
  absl::Status outcome;
  std::thread connector([&] {
    tid.store(gettid());
    outcome = ConnectToService("test.cancelled", waiting).status();
  });
  ASSERT_TRUE(Eventually([&] { return tid.load() != 0 && ThreadState(tid.load()) == 'S'; }));
  const uint64_t one = 1;
  ASSERT_EQ(write(cancel.get(), &one, sizeof(one)), static_cast<ssize_t>(sizeof(one)));
  connector.join();
  EXPECT_TRUE(absl::IsCancelled(outcome)) << outcome;
  absl::StatusOr<ServiceRegistration> service =
      ServiceRegistration::Register("test.cancelled", AccessPolicy::SameUser(), {}, options_);
  ASSERT_TRUE(service.ok()) << service.status();
  absl::StatusOr<IncomingLink> incoming = service->Accept(absl::Now() + absl::Milliseconds(100));
  EXPECT_EQ(incoming.status().code(), absl::StatusCode::kDeadlineExceeded) << incoming.status();
}

TEST(BrokerStartTest, UnsafeSocketDirectoryIsReportedAtOnce) {
  // /tmp is writable by everyone: no broker may put its socket there.
  BrokerConnectOptions options;
  options.socket_path = absl::StrCat("/tmp/sl-unsafe-", getpid(), ".sock");
  options.timeout = absl::Seconds(10);
  absl::Time start = absl::Now();
  absl::StatusOr<Link> link = ConnectToService("anything", options);
  EXPECT_EQ(link.status().code(), absl::StatusCode::kPermissionDenied) << link.status();
  EXPECT_THAT(std::string(link.status().message()), HasSubstr("writable by others"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5)) << "waited out the timeout instead";
}

}  // namespace
}  // namespace syslink::broker
