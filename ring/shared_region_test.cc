// Tests of SharedRegion: creating, sealing and mapping the memfd a ring lives in, and
// refusing descriptors that could be truncated under the process or are of the wrong size.

#include "ring/shared_region.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/unique_fd.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace syslink::ring {
namespace {

using ::testing::HasSubstr;

constexpr size_t kSize = 3 * 4096 + 320;  // deliberately not a whole number of pages

std::byte PatternByte(size_t i, int salt) { return static_cast<std::byte>((i * 31 + salt) & 0xff); }

// A memfd of `size` bytes carrying exactly `seals` (0 for none).
UniqueFd MakeMemfd(size_t size, int seals) {
  UniqueFd fd(memfd_create("shared_region_test", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  EXPECT_TRUE(fd.valid()) << "memfd_create: errno " << errno;
  EXPECT_EQ(ftruncate(fd.get(), static_cast<off_t>(size)), 0) << "errno " << errno;
  if (seals != 0) {
    EXPECT_EQ(fcntl(fd.get(), F_ADD_SEALS, seals), 0) << "errno " << errno;
  }
  return fd;
}

UniqueFd Dup(int fd) {
  UniqueFd copy(dup(fd));
  EXPECT_TRUE(copy.valid()) << "dup: errno " << errno;
  return copy;
}

void ExpectInvalidArgument(const absl::Status& status, const std::string& substring) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(substring));
}

// Waits for `pid` and returns its exit code, or -1 (with a test failure) if it did not exit.
int ExitCodeOf(pid_t pid) {
  int wait_status = 0;
  EXPECT_EQ(waitpid(pid, &wait_status, 0), pid) << "errno " << errno;
  if (!WIFEXITED(wait_status)) {
    ADD_FAILURE() << "child did not exit normally; wait status " << wait_status;
    return -1;
  }
  return WEXITSTATUS(wait_status);
}

TEST(SharedRegionTest, CreateMapsRegionOfRequestedSize) {
  absl::StatusOr<SharedRegion> region = SharedRegion::Create("size", kSize);
  ASSERT_TRUE(region.ok()) << region.status();
  EXPECT_NE(region->data(), nullptr);
  EXPECT_EQ(region->size(), kSize);
  EXPECT_EQ(region->bytes().data(), region->data());
  EXPECT_EQ(region->bytes().size(), kSize);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(region->data()) % 4096, 0u);
  struct stat st;
  ASSERT_EQ(fstat(region->fd(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), kSize);
}

TEST(SharedRegionTest, CreateReturnsZeroedMemory) {
  absl::StatusOr<SharedRegion> region = SharedRegion::Create("zeroed", kSize);
  ASSERT_TRUE(region.ok()) << region.status();
  for (size_t i = 0; i < kSize; ++i) {
    ASSERT_EQ(region->data()[i], std::byte{0}) << "at byte " << i;
  }
}

TEST(SharedRegionTest, CreateSealsAgainstShrinkGrowAndFurtherSealing) {
  absl::StatusOr<SharedRegion> region = SharedRegion::Create("seals", kSize);
  ASSERT_TRUE(region.ok()) << region.status();
  int seals = fcntl(region->fd(), F_GET_SEALS);
  ASSERT_GE(seals, 0) << "errno " << errno;
  EXPECT_EQ(seals, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
  EXPECT_EQ(RequiredSeals(), F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
  // The seals hold: the file can be neither resized nor unsealed.
  EXPECT_NE(ftruncate(region->fd(), kSize / 2), 0);
  EXPECT_NE(ftruncate(region->fd(), kSize * 2), 0);
}

TEST(SharedRegionTest, CreateRejectsSizeZero) {
  absl::StatusOr<SharedRegion> region = SharedRegion::Create("empty", 0);
  ExpectInvalidArgument(region.status(), "size must not be 0");
}

TEST(SharedRegionTest, MapOfDuplicatedFdSeesTheSameBytes) {
  absl::StatusOr<SharedRegion> created = SharedRegion::Create("shared", kSize);
  ASSERT_TRUE(created.ok()) << created.status();
  for (size_t i = 0; i < kSize; ++i) created->data()[i] = PatternByte(i, 1);

  absl::StatusOr<SharedRegion> mapped = SharedRegion::Map(Dup(created->fd()), kSize);
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  ASSERT_EQ(mapped->size(), kSize);
  EXPECT_NE(mapped->data(), created->data());  // a second mapping, not the same pointer
  for (size_t i = 0; i < kSize; ++i) {
    ASSERT_EQ(mapped->data()[i], PatternByte(i, 1)) << "at byte " << i;
  }
  // And writes go the other way too.
  mapped->data()[kSize - 1] = std::byte{0x5a};
  EXPECT_EQ(created->data()[kSize - 1], std::byte{0x5a});
}

TEST(SharedRegionTest, MapRefusesUnsealedMemfd) {
  absl::StatusOr<SharedRegion> region = SharedRegion::Map(MakeMemfd(kSize, 0), kSize);
  ExpectInvalidArgument(region.status(), "must be sealed SEAL|SHRINK|GROW but has seals none");
}

TEST(SharedRegionTest, MapRefusesMemfdWithoutSealSeal) {
  // Still sealable: whoever holds it could not resize it now, but could not be stopped from
  // adding F_SEAL_WRITE either. Map() insists on all three seals.
  absl::StatusOr<SharedRegion> region =
      SharedRegion::Map(MakeMemfd(kSize, F_SEAL_SHRINK | F_SEAL_GROW), kSize);
  ExpectInvalidArgument(region.status(), "has seals SHRINK|GROW");
}

TEST(SharedRegionTest, MapRefusesMemfdThatCanStillShrink) {
  absl::StatusOr<SharedRegion> region =
      SharedRegion::Map(MakeMemfd(kSize, F_SEAL_GROW | F_SEAL_SEAL), kSize);
  ExpectInvalidArgument(region.status(), "has seals SEAL|GROW");
}

TEST(SharedRegionTest, MapRefusesMemfdCreatedWithoutSealing) {
  // Without MFD_ALLOW_SEALING the kernel reports F_SEAL_SEAL alone.
  UniqueFd fd(memfd_create("unsealable", MFD_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  ASSERT_EQ(ftruncate(fd.get(), kSize), 0);
  absl::StatusOr<SharedRegion> region = SharedRegion::Map(std::move(fd), kSize);
  ExpectInvalidArgument(region.status(), "but has seals SEAL;");
}

TEST(SharedRegionTest, MapRefusesRegionSmallerThanExpected) {
  absl::StatusOr<SharedRegion> region = SharedRegion::Map(MakeMemfd(4096, RequiredSeals()), 8192);
  ExpectInvalidArgument(region.status(), "it holds 4096 bytes, expected exactly 8192");
}

TEST(SharedRegionTest, MapRefusesRegionLargerThanExpected) {
  absl::StatusOr<SharedRegion> region = SharedRegion::Map(MakeMemfd(8192, RequiredSeals()), 4096);
  ExpectInvalidArgument(region.status(), "it holds 8192 bytes, expected exactly 4096");
}

TEST(SharedRegionTest, MapRefusesExpectedSizeZero) {
  absl::StatusOr<SharedRegion> region = SharedRegion::Map(MakeMemfd(4096, RequiredSeals()), 0);
  ExpectInvalidArgument(region.status(), "size must not be 0");
}

TEST(SharedRegionTest, MapRefusesRegularFile) {
  const char* tmpdir = getenv("TEST_TMPDIR");
  std::string path = std::string(tmpdir != nullptr ? tmpdir : "/tmp") + "/regularXXXXXX";
  UniqueFd fd(mkstemp(path.data()));
  ASSERT_TRUE(fd.valid()) << "mkstemp: errno " << errno;
  unlink(path.c_str());
  ASSERT_EQ(ftruncate(fd.get(), kSize), 0);
  absl::StatusOr<SharedRegion> region = SharedRegion::Map(std::move(fd), kSize);
  // On most file systems F_GET_SEALS fails; on tmpfs it reports F_SEAL_SEAL. Either way the
  // descriptor is refused.
  ExpectInvalidArgument(region.status(), "refusing to map");
}

TEST(SharedRegionTest, MapRefusesPipe) {
  int ends[2];
  ASSERT_EQ(pipe2(ends, O_CLOEXEC), 0);
  UniqueFd read_end(ends[0]);
  UniqueFd write_end(ends[1]);
  absl::StatusOr<SharedRegion> region = SharedRegion::Map(std::move(read_end), kSize);
  ExpectInvalidArgument(region.status(), "does not support seals");
}

TEST(SharedRegionTest, MapRefusesClosedDescriptor) {
  absl::StatusOr<SharedRegion> region = SharedRegion::Map(UniqueFd(), kSize);
  ExpectInvalidArgument(region.status(), "does not support seals");
}

TEST(SharedRegionTest, MoveTransfersMappingAndDescriptor) {
  absl::StatusOr<SharedRegion> created = SharedRegion::Create("move", kSize);
  ASSERT_TRUE(created.ok()) << created.status();
  std::byte* data = created->data();
  int fd = created->fd();
  SharedRegion moved = *std::move(created);
  EXPECT_EQ(moved.data(), data);
  EXPECT_EQ(moved.size(), kSize);
  EXPECT_EQ(moved.fd(), fd);
  moved.data()[0] = std::byte{1};  // still mapped
}

TEST(SharedRegionTest, ForkedChildMapsInheritedFdAndParentSeesItsWrites) {
  absl::StatusOr<SharedRegion> region = SharedRegion::Create("fork", kSize);
  ASSERT_TRUE(region.ok()) << region.status();
  const int inherited_fd = region->fd();

  pid_t pid = fork();
  ASSERT_NE(pid, -1) << "fork: errno " << errno;
  if (pid == 0) {
    // Child: no test assertions here; the exit code says what went wrong.
    int copy = dup(inherited_fd);
    if (copy < 0) _exit(10);
    absl::StatusOr<SharedRegion> mine = SharedRegion::Map(UniqueFd(copy), kSize);
    if (!mine.ok()) _exit(11);
    for (size_t i = 0; i < kSize; ++i) mine->data()[i] = PatternByte(i, 7);
    _exit(0);
  }
  ASSERT_EQ(ExitCodeOf(pid), 0);
  for (size_t i = 0; i < kSize; ++i) {
    ASSERT_EQ(region->data()[i], PatternByte(i, 7)) << "at byte " << i;
  }
}

TEST(SharedRegionTest, ForkedChildDoesNotInheritTheMapping) {
  absl::StatusOr<SharedRegion> region = SharedRegion::Create("dontfork", kSize);
  ASSERT_TRUE(region.ok()) << region.status();
  pid_t pid = fork();
  ASSERT_NE(pid, -1) << "fork: errno " << errno;
  if (pid == 0) {
    // msync() fails with ENOMEM on an address range that is not mapped.
    int rc = msync(region->data(), region->size(), MS_ASYNC);
    _exit(rc == -1 && errno == ENOMEM ? 0 : 12);
  }
  EXPECT_EQ(ExitCodeOf(pid), 0);
}

TEST(SharedRegionTest, InheritedRegionDestroyedInChildLeavesChildMappingAlone) {
  absl::StatusOr<SharedRegion> region = SharedRegion::Create("inherited", kSize);
  ASSERT_TRUE(region.ok()) << region.status();
  pid_t pid = fork();
  ASSERT_NE(pid, -1) << "fork: errno " << errno;
  if (pid == 0) {
    int copy = dup(region->fd());
    if (copy < 0) _exit(10);
    // The child's own mapping may well land where the parent's was.
    absl::StatusOr<SharedRegion> mine = SharedRegion::Map(UniqueFd(copy), kSize);
    if (!mine.ok()) _exit(11);
    {
      SharedRegion inherited = *std::move(region);
    }  // destroyed here: must not unmap anything in the child
    for (size_t i = 0; i < kSize; ++i) mine->data()[i] = PatternByte(i, 3);
    _exit(0);
  }
  ASSERT_EQ(ExitCodeOf(pid), 0);  // a SIGSEGV in the child fails here
  for (size_t i = 0; i < kSize; ++i) {
    ASSERT_EQ(region->data()[i], PatternByte(i, 3)) << "at byte " << i;
  }
}

}  // namespace
}  // namespace syslink::ring
