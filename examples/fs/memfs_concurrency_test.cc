// Many clients on one MemFs at once, each on its own channel (its own link and server
// thread, or a shared worker pool): every file comes back as written, and contended
// operations on one name succeed exactly once.

#include <fcntl.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "examples/fs/memfs_testing.h"
#include "gtest/gtest.h"

namespace syslink::examples::fs {
namespace {

constexpr int kClients = 8;

// Runs `body(client, index)` on kClients threads, each with a client of its own.
template <typename Body>
void OnEveryClient(std::vector<std::unique_ptr<FsClient>>& clients, Body body) {
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] { body(*clients[i], i); });
  }
  for (std::thread& thread : threads) thread.join();
}

class ConcurrencyTest : public MemFsTest {
 protected:
  void SetUp() override {
    MemFsTest::SetUp();
    for (int i = 0; i < kClients; ++i) clients_.push_back(Connect());
  }
  void TearDown() override {
    clients_.clear();
    MemFsTest::TearDown();
  }
  std::vector<std::unique_ptr<FsClient>> clients_;
};

TEST_P(ConcurrencyTest, EveryClientReadsBackWhatItWrote) {
  MakeDir(kRootIno, "shared");
  std::atomic<int> failures{0};
  OnEveryClient(clients_, [&](FsClient& fs, int i) {
    for (int round = 0; round < 20; ++round) {
      const std::string path = absl::StrCat("/shared/file-", i, "-", round);
      const std::string bytes = Pattern(150000 + i * 1000 + round, i * 31 + round);
      if (!fs.WriteFileFromString(path, bytes).ok()) ++failures;
      absl::StatusOr<std::string> back = fs.ReadFileToString(path);
      if (!back.ok() || *back != bytes) ++failures;
      const std::string moved = path + ".moved";
      if (!fs.Move(path, moved).ok() || !fs.List("/shared").ok() || !fs.Remove(moved).ok()) {
        ++failures;
      }
    }
  });
  EXPECT_EQ(failures.load(), 0);
  EXPECT_TRUE(Ok(fs().List("/shared")).empty());
  EXPECT_EQ(tree().handle_count(), 0u);
  EXPECT_EQ(tree().used_blocks(), 0u);
}

TEST_P(ConcurrencyTest, ExactlyOneMkdirOfANameSucceeds) {
  std::atomic<int> made{0}, existed{0};
  OnEveryClient(clients_, [&](FsClient& fs, int) {
    for (int round = 0; round < 50; ++round) {
      absl::Status s = fs.MakeDirectory(absl::StrCat("/d", round));
      if (s.ok()) ++made;
      if (ErrnoOf(s) == EEXIST) ++existed;
    }
  });
  EXPECT_EQ(made.load(), 50);
  EXPECT_EQ(existed.load(), 50 * (kClients - 1));
}

TEST_P(ConcurrencyTest, AppendsFromEveryClientAllLand) {
  FsClient::Created log = Ok(fs().Create(kRootIno, "log", 0666, O_WRONLY));
  ASSERT_TRUE(fs().Release(log.entry.ino(), log.fh).ok());
  constexpr int kRecords = 100;
  std::atomic<int> failures{0};
  OnEveryClient(clients_, [&](FsClient& fs, int i) {
    absl::StatusOr<uint64_t> fh = fs.Open(log.entry.ino(), O_WRONLY | O_APPEND);
    if (!fh.ok()) {
      ++failures;
      return;
    }
    const std::string record = absl::StrCat(std::string(15, 'a' + i), "\n");
    for (int r = 0; r < kRecords; ++r) {
      if (!fs.WriteFully(log.entry.ino(), *fh, 0, std::as_bytes(std::span(record))).ok()) {
        ++failures;
      }
    }
    if (!fs.Release(log.entry.ino(), *fh).ok()) ++failures;
  });
  EXPECT_EQ(failures.load(), 0);
  const std::string contents = Contents(log.entry.ino());
  ASSERT_EQ(contents.size(), 16u * kRecords * kClients);
  for (size_t at = 0; at < contents.size(); at += 16) {  // no record torn by another
    EXPECT_EQ(contents.substr(at, 15), std::string(15, contents[at]));
  }
}

TEST_P(ConcurrencyTest, ListingsSeeEveryEntryThatStaysExactlyOnceWhileOthersAreRenamed) {
  Entry d = MakeDir(kRootIno, "d");
  for (int i = 0; i < kClients; ++i) MakeFile(d.ino(), absl::StrCat("f", i));
  std::atomic<int> failures{0};
  OnEveryClient(clients_, [&](FsClient& fs, int i) {
    // Odd clients rename their file back and forth; even ones list the directory, in which
    // the even files stay put. (A renamed entry moves to the end of the listing order, so
    // a listing may see it under both names, or more than once: POSIX leaves that open.)
    for (int round = 0; round < 100; ++round) {
      if (i % 2 == 1) {
        const std::string a = absl::StrCat("f", i), b = absl::StrCat("g", i);
        if (!fs.Rename(d.ino(), round % 2 ? b : a, d.ino(), round % 2 ? a : b).ok()) ++failures;
        continue;
      }
      absl::StatusOr<std::vector<DirEntry>> entries = fs.List("/d");
      if (!entries.ok()) {
        ++failures;
        continue;
      }
      for (int even = 0; even < kClients; even += 2) {
        const std::string name = absl::StrCat("f", even);
        if (std::count_if(entries->begin(), entries->end(),
                          [&](const DirEntry& e) { return e.name == name; }) != 1) {
          ++failures;
        }
      }
    }
  });
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Names(d.ino()).size(), static_cast<size_t>(kClients));
}

INSTANTIATE_TEST_SUITE_P(Transports, ConcurrencyTest, ::testing::ValuesIn(kAllTransports),
                         TransportName);

}  // namespace
}  // namespace syslink::examples::fs
