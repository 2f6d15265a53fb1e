// A live syslinkd under load: a listing of ten thousand pending calls, a thousand clients
// at once, and ten thousand connect/disconnect cycles. Every client is answered, and
// afterwards the broker holds no more descriptors and little more memory than before.
//
// The broker is //syslink/broker:syslinkd run by the test (tests/support/broker_process.h);
// the clients are raw SOCK_SEQPACKET connections to its socket and links it made, from this
// process.

#include <sys/resource.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "syslink/broker/control_messages.h"
#include "syslink/link.h"
#include "tests/support/broker_process.h"
#include "tests/support/broker_robustness.h"
#include "tests/support/child_process.h"
#include "tests/support/eventually.h"

namespace syslink::broker {
namespace {

using ::syslink::testing::BrokerRobustnessTest;
using ::syslink::testing::ChildProcess;
using ::syslink::testing::ConnectAndAccept;
using ::syslink::testing::ConnectedPair;
using ::syslink::testing::ControlBytes;
using ::syslink::testing::DialRaw;
using ::syslink::testing::kPatience;
using ::syslink::testing::ListBrokerAt;
using ::syslink::testing::PeakResidentKiB;
using ::syslink::testing::ReadAnswer;
using ::syslink::testing::ResidentKiB;
using ::syslink::testing::SendRaw;
using ::testing::HasSubstr;

// Under AddressSanitizer freed memory waits in a quarantine (256 MiB by default) before it is
// reused, so a broker's resident size grows with churn and says nothing about leaks; there
// LeakSanitizer checks the broker when it exits (TearDown expects "exited 0").
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kResidentSizeShowsLeaks = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kResidentSizeShowsLeaks = false;
#else
constexpr bool kResidentSizeShowsLeaks = true;
#endif
#else
constexpr bool kResidentSizeShowsLeaks = true;
#endif

// ---- A large listing. ----------------------------------------------------------------------

// 10,200 requests waiting on three links: the listing is far larger than a socket buffer
// (it travels in a memfd), and syslinkctl shows it.
TEST_F(BrokerRobustnessTest, ListingOfTenThousandPendingCallsIsShown) {
  constexpr int kLinks = 3;
  constexpr int kPendingEach = 3400;
  std::vector<ConnectedPair> links;
  for (int i = 0; i < kLinks; ++i) {
    links.push_back(ConnectAndAccept(*probe_, "test.probe", options_));
    ASSERT_TRUE(links.back().client.ok()) << links.back().client.status();
    ASSERT_TRUE(links.back().server.ok()) << links.back().server.status();
    for (int j = 0; j < kPendingEach; ++j) {
      ASSERT_TRUE(links.back().client->link.Send(7, AsBytes("")).ok()) << "request " << j;
    }
  }
  Listing listing = List();
  size_t pending = 0;
  for (const LinkListing& link : listing.links) pending += link.pending[0].size();
  EXPECT_EQ(pending, static_cast<size_t>(kLinks * kPendingEach));
  size_t bytes = EncodeListing(listing).size();
  RecordProperty("listing_bytes", absl::StrCat(bytes));
  EXPECT_GT(bytes, 256u * 1024);

  syslink::testing::SyslinkctlOutput shown =
      syslink::testing::RunSyslinkctl(dir_.SocketPath(), {"--json"}, kPatience);
  EXPECT_EQ(shown.ended, ChildProcess::Exited(0));
  const std::string& json = shown.printed;
  RecordProperty("syslinkctl_json_bytes", absl::StrCat(json.size()));
  EXPECT_GT(json.size(), 256u * 1024);
  EXPECT_THAT(json, HasSubstr("\"command\": 7"));
}

// A hundred links whose client has 4,000 requests waiting on each, all of a method with a
// 255-byte name: the listing would take about 115 MB, several times kMaxListingBytes. The
// broker refuses it, and its peak memory grows by far less than building it would take (the
// listing's pending requests alone would need some 130 MB before encoding).
TEST_F(BrokerRobustnessTest, ListingPastTheLimitIsRefusedBeforeItIsBuilt) {
  constexpr int kLinks = 100;
  constexpr int kPendingEach = 4000;
  constexpr uint32_t kMethod = 1;
  std::string method = absl::StrCat("test.", std::string(kMaxMethodName - 7, 'm'), "/M");
  ASSERT_EQ(method.size(), kMaxMethodName);
  RegisterRequest request{
      .name = "test.hoarded",
      .policy = AccessPolicy::SameUser(),
      .options = {.ring_capacity = 512 * 1024, .arena_size = 64 * 1024, .max_dma_size = 64 * 1024},
      .methods = {{kMethod, method}}};
  absl::StatusOr<ServiceRegistration> service = ServiceRegistration::Register(request, options_);
  ASSERT_TRUE(service.ok()) << service.status();
  std::vector<ConnectedPair> links;
  for (int i = 0; i < kLinks; ++i) {
    links.push_back(ConnectAndAccept(*service, "test.hoarded", options_));
    ASSERT_TRUE(links.back().client.ok()) << "link " << i << ": " << links.back().client.status();
    ASSERT_TRUE(links.back().server.ok()) << "link " << i << ": " << links.back().server.status();
    for (int j = 0; j < kPendingEach; ++j) {
      ASSERT_TRUE(links.back().client->link.Send(kMethod, AsBytes("")).ok())
          << "link " << i << ", request " << j;
    }
  }
  constexpr uint64_t kWouldTake = uint64_t{kLinks} * kPendingEach * (36 + kMaxMethodName);
  static_assert(kWouldTake > 3 * kMaxListingBytes);

  int64_t resident = ResidentKiB(broker_->pid());
  absl::StatusOr<Listing> listing = ListBrokerAt(dir_.SocketPath(), kPatience);
  int64_t peak = PeakResidentKiB(broker_->pid());
  ASSERT_FALSE(listing.ok());
  EXPECT_TRUE(absl::IsResourceExhausted(listing.status())) << listing.status();
  EXPECT_THAT(listing.status().message(), HasSubstr("more than the 32 MiB a listing may"));
  RecordProperty("resident_kib_before", absl::StrCat(resident));
  RecordProperty("peak_resident_kib_after", absl::StrCat(peak));
  EXPECT_LE(peak - resident, int64_t{4} * kMaxListingBytes / 1024)
      << "the broker's VmHWM reached " << peak << " KiB from a VmRSS of " << resident << " KiB";

  links.clear();
  ExpectServed();
}

// ---- Many clients. ------------------------------------------------------------------------

TEST_F(BrokerRobustnessTest, ThousandClientsAtOnceAreAllAnswered) {
  constexpr int kClients = 1000;
  struct rlimit limit;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  limit.rlim_cur = limit.rlim_max;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &limit), 0);
  if (limit.rlim_cur < kClients + 100) {
    GTEST_SKIP() << "RLIMIT_NOFILE allows only " << limit.rlim_cur << " descriptors";
  }
  Listing before = List();
  std::vector<UniqueFd> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(DialRaw(dir_.SocketPath()));
    ASSERT_TRUE(clients.back().valid()) << "connection " << i << ": " << std::strerror(errno);
  }
  for (int i = 0; i < kClients; ++i) {
    ASSERT_TRUE(SendRaw(
        clients[i].get(),
        ControlBytes(ControlType::kConnect, i + 1, EncodeConnect({.name = "no.such.service"}))));
  }
  ExpectServed();
  int answered = 0;
  for (int i = 0; i < kClients; ++i) {
    absl::StatusOr<Answer> answer = ReadAnswer(clients[i].get(), i + 1);
    if (answer.ok() && absl::IsNotFound(answer->status)) ++answered;
  }
  EXPECT_EQ(answered, kClients);
  Listing during = List();
  EXPECT_GE(during.counters.open_descriptors, before.counters.open_descriptors + kClients);
  EXPECT_EQ(during.counters.not_found, before.counters.not_found + kClients);
  clients.clear();
  EXPECT_LE(AwaitDescriptorsAtMost(before.counters.open_descriptors),
            before.counters.open_descriptors);
}

// 10,000 cycles: bare connect and close; one in twenty each, connect, ask for a listing
// and close without reading it; ask for a link and close before the answer (the server may
// or may not get the link, depending on whether its verdict reaches the broker first); a
// link made through the broker and closed at both ends. Afterwards the broker holds as many
// descriptors as before and little more memory.
TEST_F(BrokerRobustnessTest, TenThousandConnectDisconnectCyclesLeakNothing) {
  constexpr int kCycles = 10000;
  auto cycle = [&](int i) {
    if (i % 20 == 0) {
      ConnectedPair pair = ConnectAndAccept(*probe_, "test.probe", options_);
      ASSERT_TRUE(pair.client.ok()) << pair.client.status();
      ASSERT_TRUE(pair.server.ok()) << pair.server.status();
    } else if (i % 20 == 1) {
      // Asks for a link and leaves before the answer. The offer waits for the next Accept.
      UniqueFd fd = DialRaw(dir_.SocketPath());
      ASSERT_TRUE(fd.valid()) << "cycle " << i << ": " << std::strerror(errno);
      ASSERT_TRUE(SendRaw(
          fd.get(), ControlBytes(ControlType::kConnect, 1, EncodeConnect({.name = "test.probe"}))));
    } else {
      UniqueFd fd = DialRaw(dir_.SocketPath());
      ASSERT_TRUE(fd.valid()) << "cycle " << i << ": " << std::strerror(errno);
      if (i % 20 == 2) {
        ASSERT_TRUE(SendRaw(fd.get(), ControlBytes(ControlType::kList, 1, {})));
      }
    }
  };
  for (int i = 0; i < 400; ++i) ASSERT_NO_FATAL_FAILURE(cycle(i));  // warm-up
  DropLinksOfDepartedClients();
  Listing before = List();
  uint64_t descriptors = AwaitDescriptorsAtMost(before.counters.open_descriptors);
  int64_t resident = ResidentKiB(broker_->pid());
  absl::Time start = absl::Now();
  for (int i = 0; i < kCycles; ++i) ASSERT_NO_FATAL_FAILURE(cycle(i));
  RecordProperty("cycles_us", absl::StrCat(absl::ToInt64Microseconds(absl::Now() - start)));
  DropLinksOfDepartedClients();

  uint64_t descriptors_after = AwaitDescriptorsAtMost(descriptors + 2);
  int64_t resident_after = ResidentKiB(broker_->pid());
  RecordProperty("descriptors_before", absl::StrCat(descriptors));
  RecordProperty("descriptors_after", absl::StrCat(descriptors_after));
  RecordProperty("resident_kib_before", absl::StrCat(resident));
  RecordProperty("resident_kib_after", absl::StrCat(resident_after));
  EXPECT_LE(descriptors_after, descriptors + 2);
  if (kResidentSizeShowsLeaks) {
    EXPECT_LE(resident_after - resident, 4 * 1024)
        << "the broker's VmRSS grew from " << resident << " KiB to " << resident_after << " KiB";
  }
  Listing after = List();
  EXPECT_EQ(after.links.size(), 0u);
  EXPECT_GE(after.counters.connections, before.counters.connections + kCycles);
  ExpectServed();
}

}  // namespace
}  // namespace syslink::broker
