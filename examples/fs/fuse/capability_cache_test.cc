#include "examples/fs/fuse/capability_cache.h"

#include "gtest/gtest.h"

namespace syslink::examples::fs {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1000);

TEST(CapabilityCacheTest, UnknownNodesAreNotAbsent) {
  CapabilityCache cache(absl::Seconds(1));
  EXPECT_FALSE(cache.KnownAbsent(2, kStart));
}

TEST(CapabilityCacheTest, AnAbsenceLastsTheTtl) {
  CapabilityCache cache(absl::Seconds(1));
  cache.NoteAbsent(2, cache.generation(), kStart);
  EXPECT_TRUE(cache.KnownAbsent(2, kStart + absl::Milliseconds(999)));
  EXPECT_FALSE(cache.KnownAbsent(3, kStart));
  EXPECT_FALSE(cache.KnownAbsent(2, kStart + absl::Seconds(1)));
  EXPECT_EQ(cache.size(), 0u);  // the expired entry is gone
}

TEST(CapabilityCacheTest, DropForgetsTheNode) {
  CapabilityCache cache(absl::Seconds(1));
  cache.NoteAbsent(2, cache.generation(), kStart);
  cache.NoteAbsent(3, cache.generation(), kStart);
  cache.Drop(2);
  EXPECT_FALSE(cache.KnownAbsent(2, kStart));
  EXPECT_TRUE(cache.KnownAbsent(3, kStart));
}

TEST(CapabilityCacheTest, AnAnswerFromBeforeAChangeIsNotKept) {
  CapabilityCache cache(absl::Seconds(1));
  const uint64_t asked = cache.generation();
  cache.Drop(2);  // a setxattr through the mount while the server was being asked
  cache.NoteAbsent(2, asked, kStart);
  EXPECT_FALSE(cache.KnownAbsent(2, kStart));
}

TEST(CapabilityCacheTest, AZeroTtlKeepsNothing) {
  CapabilityCache cache(absl::ZeroDuration());
  cache.NoteAbsent(2, cache.generation(), kStart);
  EXPECT_FALSE(cache.KnownAbsent(2, kStart));
  EXPECT_EQ(cache.size(), 0u);
}

TEST(CapabilityCacheTest, StartsOverWhenFull) {
  CapabilityCache cache(absl::Seconds(1), /*max_entries=*/2);
  cache.NoteAbsent(2, cache.generation(), kStart);
  cache.NoteAbsent(3, cache.generation(), kStart);
  cache.NoteAbsent(4, cache.generation(), kStart);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_TRUE(cache.KnownAbsent(4, kStart));
  EXPECT_FALSE(cache.KnownAbsent(2, kStart));
}

}  // namespace
}  // namespace syslink::examples::fs
