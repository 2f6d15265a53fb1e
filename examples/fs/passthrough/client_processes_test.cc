// What a client process holds of the passthrough (open handles, lookups) is given back when
// that process ends, and not before: not when one of its links ends, nor when another
// process ends. The clients are links of this test whose server sees the pid of a child
// process (as the broker would attest it), which the test kills. A call from a process
// that reaches the server after the give-back gives nothing back twice. Last, ClientProcesses
// on its own.

#include "examples/fs/passthrough/client_processes.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>

#include "examples/fs/passthrough/passthrough_testing.h"
#include "gtest/gtest.h"
#include "tests/support/child_process.h"
#include "tests/support/eventually.h"

namespace syslink::examples::fs {
namespace {

using ::syslink::testing::ChildProcess;
using ::syslink::testing::Eventually;

// A process that waits to be killed.
ChildProcess Sleeper() {
  return ChildProcess::Fork([] {
    while (true) pause();
    return 0;
  });
}

class ClientProcessesTest : public PassthroughTest {
 protected:
  void SetUp() override {
    PassthroughTest::SetUp();
    if (in_process()) GTEST_SKIP() << "an in-process caller has no process of its own";
    file_ = MakeFile(kRootIno, "f", "data");
    dir_ = MakeDir(kRootIno, "d");
  }

  // A new link whose caller is `process` (with this test's uid and gid, as a fork has).
  std::unique_ptr<FsClient> ConnectFor(const ChildProcess& process) {
    return ConnectAs(rpc::PeerIdentity{.pid = process.pid(), .uid = getuid(), .gid = getgid()});
  }

  std::string ReadThrough(FsClient& client, uint64_t ino, uint64_t fh) {
    absl::StatusOr<rpc::Attachment> data = client.Read(ino, fh, 0, 64);
    if (!data.ok()) return Errno(data);
    return std::string(reinterpret_cast<const char*>(data->data().data()), data->size());
  }

  Entry file_;
  Entry dir_;
};

TEST_P(ClientProcessesTest, WhatAProcessHoldsIsGivenBackWhenItEnds) {
  const size_t handles = passthrough().handle_count();
  const size_t inodes = passthrough().inode_count();
  ChildProcess process = Sleeper();
  std::unique_ptr<FsClient> client = ConnectFor(process);
  ASSERT_NE(client, nullptr);
  constexpr size_t kOpens = 16;
  for (size_t i = 0; i < kOpens; ++i) Ok(client->Open(file_.ino(), O_RDONLY));
  Ok(client->OpenDir(dir_.ino()));
  Ok(client->Create(kRootIno, "g", 0644, O_RDWR));
  Ok(client->Mkdir(dir_.ino(), "sub", 0755));
  Ok(client->Lookup(kRootIno, "d"));
  HostWrite(HostPath("h"), "from the host");
  Ok(client->Lookup(kRootIno, "h"));
  EXPECT_EQ(passthrough().handle_count(), handles + kOpens + 2);
  EXPECT_EQ(passthrough().inode_count(), inodes + 3);   // g, sub, h
  EXPECT_EQ(passthrough().client_process_count(), 2u);  // the test's and the child's
  process.Kill(SIGKILL);
  EXPECT_EQ(process.Wait(), ChildProcess::KilledBy(SIGKILL));
  ASSERT_TRUE(Eventually([&] { return passthrough().client_process_count() == 1; }));
  EXPECT_EQ(passthrough().handle_count(), handles);
  EXPECT_EQ(passthrough().inode_count(), inodes);
  // What this test's own process holds stays.
  EXPECT_EQ(Contents(file_.ino()), "data");
  EXPECT_EQ(Ok(fs().GetAttr(dir_.ino())).ino(), dir_.ino());
}

TEST_P(ClientProcessesTest, HandlesOutliveTheLinkThatOpenedThem) {
  ChildProcess process = Sleeper();
  std::unique_ptr<FsClient> opener = ConnectFor(process);
  ASSERT_NE(opener, nullptr);
  const uint64_t fh = Ok(opener->Open(file_.ino(), O_RDONLY));
  const size_t links = server_->live_links();
  opener.reset();
  ASSERT_TRUE(Eventually([&] { return server_->live_links() == links - 1; }));
  std::unique_ptr<FsClient> other = ConnectFor(process);
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(ReadThrough(*other, file_.ino(), fh), "data");
  EXPECT_TRUE(other->Release(file_.ino(), fh).ok());
}

TEST_P(ClientProcessesTest, AnotherProcessKeepsWhatItHolds) {
  ChildProcess ending = Sleeper();
  ChildProcess staying = Sleeper();
  std::unique_ptr<FsClient> gone = ConnectFor(ending);
  std::unique_ptr<FsClient> kept = ConnectFor(staying);
  ASSERT_NE(gone, nullptr);
  ASSERT_NE(kept, nullptr);
  const size_t handles = passthrough().handle_count();
  Ok(gone->Open(file_.ino(), O_RDONLY));
  const uint64_t fh = Ok(kept->Open(file_.ino(), O_RDONLY));
  HostWrite(HostPath("h"), "x");
  const Entry h = Ok(kept->Lookup(kRootIno, "h"));
  Ok(gone->Lookup(kRootIno, "h"));
  ending.Kill(SIGKILL);
  EXPECT_EQ(ending.Wait(), ChildProcess::KilledBy(SIGKILL));
  ASSERT_TRUE(Eventually([&] { return passthrough().client_process_count() == 2; }));
  EXPECT_EQ(passthrough().handle_count(), handles + 1);
  EXPECT_EQ(ReadThrough(*kept, file_.ino(), fh), "data");
  EXPECT_EQ(Ok(kept->GetAttr(h.ino())).size(), 1u);  // its lookup holds the inode
}

TEST_P(ClientProcessesTest, WhatWasGivenBackBeforeTheEndIsNotGivenBackTwice) {
  HostWrite(HostPath("h"), "x");
  const Entry mine = Ok(fs().Lookup(kRootIno, "h"));
  const size_t inodes = passthrough().inode_count();
  const size_t handles = passthrough().handle_count();
  ChildProcess process = Sleeper();
  std::unique_ptr<FsClient> client = ConnectFor(process);
  ASSERT_NE(client, nullptr);
  for (int i = 0; i < 3; ++i) Ok(client->Lookup(kRootIno, "h"));
  EXPECT_TRUE(client->Forget(mine.ino(), 2).ok());
  const uint64_t fh = Ok(client->Open(file_.ino(), O_RDONLY));
  EXPECT_TRUE(client->Release(file_.ino(), fh).ok());
  const uint64_t kept = Ok(fs().Open(file_.ino(), O_RDONLY));
  process.Kill(SIGKILL);
  EXPECT_EQ(process.Wait(), ChildProcess::KilledBy(SIGKILL));
  ASSERT_TRUE(Eventually([&] { return passthrough().client_process_count() == 1; }));
  // The one lookup the process still held went; this test's stays, and so does its handle.
  EXPECT_EQ(passthrough().inode_count(), inodes);
  EXPECT_EQ(Ok(fs().GetAttr(mine.ino())).size(), 1u);
  EXPECT_EQ(passthrough().handle_count(), handles + 1);
  EXPECT_TRUE(fs().Release(file_.ino(), kept).ok());
  EXPECT_TRUE(fs().Forget(mine.ino(), 1).ok());
  EXPECT_EQ(passthrough().inode_count(), inodes - 1);
}

// The process sends Forget just before it is killed, and the server serves it after the
// give-back (here: sent over the process's link once the give-back finished). The give-back
// took the process's lookup already: the Forget takes nothing more, so this test's own
// lookup of the same file stays.
TEST_P(ClientProcessesTest, LateForgetOfAnEndedProcessKeepsAnotherClientsLookup) {
  HostWrite(HostPath("h"), "x");
  const Entry mine = Ok(fs().Lookup(kRootIno, "h"));
  ChildProcess process = Sleeper();
  std::unique_ptr<FsClient> client = ConnectFor(process);
  ASSERT_NE(client, nullptr);
  Ok(client->Lookup(kRootIno, "h"));
  process.Kill(SIGKILL);
  EXPECT_EQ(process.Wait(), ChildProcess::KilledBy(SIGKILL));
  ASSERT_TRUE(Eventually([&] { return passthrough().client_process_count() == 1; }));
  EXPECT_EQ(Ok(fs().GetAttr(mine.ino())).size(), 1u);
  EXPECT_TRUE(client->Forget(mine.ino(), 1).ok());
  EXPECT_EQ(Errno(fs().GetAttr(mine.ino())), "OK") << "this process's lookup was taken";
}

// A process forgets at most the lookups it holds: the rest are other clients'.
TEST_P(ClientProcessesTest, AProcessForgetsNoMoreLookupsThanItHolds) {
  HostWrite(HostPath("h"), "x");
  const Entry mine = Ok(fs().Lookup(kRootIno, "h"));
  ChildProcess process = Sleeper();
  std::unique_ptr<FsClient> client = ConnectFor(process);
  ASSERT_NE(client, nullptr);
  Ok(client->Lookup(kRootIno, "h"));
  EXPECT_TRUE(client->Forget(mine.ino(), 5).ok());
  EXPECT_EQ(Errno(fs().GetAttr(mine.ino())), "OK") << "this process's lookup was taken";
}

// A Release that reaches the server after the give-back closed the handle answers EBADF and
// closes nothing of anyone else's.
TEST_P(ClientProcessesTest, LateReleaseOfAGivenBackHandleAnswersEbadf) {
  const uint64_t kept = Ok(fs().Open(file_.ino(), O_RDONLY));
  const size_t handles = passthrough().handle_count();
  ChildProcess process = Sleeper();
  std::unique_ptr<FsClient> client = ConnectFor(process);
  ASSERT_NE(client, nullptr);
  const uint64_t fh = Ok(client->Open(file_.ino(), O_RDONLY));
  process.Kill(SIGKILL);
  EXPECT_EQ(process.Wait(), ChildProcess::KilledBy(SIGKILL));
  ASSERT_TRUE(Eventually([&] { return passthrough().client_process_count() == 1; }));
  EXPECT_EQ(passthrough().handle_count(), handles);
  EXPECT_EQ(Errno(client->Release(file_.ino(), fh)), "EBADF");
  EXPECT_EQ(passthrough().handle_count(), handles);
  EXPECT_EQ(ReadThrough(fs(), file_.ino(), kept), "data");
  EXPECT_TRUE(fs().Release(file_.ino(), kept).ok());
}

INSTANTIATE_TEST_SUITE_P(Transports, ClientProcessesTest,
                         ::testing::Values(Transport::kLink, Transport::kLinkWorkers),
                         TransportName);

// ClientProcesses on its own: what Join answers, and what Forget leaves to the caller.

rpc::PeerIdentity PeerOf(const ChildProcess& process) {
  return rpc::PeerIdentity{.pid = process.pid(), .uid = geteuid(), .gid = getegid()};
}

TEST(ClientProcessesRecordTest, JoinAnswersEndedForAFollowedProcessThatEnded) {
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

TEST(ClientProcessesRecordTest, AProcessGoneBeforeItsFirstCallIsNotFollowed) {
  ClientProcesses clients([](ClientProcesses::Holdings) {});
  ChildProcess process = Sleeper();
  process.Kill(SIGKILL);
  EXPECT_EQ(process.Wait(), ChildProcess::KilledBy(SIGKILL));
  EXPECT_EQ(clients.Join(PeerOf(process)), ClientProcesses::kNotFollowed);
  EXPECT_EQ(clients.Forget(ClientProcesses::kNotFollowed, 7, 3), 3u);
}

TEST(ClientProcessesRecordTest, AProcessOfAnotherEffectiveUidIsNotFollowed) {
  ClientProcesses clients([](ClientProcesses::Holdings) {});
  ChildProcess process = Sleeper();
  rpc::PeerIdentity peer = PeerOf(process);
  peer.uid = geteuid() + 1;
  EXPECT_EQ(clients.Join(peer), ClientProcesses::kNotFollowed);
  EXPECT_EQ(clients.size(), 0u);
}

TEST(ClientProcessesRecordTest, ForgetTakesNoMoreThanTheRecordHolds) {
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
