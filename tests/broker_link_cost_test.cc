// The cost of a link to its client is bounded by the client: a service of another user
// whose links have 1 GiB rings (each client would pre-fault 2 GiB) is refused with
// RESOURCE_EXHAUSTED before anything is mapped, by the broker and, should a broker not
// check, by the client library itself.

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "syslink/broker/client.h"
#include "syslink/broker/control_messages.h"
#include "syslink/broker/internal/control_socket.h"
#include "syslink/link.h"
#include "tests/support/broker_process.h"
#include "tests/support/child_process.h"
#include "tests/support/eventually.h"
#include "tests/support/other_user.h"
#include "tests/support/process_event.h"

namespace syslink::broker {
namespace {

using ::syslink::broker::internal::ControlPacket;
using ::syslink::broker::internal::ReceiveControl;
using ::syslink::broker::internal::SendControl;
using ::syslink::testing::BrokerProcess;
using ::syslink::testing::CanRunAsOtherUsers;
using ::syslink::testing::ChildProcess;
using ::syslink::testing::ConnectAndAccept;
using ::syslink::testing::ConnectedPair;
using ::syslink::testing::ForkAs;
using ::syslink::testing::kNeedsRoot;
using ::syslink::testing::kNobodyUser;
using ::syslink::testing::kPatience;
using ::syslink::testing::ProcessEvent;
using ::syslink::testing::ResidentKiB;
using ::syslink::testing::ScratchDirectory;
using ::syslink::testing::Shared;
using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr uint64_t kMiB = 1 << 20;

class LinkCostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string policy = dir_.path() + "/names.policy";
    std::ofstream(policy) << "test.huge* uid=65534\n";
    absl::StatusOr<std::unique_ptr<BrokerProcess>> broker =
        BrokerProcess::Start(dir_.SocketPath(), {"--socket-mode", "666", "--policy", policy});
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = *std::move(broker);
    options_ = broker_->ConnectOptions();
  }
  void TearDown() override {
    if (broker_ != nullptr) {
      EXPECT_EQ(broker_->Stop(), ChildProcess::Exited(0));
    }
  }

  ScratchDirectory dir_{"cost", 0755};
  std::unique_ptr<BrokerProcess> broker_;
  BrokerConnectOptions options_;
};

// The service: another user's, with 1 GiB rings. Its server is never even offered
// the link, and the client maps nothing.
TEST_F(LinkCostTest, GibibyteRingOfAnotherUsersServiceIsRefusedBeforeAnythingIsMapped) {
  if (!CanRunAsOtherUsers()) GTEST_SKIP() << kNeedsRoot;
  Shared<std::atomic<int>> offers;
  ProcessEvent registered;
  ChildProcess server = ForkAs(kNobodyUser, [&] {
    LinkOptions huge;
    huge.ring_capacity = uint64_t{1} << 30;
    absl::StatusOr<ServiceRegistration> service =
        ServiceRegistration::Register("test.huge", AccessPolicy::SameUser(), huge, options_);
    if (!service.ok()) return 1;
    service->set_admission([&] {
      offers->fetch_add(1);
      return absl::OkStatus();
    });
    registered.Notify();
    while (true) (void)service->Accept(absl::InfiniteFuture());
  });
  ASSERT_TRUE(registered.WaitFor(kPatience));
  int64_t resident = ResidentKiB(getpid());
  absl::StatusOr<Link> link = ConnectToService("test.huge", options_);
  int64_t grown = ResidentKiB(getpid()) - resident;
  EXPECT_EQ(link.status().code(), absl::StatusCode::kResourceExhausted) << link.status();
  EXPECT_THAT(std::string(link.status().message()),
              AllOf(HasSubstr("\"test.huge\""), HasSubstr("1024 MiB"), HasSubstr("16 MiB"),
                    HasSubstr("max_ring_capacity")));
  RecordProperty("client_resident_growth_kib", absl::StrCat(grown));
  EXPECT_LT(grown, 8 * 1024);
  EXPECT_EQ(offers->load(), 0);
  absl::StatusOr<Listing> listing = syslink::testing::ListBrokerAt(dir_.SocketPath());
  ASSERT_TRUE(listing.ok()) << listing.status();
  EXPECT_EQ(listing->counters.links_made, 0u);
}

TEST_F(LinkCostTest, CapsAreTheClientsToChoose) {
  LinkOptions options;
  options.ring_capacity = 4 * kMiB;
  options.arena_size = 128 * kMiB;
  absl::StatusOr<ServiceRegistration> service =
      ServiceRegistration::Register("test.sized", AccessPolicy::SameUser(), options, options_);
  ASSERT_TRUE(service.ok()) << service.status();

  BrokerConnectOptions small_arena = options_;  // rings fit the default cap; the arena not
  absl::StatusOr<Link> refused = ConnectToService("test.sized", small_arena);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(refused.status().message()),
              AllOf(HasSubstr("128 MiB"), HasSubstr("64 MiB"), HasSubstr("max_arena_size")));

  BrokerConnectOptions small_ring = options_;
  small_ring.max_arena_size = 128 * kMiB;
  small_ring.max_ring_capacity = 2 * kMiB;
  EXPECT_EQ(ConnectToService("test.sized", small_ring).status().code(),
            absl::StatusCode::kResourceExhausted);

  BrokerConnectOptions enough = options_;
  enough.max_arena_size = 128 * kMiB;
  enough.max_ring_capacity = 4 * kMiB;
  ConnectedPair pair = ConnectAndAccept(*service, "test.sized", enough);
  ASSERT_TRUE(pair.client.ok()) << pair.client.status();
  EXPECT_EQ(pair.client->link.options().ring_capacity, 4 * kMiB);
}

// A broker that does not check the caps (an older one) answers a Connect with a 1 GiB ring
// and descriptors that are no link end at all: the client refuses on the options alone,
// before it looks at (let alone maps) what came with them.
TEST(ClientCapTest, ClientChecksTheCapsBeforeMappingWhateverTheBrokerSays) {
  ScratchDirectory dir("lax");
  const std::string socket_path = dir.SocketPath();
  UniqueFd listener(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket_path.c_str(), sizeof(address.sun_path) - 1);
  ASSERT_EQ(bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(listener.get(), 4), 0);
  std::thread lax([&] {
    UniqueFd connection(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    absl::StatusOr<ControlPacket> request =
        ReceiveControl(connection.get(), absl::Now() + kPatience);
    if (!request.ok()) return;
    Answer answer{.status = absl::OkStatus(), .link_id = 1, .side = 0};
    answer.options.ring_capacity = uint64_t{1} << 30;
    UniqueFd junk(memfd_create("not-a-region", MFD_CLOEXEC));
    int fds[] = {junk.get(), junk.get(), junk.get()};
    (void)SendControl(connection.get(), ControlType::kAnswer, request->sequence,
                      EncodeAnswer(answer), fds);
  });
  absl::StatusOr<Link> link = ConnectToService(
      "test.anything", {.socket_path = socket_path, .start_broker = false, .timeout = kPatience});
  lax.join();
  EXPECT_EQ(link.status().code(), absl::StatusCode::kResourceExhausted) << link.status();
  EXPECT_THAT(std::string(link.status().message()), HasSubstr("max_ring_capacity"));
}

}  // namespace
}  // namespace syslink::broker
