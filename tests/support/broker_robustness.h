// BrokerRobustnessTest: a fixture for tests that throw hostile or careless clients at a
// syslinkd of their own, and check afterwards that it still serves a normal client and kept
// nothing of theirs.
//
//   TEST_F(BrokerRobustnessTest, SilentClientDoesNotStopOthersBeingServed) {
//     Listing before = List();
//     UniqueFd silent = DialRaw(dir_.SocketPath());
//     ExpectServed();
//     silent.Reset();
//     EXPECT_LE(AwaitDescriptorsAtMost(before.counters.open_descriptors),
//               before.counters.open_descriptors);
//   }
//
// SetUp starts the broker (//syslink/broker:syslinkd, a `data` dependency of the test, with
// the flags BrokerArgs() gives) and registers one service, test.probe, whose registration
// the test keeps in probe_. TearDown stops the broker and expects it to exit 0, which under
// LeakSanitizer also means it leaked nothing. ReadAnswer() reads the broker's answer on a
// raw connection (DialRaw, broker_process.h).
//
// Thread safety: a test fixture, used from the test's thread.

#ifndef SYSLINK_TESTS_SUPPORT_BROKER_ROBUSTNESS_H_
#define SYSLINK_TESTS_SUPPORT_BROKER_ROBUSTNESS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "syslink/broker/client.h"
#include "syslink/broker/control_messages.h"
#include "tests/support/broker_process.h"
#include "tests/support/eventually.h"

namespace syslink::testing {

// The broker's answer to request `sequence` on a raw connection, or why none came
// (UNAVAILABLE: the broker closed the connection; INTERNAL: another packet came first).
[[nodiscard]] absl::StatusOr<broker::Answer> ReadAnswer(int fd, uint32_t sequence);

class BrokerRobustnessTest : public ::testing::Test {
 protected:
  // Flags for syslinkd besides --socket.
  virtual std::vector<std::string> BrokerArgs() const { return {}; }

  void SetUp() override;
  void TearDown() override;

  // The broker's listing (empty, with a failure, if it could not be had).
  broker::Listing List();

  // A normal client is served: it connects to test.probe, the server accepts the link, and a
  // request crosses it. The link is closed again afterwards.
  void ExpectServed();

  // Takes (and drops) the links test.probe was given for clients that have left, until the
  // broker knows of none.
  void DropLinksOfDepartedClients();

  // Waits until the broker holds at most `count` descriptors; returns the last count seen.
  uint64_t AwaitDescriptorsAtMost(uint64_t count, absl::Duration timeout = kPatience);

  ScratchDirectory dir_{"robust"};
  std::unique_ptr<BrokerProcess> broker_;
  broker::BrokerConnectOptions options_;
  std::optional<broker::ServiceRegistration> probe_;
};

}  // namespace syslink::testing

#endif  // SYSLINK_TESTS_SUPPORT_BROKER_ROBUSTNESS_H_
