// What a client process holds of a server (open handles, lookups) is given back when that
// process ends, and not before: not when one of its links ends, nor when another process
// ends. The clients are links of this test whose server sees the pid of a child process
// (as the broker would attest it), which the test kills. A call from a process that
// reaches the server after the give-back gives nothing back twice. Files the test unlinks
// while a process holds them show it: they live on until the give-back, then go. Built
// against memfs (client_end_test) and the passthrough (passthrough_client_end_test,
// CLIENT_END_TEST_PASSTHROUGH).

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "tests/support/child_process.h"
#include "tests/support/eventually.h"

#ifdef CLIENT_END_TEST_PASSTHROUGH
#include "examples/fs/passthrough/passthrough_testing.h"
#else
#include "examples/fs/memfs_testing.h"
#endif

namespace syslink::examples::fs {
namespace {

using ::syslink::testing::ChildProcess;
using ::syslink::testing::Eventually;

#ifdef CLIENT_END_TEST_PASSTHROUGH
using Base = PassthroughTest;
#else
using Base = MemFsTest;
#endif

// A process that waits to be killed.
ChildProcess Sleeper() {
  return ChildProcess::Fork([] {
    while (true) pause();
    return 0;
  });
}

class ClientEndTest : public Base {
 protected:
  void SetUp() override {
    Base::SetUp();
    if (in_process()) GTEST_SKIP() << "an in-process caller has no process of its own";
    file_ = MakeFile(kRootIno, "f", "data");
    dir_ = MakeDir(kRootIno, "d");
  }

  // The server's inodes (memfs: all it has; the passthrough: those clients hold), its open
  // handles, and the client processes it follows.
#ifdef CLIENT_END_TEST_PASSTHROUGH
  size_t Inodes() { return passthrough().inode_count(); }
  size_t Handles() { return passthrough().handle_count(); }
  size_t ClientProcesses() { return passthrough().client_process_count(); }
#else
  size_t Inodes() { return tree().inode_count(); }
  size_t Handles() { return tree().handle_count(); }
  size_t ClientProcesses() { return memfs_->client_process_count(); }
#endif

  // A new link whose caller is `process` (with this test's uid and gid, as a fork has).
  std::unique_ptr<FsClient> ConnectFor(const ChildProcess& process) {
    return ConnectAs(rpc::PeerIdentity{.pid = process.pid(), .uid = getuid(), .gid = getgid()});
  }

  // Kills `process` and waits until the server has given back what it held (it follows
  // this test's process besides, and `others` more).
  void KillAndWaitForTheGiveBack(ChildProcess& process, size_t others = 0) {
    process.Kill(SIGKILL);
    EXPECT_EQ(process.Wait(), ChildProcess::KilledBy(SIGKILL));
    ASSERT_TRUE(Eventually([&] { return ClientProcesses() == 1 + others; }));
  }

  std::string ReadThrough(FsClient& client, uint64_t ino, uint64_t fh) {
    absl::StatusOr<rpc::Attachment> data = client.Read(ino, fh, 0, 64);
    if (!data.ok()) return Errno(data);
    return std::string(reinterpret_cast<const char*>(data->data().data()), data->size());
  }

  Entry file_;
  Entry dir_;
};

TEST_P(ClientEndTest, WhatAProcessHoldsIsGivenBackWhenItEnds) {
  const size_t handles = Handles();
  const size_t inodes = Inodes();
  ChildProcess process = Sleeper();
  std::unique_ptr<FsClient> client = ConnectFor(process);
  ASSERT_NE(client, nullptr);
  constexpr size_t kOpens = 16;
  for (size_t i = 0; i < kOpens; ++i) Ok(client->Open(file_.ino(), O_RDONLY));
  const uint64_t dir_fh = Ok(client->OpenDir(dir_.ino()));
  Ok(client->Create(kRootIno, "g", 0644, O_RDWR));
  Ok(client->Mkdir(dir_.ino(), "sub", 0755));
  Ok(client->Lookup(dir_.ino(), "sub"));
  Ok(client->ReadDirPlus(dir_.ino(), dir_fh, 0, kMaxIoSize));  // a lookup of "sub" more
  Ok(client->Lookup(kRootIno, "d"));
  EXPECT_EQ(Handles(), handles + kOpens + 2);
  EXPECT_EQ(Inodes(), inodes + 2);  // g, sub
  // Unlinked, they live while the process holds them.
  EXPECT_TRUE(fs().Unlink(kRootIno, "g").ok());
  EXPECT_TRUE(fs().Rmdir(dir_.ino(), "sub").ok());
  EXPECT_EQ(Inodes(), inodes + 2);
  EXPECT_EQ(ClientProcesses(), 2u);  // the test's and the child's
  KillAndWaitForTheGiveBack(process);
  EXPECT_EQ(Handles(), handles);
  EXPECT_EQ(Inodes(), inodes);
  // What this test's own process holds stays.
  EXPECT_EQ(Contents(file_.ino()), "data");
  EXPECT_EQ(Ok(fs().GetAttr(dir_.ino())).ino(), dir_.ino());
}

TEST_P(ClientEndTest, HandlesOutliveTheLinkThatOpenedThem) {
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

TEST_P(ClientEndTest, AnotherProcessKeepsWhatItHolds) {
  ChildProcess ending = Sleeper();
  ChildProcess staying = Sleeper();
  std::unique_ptr<FsClient> gone = ConnectFor(ending);
  std::unique_ptr<FsClient> kept = ConnectFor(staying);
  ASSERT_NE(gone, nullptr);
  ASSERT_NE(kept, nullptr);
  const size_t handles = Handles();
  Ok(gone->Open(file_.ino(), O_RDONLY));
  const uint64_t fh = Ok(kept->Open(file_.ino(), O_RDONLY));
  const Entry made = MakeFile(kRootIno, "h", "x");
  EXPECT_TRUE(fs().Forget(made.ino(), 1).ok());  // only the two processes hold it
  const Entry h = Ok(kept->Lookup(kRootIno, "h"));
  Ok(gone->Lookup(kRootIno, "h"));
  EXPECT_TRUE(fs().Unlink(kRootIno, "h").ok());
  KillAndWaitForTheGiveBack(ending, /*others=*/1);
  EXPECT_EQ(Handles(), handles + 1);
  EXPECT_EQ(ReadThrough(*kept, file_.ino(), fh), "data");
  EXPECT_EQ(Ok(kept->GetAttr(h.ino())).size(), 1u);  // its lookup holds the inode
}

TEST_P(ClientEndTest, WhatWasGivenBackBeforeTheEndIsNotGivenBackTwice) {
  const Entry mine = MakeFile(kRootIno, "h", "x");  // and this process's lookup of it
  const size_t inodes = Inodes();
  const size_t handles = Handles();
  ChildProcess process = Sleeper();
  std::unique_ptr<FsClient> client = ConnectFor(process);
  ASSERT_NE(client, nullptr);
  for (int i = 0; i < 3; ++i) Ok(client->Lookup(kRootIno, "h"));
  EXPECT_TRUE(client->Forget(mine.ino(), 2).ok());
  const uint64_t fh = Ok(client->Open(file_.ino(), O_RDONLY));
  EXPECT_TRUE(client->Release(file_.ino(), fh).ok());
  const uint64_t kept = Ok(fs().Open(file_.ino(), O_RDONLY));
  KillAndWaitForTheGiveBack(process);
  // The one lookup the process still held went; this test's stays, and so does its handle.
  EXPECT_EQ(Inodes(), inodes);
  EXPECT_TRUE(fs().Unlink(kRootIno, "h").ok());
  EXPECT_EQ(Ok(fs().GetAttr(mine.ino())).size(), 1u);
  EXPECT_EQ(Handles(), handles + 1);
  EXPECT_TRUE(fs().Release(file_.ino(), kept).ok());
  EXPECT_TRUE(fs().Forget(mine.ino(), 1).ok());
  EXPECT_EQ(Inodes(), inodes - 1);
}

// The process sends Forget just before it is killed, and the server serves it after the
// give-back (here: sent over the process's link once the give-back finished). The give-back
// took the process's lookup already: the Forget takes nothing more, so this test's own
// lookup of the same file stays.
TEST_P(ClientEndTest, LateForgetOfAnEndedProcessKeepsAnotherClientsLookup) {
  const Entry mine = MakeFile(kRootIno, "h", "x");
  ChildProcess process = Sleeper();
  std::unique_ptr<FsClient> client = ConnectFor(process);
  ASSERT_NE(client, nullptr);
  Ok(client->Lookup(kRootIno, "h"));
  EXPECT_TRUE(fs().Unlink(kRootIno, "h").ok());  // lookups alone keep it
  KillAndWaitForTheGiveBack(process);
  EXPECT_EQ(Ok(fs().GetAttr(mine.ino())).size(), 1u);
  EXPECT_TRUE(client->Forget(mine.ino(), 1).ok());
  EXPECT_EQ(Errno(fs().GetAttr(mine.ino())), "OK") << "this process's lookup was taken";
}

// A process forgets at most the lookups it holds: the rest are other clients'.
TEST_P(ClientEndTest, AProcessForgetsNoMoreLookupsThanItHolds) {
  const Entry mine = MakeFile(kRootIno, "h", "x");
  ChildProcess process = Sleeper();
  std::unique_ptr<FsClient> client = ConnectFor(process);
  ASSERT_NE(client, nullptr);
  Ok(client->Lookup(kRootIno, "h"));
  EXPECT_TRUE(fs().Unlink(kRootIno, "h").ok());  // lookups alone keep it
  EXPECT_TRUE(client->Forget(mine.ino(), 5).ok());
  EXPECT_EQ(Errno(fs().GetAttr(mine.ino())), "OK") << "this process's lookup was taken";
}

// A Release that reaches the server after the give-back closed the handle answers EBADF and
// closes nothing of anyone else's.
TEST_P(ClientEndTest, LateReleaseOfAGivenBackHandleAnswersEbadf) {
  const uint64_t kept = Ok(fs().Open(file_.ino(), O_RDONLY));
  const size_t handles = Handles();
  ChildProcess process = Sleeper();
  std::unique_ptr<FsClient> client = ConnectFor(process);
  ASSERT_NE(client, nullptr);
  const uint64_t fh = Ok(client->Open(file_.ino(), O_RDONLY));
  KillAndWaitForTheGiveBack(process);
  EXPECT_EQ(Handles(), handles);
  EXPECT_EQ(Errno(client->Release(file_.ino(), fh)), "EBADF");
  EXPECT_EQ(Handles(), handles);
  EXPECT_EQ(ReadThrough(fs(), file_.ino(), kept), "data");
  EXPECT_TRUE(fs().Release(file_.ino(), kept).ok());
}

// A call of a process that ended, served after the give-back, keeps nothing: its handle or
// lookup is given back at once, and the call answers ENOTCONN.
TEST_P(ClientEndTest, ACallServedAfterTheEndKeepsNothing) {
  const size_t handles = Handles();
  const size_t inodes = Inodes();
  ChildProcess process = Sleeper();
  std::unique_ptr<FsClient> client = ConnectFor(process);
  ASSERT_NE(client, nullptr);
  Ok(client->Lookup(kRootIno, "f"));  // followed from here on
  KillAndWaitForTheGiveBack(process);
  EXPECT_EQ(Errno(client->Open(file_.ino(), O_RDONLY)), "ENOTCONN");
  EXPECT_EQ(Errno(client->OpenDir(dir_.ino())), "ENOTCONN");
  EXPECT_EQ(Errno(client->Create(dir_.ino(), "late", 0644, O_RDWR)), "ENOTCONN");
  EXPECT_EQ(Errno(client->Lookup(dir_.ino(), "late")), "ENOTCONN");
  EXPECT_EQ(Handles(), handles);
  // The file Create made is there, and no lookup of the ended process keeps it once gone.
  EXPECT_TRUE(fs().Unlink(dir_.ino(), "late").ok());
  EXPECT_EQ(Inodes(), inodes);
}

INSTANTIATE_TEST_SUITE_P(Transports, ClientEndTest,
                         ::testing::Values(Transport::kLink, Transport::kLinkWorkers),
                         TransportName);

}  // namespace
}  // namespace syslink::examples::fs
