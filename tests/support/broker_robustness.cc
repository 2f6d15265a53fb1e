#include "tests/support/broker_robustness.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "syslink/broker/access_policy.h"
#include "syslink/broker/internal/control_socket.h"
#include "syslink/link.h"

namespace syslink::testing {

using ::syslink::broker::AccessPolicy;
using ::syslink::broker::Answer;
using ::syslink::broker::ControlType;
using ::syslink::broker::Listing;
using ::syslink::broker::ServiceRegistration;
using ::syslink::broker::internal::ControlPacket;
using ::syslink::broker::internal::ReceiveControl;

absl::StatusOr<Answer> ReadAnswer(int fd, uint32_t sequence) {
  absl::StatusOr<ControlPacket> packet = ReceiveControl(fd, Soon());
  if (!packet.ok()) return packet.status();
  if (packet->type != ControlType::kAnswer || packet->sequence != sequence) {
    return absl::InternalError(absl::StrCat("expected the answer to ", sequence, ", got type ",
                                            static_cast<int>(packet->type), " sequence ",
                                            packet->sequence));
  }
  return broker::DecodeAnswer(packet->body);
}

void BrokerRobustnessTest::SetUp() {
  absl::StatusOr<std::unique_ptr<BrokerProcess>> broker =
      BrokerProcess::Start(dir_.SocketPath(), BrokerArgs());
  ASSERT_TRUE(broker.ok()) << broker.status();
  broker_ = *std::move(broker);
  options_ = broker_->ConnectOptions(absl::Seconds(5));
  absl::StatusOr<ServiceRegistration> probe =
      ServiceRegistration::Register("test.probe", AccessPolicy::SameUser(), {}, options_);
  ASSERT_TRUE(probe.ok()) << probe.status();
  probe_.emplace(*std::move(probe));
}

void BrokerRobustnessTest::TearDown() {
  probe_.reset();
  if (broker_ != nullptr) {
    EXPECT_EQ(broker_->Stop(), ChildProcess::Exited(0));
  }
}

Listing BrokerRobustnessTest::List() {
  absl::StatusOr<Listing> listing = ListBrokerAt(dir_.SocketPath(), absl::Seconds(5));
  EXPECT_TRUE(listing.ok()) << listing.status();
  return listing.ok() ? *std::move(listing) : Listing{};
}

void BrokerRobustnessTest::ExpectServed() {
  ConnectedPair pair = ConnectAndAccept(*probe_, "test.probe", options_);
  ASSERT_TRUE(pair.client.ok()) << pair.client.status();
  ASSERT_TRUE(pair.server.ok()) << pair.server.status();
  ASSERT_TRUE(pair.client->link.Send(1, AsBytes("ping")).ok());
  absl::StatusOr<Message> request = pair.server->link.Receive(Soon());
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->DataAsString(), "ping");
}

void BrokerRobustnessTest::DropLinksOfDepartedClients() {
  EXPECT_TRUE(Eventually([&] {
    if (List().links.empty()) return true;
    (void)probe_->Accept(absl::Now() + absl::Milliseconds(10));
    return false;
  }));
}

uint64_t BrokerRobustnessTest::AwaitDescriptorsAtMost(uint64_t count, absl::Duration timeout) {
  uint64_t seen = 0;
  Eventually(
      [&] {
        seen = List().counters.open_descriptors;
        return seen <= count;
      },
      timeout);
  return seen;
}

}  // namespace syslink::testing
