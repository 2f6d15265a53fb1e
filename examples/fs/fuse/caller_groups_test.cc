#include "examples/fs/fuse/caller_groups.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace syslink::examples::fs {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const absl::Time kStart = absl::FromUnixSeconds(1000);

// A reader that counts its calls and gives `groups`.
struct CountingReader {
  int calls = 0;
  std::vector<gid_t> groups;
  bool ok = true;
  CallerGroups::Reader reader() {
    return [this](std::vector<gid_t>* out) {
      ++calls;
      *out = groups;
      return ok;
    };
  }
};

TEST(CallerGroupsTest, ReadsOnceWithinTheTtl) {
  CallerGroups cache(absl::Seconds(1));
  CountingReader read{.groups = {4, 5}};
  EXPECT_THAT(cache.Get(10, 1000, 100, read.reader(), kStart), ElementsAre(4, 5));
  EXPECT_THAT(cache.Get(10, 1000, 100, read.reader(), kStart + absl::Milliseconds(999)),
              ElementsAre(4, 5));
  EXPECT_EQ(read.calls, 1);
}

TEST(CallerGroupsTest, ReadsAgainAfterTheTtl) {
  CallerGroups cache(absl::Seconds(1));
  CountingReader read{.groups = {4}};
  (void)cache.Get(10, 1000, 100, read.reader(), kStart);
  read.groups = {7};
  EXPECT_THAT(cache.Get(10, 1000, 100, read.reader(), kStart + absl::Seconds(1)), ElementsAre(7));
  EXPECT_EQ(read.calls, 2);
}

TEST(CallerGroupsTest, OtherCredentialsOfTheSamePidReadAgain) {
  CallerGroups cache(absl::Seconds(10));
  CountingReader read{.groups = {4}};
  (void)cache.Get(10, 1000, 100, read.reader(), kStart);
  read.groups = {};
  EXPECT_THAT(cache.Get(10, 2000, 100, read.reader(), kStart), IsEmpty());
  EXPECT_THAT(cache.Get(10, 2000, 200, read.reader(), kStart), IsEmpty());
  EXPECT_EQ(read.calls, 3);
}

TEST(CallerGroupsTest, AFailedReadGivesNoneAndKeepsNothing) {
  CallerGroups cache(absl::Seconds(10));
  CountingReader read{.groups = {4}, .ok = false};
  EXPECT_THAT(cache.Get(10, 1000, 100, read.reader(), kStart), IsEmpty());
  EXPECT_EQ(cache.size(), 0u);
}

TEST(CallerGroupsTest, StaysBounded) {
  CallerGroups cache(absl::Seconds(10), /*max_entries=*/3);
  CountingReader read{.groups = {4}};
  for (pid_t pid = 1; pid <= 10; ++pid) (void)cache.Get(pid, 1, 1, read.reader(), kStart);
  EXPECT_LE(cache.size(), 3u);
}

}  // namespace
}  // namespace syslink::examples::fs
