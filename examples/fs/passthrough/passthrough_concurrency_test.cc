// PassthroughFs under many clients at once, over links served on their own threads and by
// a worker pool: callers of different identities interleave, and each call must run with
// its own caller's credentials and see its own files whole.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "examples/fs/passthrough/passthrough_testing.h"
#include "gtest/gtest.h"

namespace syslink::examples::fs {
namespace {

using ConcurrencyTest = PassthroughTest;

constexpr int kRounds = 40;

// One client's work: make, write, read back, rename, list and remove files in `dir`,
// checking each step; the owner of what it makes must be `uid`.
void Churn(FsClient& client, uint64_t dir, uid_t uid, int seed) {
  for (int round = 0; round < kRounds; ++round) {
    const std::string name = absl::StrCat("f", round);
    const std::string data = Pattern(1000 + 97 * round, seed + round);
    absl::StatusOr<FsClient::Created> created = client.Create(dir, name, 0600, O_RDWR | O_EXCL);
    ASSERT_TRUE(created.ok()) << created.status();
    const uint64_t ino = created->entry.ino();
    EXPECT_EQ(created->entry.attr().uid(), uid);
    ASSERT_TRUE(client.WriteFully(ino, created->fh, 0, std::as_bytes(std::span(data))).ok());
    std::string back(data.size(), '\0');
    absl::StatusOr<size_t> read =
        client.ReadFully(ino, created->fh, 0, std::as_writable_bytes(std::span(back)));
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(*read, data.size());
    EXPECT_TRUE(back == data) << "round " << round;
    ASSERT_TRUE(client.Release(ino, created->fh).ok());
    ASSERT_TRUE(client.Rename(dir, name, dir, name + ".done").ok());
    absl::StatusOr<uint64_t> fh = client.OpenDir(dir);
    ASSERT_TRUE(fh.ok()) << fh.status();
    EXPECT_TRUE(client.ReadDir(dir, *fh, 0).ok());
    ASSERT_TRUE(client.ReleaseDir(dir, *fh).ok());
    if (round % 2 == 0) {
      ASSERT_TRUE(client.Unlink(dir, name + ".done").ok());
    }
    ASSERT_TRUE(client.Forget(ino, 1).ok());
  }
}

TEST_P(ConcurrencyTest, CallersOfDifferentIdentitiesRunAtOnce) {
  if (in_process()) GTEST_SKIP() << "identities need links";
  std::unique_ptr<FsClient> root = ConnectAs(0, 0);
  Entry shared = Ok(root->Mkdir(kRootIno, "shared", 0777));
  struct Worker {
    uid_t uid;
    gid_t gid;
  };
  const std::vector<Worker> workers = {{0, 0}, {kAlice, kAlice}, {kBob, kStaff}, {0, 0}};
  std::vector<std::unique_ptr<FsClient>> clients;
  std::vector<uint64_t> dirs;
  for (size_t i = 0; i < workers.size(); ++i) {
    clients.push_back(ConnectAs(workers[i].uid, workers[i].gid));
    dirs.push_back(Ok(clients[i]->Mkdir(shared.ino(), absl::StrCat("w", i), 0700)).ino());
  }
  std::vector<std::thread> threads;
  for (size_t i = 0; i < workers.size(); ++i) {
    const uid_t uid = acts_as_caller() ? workers[i].uid : 0;
    threads.emplace_back([&, i, uid] { Churn(*clients[i], dirs[i], uid, static_cast<int>(i)); });
  }
  for (std::thread& thread : threads) thread.join();
  for (size_t i = 0; i < workers.size(); ++i) {
    const std::string dir = absl::StrCat("shared/w", i);
    EXPECT_EQ(HostStat(dir).st_uid, acts_as_caller() ? workers[i].uid : 0u);
    EXPECT_EQ(HostStat(dir + "/f1.done").st_uid, acts_as_caller() ? workers[i].uid : 0u);
    EXPECT_EQ(Names(dirs[i]).size(), static_cast<size_t>(kRounds / 2));
  }
  EXPECT_EQ(passthrough().handle_count(), 0u);
}

TEST_P(ConcurrencyTest, ClientsShareOneFileThroughSeparateHandles) {
  Entry file = MakeFile(kRootIno, "shared", std::string(64 * 1024, '\0'));
  std::vector<std::unique_ptr<FsClient>> clients;
  for (int i = 0; i < 4; ++i) clients.push_back(Connect());
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      FsClient& client = *clients[i];
      absl::StatusOr<uint64_t> fh = client.Open(file.ino(), O_RDWR);
      ASSERT_TRUE(fh.ok()) << fh.status();
      const std::string slice = Pattern(16 * 1024, i);
      for (int round = 0; round < kRounds; ++round) {
        ASSERT_TRUE(
            client.WriteFully(file.ino(), *fh, i * 16 * 1024, std::as_bytes(std::span(slice)))
                .ok());
      }
      ASSERT_TRUE(client.Release(file.ino(), *fh).ok());
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::string expected;
  for (int i = 0; i < 4; ++i) expected += Pattern(16 * 1024, i);
  EXPECT_TRUE(HostRead(HostPath("shared")) == expected);
}

INSTANTIATE_TEST_SUITE_P(Transports, ConcurrencyTest, ::testing::ValuesIn(kAllTransports),
                         TransportName);

}  // namespace
}  // namespace syslink::examples::fs
