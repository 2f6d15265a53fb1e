// The exerciser against the kernel (tmpfs: checks the model itself), against memfs through
// FsClient on every transport, and against filesystems broken on purpose (it must notice).

#include "examples/fs/exercise/exerciser.h"

#include <stdlib.h>

#include <cerrno>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "examples/fs/exercise/fs_client_ops.h"
#include "examples/fs/exercise/posix_ops.h"
#include "examples/fs/memfs_testing.h"
#include "gtest/gtest.h"

namespace syslink::examples::fs {
namespace {

constexpr int kOperations = 1500;

// A fresh empty directory, removed with everything in it at the end.
class TempDirectory {
 public:
  TempDirectory() {
    const char* base = getenv("TEST_TMPDIR");
    std::string pattern = absl::StrCat(base != nullptr ? base : "/tmp", "/exercise-XXXXXX");
    path_ = mkdtemp(pattern.data()) != nullptr ? pattern : "";
    EXPECT_FALSE(path_.empty()) << "mkdtemp: " << strerror(errno);
  }
  ~TempDirectory() {
    if (!path_.empty()) std::filesystem::remove_all(path_);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(ExerciserTest, TheModelAgreesWithTheKernel) {
  for (uint64_t seed : {1, 2, 3}) {
    TempDirectory dir;
    PosixOps ops(dir.path());
    absl::Status s = Exercise(ops, {.seed = seed, .operations = kOperations});
    EXPECT_TRUE(s.ok()) << s;
  }
}

TEST(ExerciserTest, RefusesARootThatIsNotEmpty) {
  TempDirectory dir;
  PosixOps ops(dir.path());
  ASSERT_EQ(ops.Create("left-over"), 0);
  absl::Status s = Exercise(ops, {.operations = 10});
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_NE(s.message().find("left-over"), std::string::npos) << s;
}

// Passes everything to PosixOps, but breaks one thing on purpose.
class BrokenOps : public FileOps {
 public:
  enum class Fault { kDropsWriteTails, kZeroesNothingOnGrow, kRenameKeepsSource };
  BrokenOps(std::string root, Fault fault) : real_(std::move(root)), fault_(fault) {}

  std::string Name() const override { return "broken"; }
  int Create(const std::string& path) override { return real_.Create(path); }
  int MakeDirectory(const std::string& path) override { return real_.MakeDirectory(path); }
  int Write(const std::string& path, int64_t offset, std::span<const std::byte> data) override {
    // A server that handles only the first 128 KiB call of a longer write.
    if (fault_ == Fault::kDropsWriteTails && data.size() > kMaxIoSize) {
      data = data.first(kMaxIoSize);
    }
    return real_.Write(path, offset, data);
  }
  int Read(const std::string& path, int64_t offset, size_t size, std::string* out) override {
    int error = real_.Read(path, offset, size, out);
    // A server that hands back stale buffer bytes instead of a hole's zeros.
    if (fault_ == Fault::kZeroesNothingOnGrow) {
      for (char& c : *out) c = c == '\0' ? '\x5a' : c;
    }
    return error;
  }
  int Truncate(const std::string& path, int64_t size) override {
    return real_.Truncate(path, size);
  }
  int Rename(const std::string& from, const std::string& to) override {
    if (fault_ != Fault::kRenameKeepsSource || from == to) return real_.Rename(from, to);
    // A rename that copies: the source stays.
    std::string contents;
    if (int e = real_.Read(from, 0, 1 << 30, &contents); e != 0) return e;
    real_.Unlink(to);
    if (int e = real_.Create(to); e != 0) return e;
    return real_.Write(to, 0, std::as_bytes(std::span(contents)));
  }
  int Unlink(const std::string& path) override { return real_.Unlink(path); }
  int Size(const std::string& path, int64_t* size) override { return real_.Size(path, size); }
  int List(const std::string& path, std::vector<std::string>* names) override {
    return real_.List(path, names);
  }

 private:
  PosixOps real_;
  Fault fault_;
};

class ExerciserNoticesTest : public ::testing::TestWithParam<BrokenOps::Fault> {};

TEST_P(ExerciserNoticesTest, AFilesystemBrokenOnPurpose) {
  TempDirectory dir;
  BrokenOps ops(dir.path(), GetParam());
  absl::Status s = Exercise(ops, {.seed = 5, .operations = kOperations});
  ASSERT_EQ(s.code(), absl::StatusCode::kInternal) << s;
  EXPECT_NE(s.message().find("seed 5, operation "), std::string::npos) << s;
  EXPECT_NE(s.message().find("operations up to it"), std::string::npos) << s;
}

INSTANTIATE_TEST_SUITE_P(Faults, ExerciserNoticesTest,
                         ::testing::Values(BrokenOps::Fault::kDropsWriteTails,
                                           BrokenOps::Fault::kZeroesNothingOnGrow,
                                           BrokenOps::Fault::kRenameKeepsSource));

// memfs through FsClient: in process, over a link, over a link with workers.
using MemFsExerciseTest = MemFsTest;

TEST_P(MemFsExerciseTest, MatchesTheModel) {
  FsClientOps ops(&fs());
  for (uint64_t seed : {11, 12}) {
    absl::Status s = Exercise(ops, {.seed = seed, .operations = kOperations});
    ASSERT_TRUE(s.ok()) << s;
    // The next seed starts from an empty root again.
    for (const char* path : {"f0", "f1", "f2", "f3", "sub/f0", "sub/f1", "sub/f2", "sub/f3"}) {
      int error = ops.Unlink(path);
      ASSERT_TRUE(error == 0 || error == ENOENT) << path << ": " << ErrnoName(error);
    }
    ASSERT_EQ(ops.Unlink("sub"), 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Transports, MemFsExerciseTest, ::testing::ValuesIn(kAllTransports),
                         TransportName);

}  // namespace
}  // namespace syslink::examples::fs
