// A live syslinkd against careless clients: a hundred that connect and say nothing, one
// that never reads its answers, one that connects to its own service over and over reading
// nothing, and silent connections past the idle timeout. The broker drops or outlasts each,
// keeps none of their descriptors, and serves a normal client meanwhile.
// (Servers that answer no offer are in broker_admission_test.cc.)
//
// The broker is //syslink/broker:syslinkd run by the test (tests/support/broker_process.h);
// careless clients are raw SOCK_SEQPACKET connections to its socket from this process.

#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"
#include "gtest/gtest.h"
#include "syslink/broker/control_messages.h"
#include "tests/support/broker_process.h"
#include "tests/support/broker_robustness.h"
#include "tests/support/eventually.h"

namespace syslink::broker {
namespace {

using ::syslink::testing::BrokerRobustnessTest;
using ::syslink::testing::ControlBytes;
using ::syslink::testing::DialRaw;
using ::syslink::testing::kPatience;
using ::syslink::testing::ReadAnswer;
using ::syslink::testing::SendRaw;
using ::syslink::testing::Soon;

TEST_F(BrokerRobustnessTest, HundredSilentClientsDoNotStopOthersBeingServed) {
  std::vector<UniqueFd> silent;
  for (int i = 0; i < 100; ++i) {
    silent.push_back(DialRaw(dir_.SocketPath()));
    ASSERT_TRUE(silent.back().valid());
  }
  absl::Time start = absl::Now();
  ExpectServed();
  RecordProperty("served_among_silent_clients_us",
                 absl::StrCat(absl::ToInt64Microseconds(absl::Now() - start)));
  EXPECT_GE(List().counters.connections, 100u);
}

TEST_F(BrokerRobustnessTest, ClientThatNeverReadsItsAnswersIsDisconnected) {
  Listing before = List();
  UniqueFd greedy = DialRaw(dir_.SocketPath());
  ASSERT_TRUE(greedy.valid());
  std::vector<std::byte> list = ControlBytes(ControlType::kList, 1, {});
  bool disconnected = false;
  absl::Time give_up = Soon();
  for (int sent = 0; sent < 100000 && !disconnected && absl::Now() < give_up;) {
    if (send(greedy.get(), list.data(), list.size(), MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) {
      ++sent;
    } else if (errno == EAGAIN) {
      absl::SleepFor(absl::Microseconds(100));
    } else {
      disconnected = errno == EPIPE || errno == ECONNRESET;
    }
  }
  EXPECT_TRUE(disconnected) << "the broker kept answering a client that reads nothing";
  ExpectServed();
  greedy.Reset();
  EXPECT_LE(AwaitDescriptorsAtMost(before.counters.open_descriptors),
            before.counters.open_descriptors);
}

// One connection that registers a service and then connects to it, over and over, reading
// nothing: the link events and the answers fill the same connection.
TEST_F(BrokerRobustnessTest, ConnectionConnectingToItsOwnServiceWithoutReadingIsDropped) {
  Listing before = List();
  UniqueFd self = DialRaw(dir_.SocketPath());
  ASSERT_TRUE(SendRaw(
      self.get(), ControlBytes(ControlType::kRegister, 1, EncodeRegister({.name = "test.self"}))));
  absl::StatusOr<Answer> registered = ReadAnswer(self.get(), 1);
  ASSERT_TRUE(registered.ok() && registered->status.ok()) << registered.status();
  bool disconnected = false;
  absl::Time give_up = Soon();
  for (uint32_t sequence = 2; sequence < 20000 && !disconnected && absl::Now() < give_up;) {
    std::vector<std::byte> connect =
        ControlBytes(ControlType::kConnect, sequence, EncodeConnect({.name = "test.self"}));
    if (send(self.get(), connect.data(), connect.size(), MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) {
      ++sequence;
    } else if (errno == EAGAIN) {
      absl::SleepFor(absl::Microseconds(100));
    } else {
      disconnected = true;
    }
  }
  EXPECT_TRUE(disconnected);
  ExpectServed();
  self.Reset();
  EXPECT_LE(AwaitDescriptorsAtMost(before.counters.open_descriptors),
            before.counters.open_descriptors);
}

// Each listing is a file of its own: a client that asks again without reading gets no
// second file, but RESOURCE_EXHAUSTED, until it has read what came before.
TEST_F(BrokerRobustnessTest, AListingComesOnlyOnceEarlierAnswersAreRead) {
  UniqueFd asking = DialRaw(dir_.SocketPath());
  constexpr uint32_t kAsked = 20;
  for (uint32_t sequence = 1; sequence <= kAsked; ++sequence) {
    ASSERT_TRUE(SendRaw(asking.get(), ControlBytes(ControlType::kList, sequence, {})));
  }
  // Read nothing until the broker has taken every request (this side's SIOCOUTQ is 0):
  // each was then answered with the first answer unread, but perhaps the last, which the
  // broker may answer after the first is read below.
  ASSERT_TRUE(syslink::testing::Eventually([&] {
    int unread = -1;
    return ioctl(asking.get(), SIOCOUTQ, &unread) == 0 && unread == 0;
  }));
  int listed = 0;
  for (uint32_t sequence = 1; sequence <= kAsked; ++sequence) {
    absl::StatusOr<Answer> answer = ReadAnswer(asking.get(), sequence);
    ASSERT_TRUE(answer.ok()) << answer.status();
    if (answer->status.ok()) {
      ++listed;
    } else {
      EXPECT_EQ(answer->status.code(), absl::StatusCode::kResourceExhausted) << answer->status;
    }
    if (sequence == 1) {
      EXPECT_TRUE(answer->status.ok()) << answer->status;
    }
  }
  EXPECT_LE(listed, 2);
  // Everything read: the next listing comes.
  ASSERT_TRUE(SendRaw(asking.get(), ControlBytes(ControlType::kList, kAsked + 1, {})));
  absl::StatusOr<Answer> answer = ReadAnswer(asking.get(), kAsked + 1);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_TRUE(answer->status.ok()) << answer->status;
}

class IdleTimeoutTest : public BrokerRobustnessTest {
 protected:
  std::vector<std::string> BrokerArgs() const override { return {"--idle-timeout", "1"}; }
};

TEST_F(IdleTimeoutTest, SilentConnectionsAreClosedAfterTheIdleTimeout) {
  Listing before = List();
  std::vector<UniqueFd> silent;
  for (int i = 0; i < 20; ++i) silent.push_back(DialRaw(dir_.SocketPath()));
  EXPECT_GE(List().counters.open_descriptors, before.counters.open_descriptors + 20);
  EXPECT_LE(AwaitDescriptorsAtMost(before.counters.open_descriptors, absl::Seconds(5)),
            before.counters.open_descriptors);
  for (UniqueFd& fd : silent) {
    char byte;
    EXPECT_EQ(recv(fd.get(), &byte, 1, MSG_DONTWAIT), 0) << "not closed by the broker";
  }
  ExpectServed();  // the registered server's connection was kept, silent as it was
}

// A Connect that waits for its service to register is not idle, nor is it once the
// service comes and the broker waits for the server's verdict: the link comes.
TEST_F(IdleTimeoutTest, AConnectThatWaitedPastTheIdleTimeoutIsAnsweredWhenTheServiceComes) {
  UniqueFd waiting = DialRaw(dir_.SocketPath());
  ASSERT_TRUE(SendRaw(
      waiting.get(),
      ControlBytes(ControlType::kConnect, 1,
                   EncodeConnect({.name = "test.later", .wait_for_registration_ms = UINT64_MAX}))));
  // A silent connection made after it: once the broker closes that one as idle, the
  // waiting one has been quiet for longer than the idle timeout too.
  UniqueFd silent = DialRaw(dir_.SocketPath());
  pollfd closed = {silent.get(), POLLIN, 0};
  ASSERT_EQ(poll(&closed, 1, absl::ToInt64Milliseconds(kPatience)), 1);
  absl::StatusOr<ServiceRegistration> later =
      ServiceRegistration::Register("test.later", AccessPolicy::SameUser(), {}, options_);
  ASSERT_TRUE(later.ok()) << later.status();
  absl::StatusOr<IncomingLink> link = later->Accept(Soon());
  ASSERT_TRUE(link.ok()) << link.status();
  absl::StatusOr<Answer> answer = ReadAnswer(waiting.get(), 1);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_TRUE(answer->status.ok()) << answer->status;
}

}  // namespace
}  // namespace syslink::broker
