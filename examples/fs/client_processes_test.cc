// ClientProcesses on its own, following forked children that the tests kill: what Join
// answers for a process followed, ended, gone before its first call or of another uid, and
// what Forget leaves to the caller. What the servers give back through it is tested in
// client_end_test.cc.

#include "examples/fs/client_processes.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <utility>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "tests/support/child_process.h"
#include "tests/support/eventually.h"

namespace syslink::examples::fs {
namespace {

using ::syslink::testing::ChildProcess;
using ::syslink::testing::Eventually;
using ::syslink::testing::kPatience;

// A process that waits to be killed.
ChildProcess Sleeper() {
  return ChildProcess::Fork([] {
    while (true) pause();
    return 0;
  });
}

rpc::PeerIdentity PeerOf(const ChildProcess& process) {
  return rpc::PeerIdentity{.pid = process.pid(), .uid = geteuid(), .gid = getegid()};
}

TEST(ClientProcessesTest, JoinAnswersEndedForAFollowedProcessThatEnded) {
  std::atomic<int> given_back = 0;
  ClientProcesses clients([&](ClientProcesses::Holdings) { ++given_back; });
  ChildProcess process = Sleeper();
  const uint64_t client = clients.Join(PeerOf(process));
  ASSERT_NE(client, ClientProcesses::kNotFollowed);
  ASSERT_NE(client, ClientProcesses::kEnded);
  ASSERT_TRUE(clients.AddLookup(client, 7));
  process.Kill(SIGKILL);
  EXPECT_EQ(process.Wait(), ChildProcess::KilledBy(SIGKILL));
  ASSERT_TRUE(Eventually([&] { return clients.size() == 0; }));
  EXPECT_EQ(given_back, 1);
  EXPECT_EQ(clients.Join(PeerOf(process)), ClientProcesses::kEnded);
  EXPECT_FALSE(clients.AddLookup(ClientProcesses::kEnded, 7));
  EXPECT_FALSE(clients.AddHandle(ClientProcesses::kEnded, 1, 7, false));
  EXPECT_EQ(clients.Forget(ClientProcesses::kEnded, 7, 1), 0u);
  EXPECT_EQ(clients.Forget(client, 7, 1), 0u);
}

// `ended` gets what the process still held: not what it released or forgot before.
TEST(ClientProcessesTest, EndedGetsWhatTheProcessStillHeld) {
  absl::Notification given_back;
  ClientProcesses::Holdings left;
  ClientProcesses clients([&](ClientProcesses::Holdings holdings) {
    left = std::move(holdings);
    given_back.Notify();
  });
  ChildProcess process = Sleeper();
  const uint64_t client = clients.Join(PeerOf(process));
  ASSERT_NE(client, ClientProcesses::kNotFollowed);
  ASSERT_TRUE(clients.AddHandle(client, 11, 7, /*dir=*/false));
  ASSERT_TRUE(clients.AddHandle(client, 12, 7, /*dir=*/false));
  ASSERT_TRUE(clients.AddHandle(client, 13, 8, /*dir=*/true));
  clients.RemoveHandle(client, 12);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(clients.AddLookup(client, 7));
  ASSERT_TRUE(clients.AddLookup(client, 8));
  EXPECT_EQ(clients.Forget(client, 7, 1), 1u);
  process.Kill(SIGKILL);
  EXPECT_EQ(process.Wait(), ChildProcess::KilledBy(SIGKILL));
  ASSERT_TRUE(given_back.WaitForNotificationWithTimeout(kPatience));
  ASSERT_EQ(left.handles.size(), 2u);
  std::sort(left.handles.begin(), left.handles.end(),
            [](const auto& a, const auto& b) { return a.fh < b.fh; });
  EXPECT_EQ(left.handles[0].fh, 11u);
  EXPECT_EQ(left.handles[0].ino, 7u);
  EXPECT_FALSE(left.handles[0].dir);
  EXPECT_EQ(left.handles[1].fh, 13u);
  EXPECT_EQ(left.handles[1].ino, 8u);
  EXPECT_TRUE(left.handles[1].dir);
  EXPECT_EQ(left.lookups, (absl::flat_hash_map<uint64_t, uint64_t>{{7, 2}, {8, 1}}));
}

TEST(ClientProcessesTest, AProcessGoneBeforeItsFirstCallIsNotFollowed) {
  ClientProcesses clients([](ClientProcesses::Holdings) {});
  ChildProcess process = Sleeper();
  process.Kill(SIGKILL);
  EXPECT_EQ(process.Wait(), ChildProcess::KilledBy(SIGKILL));
  EXPECT_EQ(clients.Join(PeerOf(process)), ClientProcesses::kNotFollowed);
  EXPECT_EQ(clients.Forget(ClientProcesses::kNotFollowed, 7, 3), 3u);
}

TEST(ClientProcessesTest, AProcessOfAnotherEffectiveUidIsNotFollowed) {
  ClientProcesses clients([](ClientProcesses::Holdings) {});
  ChildProcess process = Sleeper();
  rpc::PeerIdentity peer = PeerOf(process);
  peer.uid = geteuid() + 1;
  EXPECT_EQ(clients.Join(peer), ClientProcesses::kNotFollowed);
  EXPECT_EQ(clients.size(), 0u);
}

TEST(ClientProcessesTest, ForgetTakesNoMoreThanTheRecordHolds) {
  ClientProcesses clients([](ClientProcesses::Holdings) {});
  ChildProcess process = Sleeper();
  const uint64_t client = clients.Join(PeerOf(process));
  ASSERT_NE(client, ClientProcesses::kNotFollowed);
  ASSERT_TRUE(clients.AddLookup(client, 7));
  ASSERT_TRUE(clients.AddLookup(client, 7));
  EXPECT_EQ(clients.Forget(client, 7, 5), 2u);
  EXPECT_EQ(clients.Forget(client, 7, 1), 0u);
  EXPECT_EQ(clients.Forget(client, 8, 1), 0u);
}

}  // namespace
}  // namespace syslink::examples::fs
