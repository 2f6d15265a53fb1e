// Tests of DmaArena: whole pages, page-aligned offsets, first-fit reuse, exhaustion and
// fragmentation, bookkeeping, and a seeded random sequence checked against a page model.

#include "syslink/internal/dma_arena.h"

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace syslink::internal {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kPage = 4096;

// Allocates and fails the test (returning nullopt) if allocation fails.
std::optional<uint64_t> MustAllocate(DmaArena& arena, uint64_t bytes) {
  absl::StatusOr<uint64_t> offset = arena.Allocate(bytes);
  EXPECT_TRUE(offset.ok()) << "Allocate(" << bytes << "): " << offset.status();
  if (!offset.ok()) return std::nullopt;
  return *offset;
}

TEST(DmaArenaTest, NewArenaIsWholeAndFree) {
  DmaArena arena(64 * kPage);
  EXPECT_EQ(arena.size(), 64 * kPage);
  EXPECT_EQ(arena.free_bytes(), 64 * kPage);
  EXPECT_TRUE(arena.whole());
}

TEST(DmaArenaTest, AllocationRoundsUpToWholePages) {
  DmaArena arena(64 * kPage);
  struct Case {
    uint64_t bytes;
    uint64_t pages;
  };
  uint64_t used = 0;
  for (Case c : {Case{1, 1}, Case{kPage - 1, 1}, Case{kPage, 1}, Case{kPage + 1, 2},
                 Case{100 * 1024, 25}, Case{100 * 1024 + 1, 26}}) {
    SCOPED_TRACE(c.bytes);
    std::optional<uint64_t> offset = MustAllocate(arena, c.bytes);
    ASSERT_TRUE(offset.has_value());
    EXPECT_EQ(arena.AllocatedAt(*offset), c.pages * kPage);
    used += c.pages * kPage;
    EXPECT_EQ(arena.free_bytes(), arena.size() - used);
  }
}

TEST(DmaArenaTest, OffsetsArePageAlignedAndPacked) {
  DmaArena arena(64 * kPage);
  std::optional<uint64_t> a = MustAllocate(arena, 10);
  std::optional<uint64_t> b = MustAllocate(arena, 2 * kPage + 7);
  std::optional<uint64_t> c = MustAllocate(arena, kPage);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(*a % kPage, 0u);
  EXPECT_EQ(*b % kPage, 0u);
  EXPECT_EQ(*c % kPage, 0u);
  // First fit in an empty arena lays buffers out from the start, one after another.
  EXPECT_EQ(*a, 0u);
  EXPECT_EQ(*b, 1 * kPage);
  EXPECT_EQ(*c, 4 * kPage);
}

TEST(DmaArenaTest, FirstFitReusesFreedGap) {
  DmaArena arena(64 * kPage);
  std::optional<uint64_t> a = MustAllocate(arena, kPage);
  std::optional<uint64_t> b = MustAllocate(arena, 2 * kPage);
  std::optional<uint64_t> c = MustAllocate(arena, kPage);
  ASSERT_TRUE(a && b && c);
  ASSERT_TRUE(arena.Free(*b));
  EXPECT_EQ(MustAllocate(arena, kPage), *b);
  EXPECT_EQ(MustAllocate(arena, kPage), *b + kPage);
  EXPECT_EQ(MustAllocate(arena, kPage), *c + kPage);  // the gap is full again
}

TEST(DmaArenaTest, FirstFitSkipsGapThatIsTooSmall) {
  DmaArena arena(64 * kPage);
  std::optional<uint64_t> a = MustAllocate(arena, kPage);
  std::optional<uint64_t> b = MustAllocate(arena, kPage);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(arena.Free(*a));
  EXPECT_EQ(MustAllocate(arena, 2 * kPage), *b + kPage);
  EXPECT_EQ(MustAllocate(arena, kPage), *a);  // the small gap still serves a small buffer
}

TEST(DmaArenaTest, AdjacentFreedBuffersFormOneRun) {
  DmaArena arena(4 * kPage);
  std::optional<uint64_t> a = MustAllocate(arena, kPage);
  std::optional<uint64_t> b = MustAllocate(arena, 2 * kPage);
  std::optional<uint64_t> c = MustAllocate(arena, kPage);
  ASSERT_TRUE(a && b && c);
  ASSERT_TRUE(arena.Free(*a));
  ASSERT_TRUE(arena.Free(*b));
  EXPECT_EQ(MustAllocate(arena, 3 * kPage), 0u);
}

TEST(DmaArenaTest, FragmentationGivesResourceExhausted) {
  DmaArena arena(4 * kPage);
  std::vector<uint64_t> offsets;
  for (int i = 0; i < 4; ++i) {
    std::optional<uint64_t> offset = MustAllocate(arena, kPage);
    ASSERT_TRUE(offset.has_value());
    offsets.push_back(*offset);
  }
  ASSERT_TRUE(arena.Free(offsets[0]));
  ASSERT_TRUE(arena.Free(offsets[2]));
  ASSERT_EQ(arena.free_bytes(), 2 * kPage);

  absl::StatusOr<uint64_t> two = arena.Allocate(2 * kPage);
  EXPECT_EQ(two.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(two.status().message(), HasSubstr("no run of 2 free pages"));
  EXPECT_THAT(two.status().message(), HasSubstr("8192 of 16384 bytes free"));
  EXPECT_THAT(two.status().message(), HasSubstr("fragmented"));
  // The failure changed nothing: single pages still fit.
  EXPECT_EQ(arena.free_bytes(), 2 * kPage);
  EXPECT_EQ(MustAllocate(arena, kPage), offsets[0]);
}

TEST(DmaArenaTest, LargerThanArenaIsResourceExhausted) {
  DmaArena arena(4 * kPage);
  absl::StatusOr<uint64_t> offset = arena.Allocate(4 * kPage + 1);
  EXPECT_EQ(offset.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(offset.status().message(), HasSubstr("larger than the whole arena"));
  EXPECT_TRUE(arena.whole());
}

TEST(DmaArenaTest, WholeArenaInOneBufferThenNothingFits) {
  DmaArena arena(4 * kPage);
  EXPECT_EQ(MustAllocate(arena, 4 * kPage), 0u);
  EXPECT_EQ(arena.free_bytes(), 0u);
  EXPECT_EQ(arena.Allocate(1).status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(DmaArenaTest, EmptyArenaHasNoRoom) {
  DmaArena arena(0);
  EXPECT_EQ(arena.size(), 0u);
  EXPECT_EQ(arena.Allocate(1).status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(DmaArenaTest, PartialTrailingPageIsNeverHandedOut) {
  DmaArena arena(3 * kPage + 100);
  EXPECT_EQ(arena.size(), 3 * kPage);
  EXPECT_EQ(MustAllocate(arena, 3 * kPage), 0u);
  EXPECT_EQ(arena.Allocate(1).status().code(), absl::StatusCode::kResourceExhausted);
}

// A size whose round-up to whole pages overflows 64 bits is still far larger than the
// arena; it must not wrap to a buffer of 0 pages.
TEST(DmaArenaTest, HugeSizeIsResourceExhaustedNotWrapped) {
  DmaArena arena(4 * kPage);
  for (uint64_t bytes :
       {std::numeric_limits<uint64_t>::max(), std::numeric_limits<uint64_t>::max() - kPage + 2,
        std::numeric_limits<uint64_t>::max() - kPage + 1}) {
    SCOPED_TRACE(bytes);
    absl::StatusOr<uint64_t> offset = arena.Allocate(bytes);
    EXPECT_EQ(offset.status().code(), absl::StatusCode::kResourceExhausted)
        << "got offset " << (offset.ok() ? *offset : 0);
    EXPECT_TRUE(arena.whole());
  }
}

TEST(DmaArenaTest, AllocateZeroIsInvalidArgument) {
  DmaArena arena(4 * kPage);
  absl::StatusOr<uint64_t> offset = arena.Allocate(0);
  EXPECT_EQ(offset.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(arena.whole());
  EXPECT_EQ(arena.free_bytes(), 4 * kPage);
}

TEST(DmaArenaTest, FreeReturnsPagesAndReportsTrue) {
  DmaArena arena(8 * kPage);
  std::optional<uint64_t> a = MustAllocate(arena, 3 * kPage);
  ASSERT_TRUE(a.has_value());
  EXPECT_FALSE(arena.whole());
  EXPECT_EQ(arena.free_bytes(), 5 * kPage);
  EXPECT_TRUE(arena.Free(*a));
  EXPECT_TRUE(arena.whole());
  EXPECT_EQ(arena.free_bytes(), 8 * kPage);
}

TEST(DmaArenaTest, FreeOfUnknownOffsetIsFalse) {
  DmaArena arena(8 * kPage);
  ASSERT_TRUE(MustAllocate(arena, kPage).has_value());
  EXPECT_FALSE(arena.Free(4 * kPage));    // free page
  EXPECT_FALSE(arena.Free(100 * kPage));  // past the arena
  EXPECT_EQ(arena.free_bytes(), 7 * kPage);
}

TEST(DmaArenaTest, FreeOfMisalignedOffsetIsFalseAndKeepsBuffer) {
  DmaArena arena(8 * kPage);
  std::optional<uint64_t> a = MustAllocate(arena, 2 * kPage);
  ASSERT_TRUE(a.has_value());
  EXPECT_FALSE(arena.Free(*a + 1));
  EXPECT_FALSE(arena.Free(*a + kPage - 1));
  EXPECT_EQ(arena.AllocatedAt(*a), 2 * kPage);
  EXPECT_EQ(arena.free_bytes(), 6 * kPage);
}

TEST(DmaArenaTest, FreeOfPageInsideBufferIsFalse) {
  DmaArena arena(8 * kPage);
  std::optional<uint64_t> a = MustAllocate(arena, 3 * kPage);
  ASSERT_TRUE(a.has_value());
  EXPECT_FALSE(arena.Free(*a + kPage));
  EXPECT_EQ(arena.AllocatedAt(*a), 3 * kPage);
  // The middle page is still in use: nothing new lands on it.
  EXPECT_EQ(MustAllocate(arena, kPage), *a + 3 * kPage);
}

TEST(DmaArenaTest, DoubleFreeIsFalse) {
  DmaArena arena(8 * kPage);
  std::optional<uint64_t> a = MustAllocate(arena, kPage);
  std::optional<uint64_t> b = MustAllocate(arena, kPage);
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(arena.Free(*a));
  EXPECT_FALSE(arena.Free(*a));
  EXPECT_EQ(arena.free_bytes(), 7 * kPage);  // b is untouched
  EXPECT_EQ(arena.AllocatedAt(*b), kPage);
}

TEST(DmaArenaTest, AllocatedAtOnlyAtBufferStarts) {
  DmaArena arena(8 * kPage);
  std::optional<uint64_t> a = MustAllocate(arena, 2 * kPage + 1);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(arena.AllocatedAt(*a), 3 * kPage);
  EXPECT_EQ(arena.AllocatedAt(*a + kPage), 0u);      // inside
  EXPECT_EQ(arena.AllocatedAt(*a + 1), 0u);          // misaligned
  EXPECT_EQ(arena.AllocatedAt(*a + 3 * kPage), 0u);  // free
  ASSERT_TRUE(arena.Free(*a));
  EXPECT_EQ(arena.AllocatedAt(*a), 0u);
}

// Random allocations and frees, checked after every step against a model of which pages are
// in use: buffers lie inside the arena, never overlap, sit where first fit puts them, and
// the arena fails only when no run of free pages is long enough.
TEST(DmaArenaTest, RandomSequenceMatchesPageModel) {
  constexpr uint64_t kPages = 64;
  DmaArena arena(kPages * kPage);
  std::vector<bool> used(kPages, false);
  std::map<uint64_t, uint64_t> live;  // offset -> pages
  std::mt19937_64 rng(20240611);

  auto first_fit = [&](uint64_t want) -> std::optional<uint64_t> {
    uint64_t run = 0;
    for (uint64_t p = 0; p < kPages; ++p) {
      run = used[p] ? 0 : run + 1;
      if (run == want) return (p + 1 - want) * kPage;
    }
    return std::nullopt;
  };

  int allocations = 0, exhausted = 0, frees = 0;
  for (int step = 0; step < 5000; ++step) {
    SCOPED_TRACE(step);
    bool allocate = live.empty() || rng() % 100 < 55;
    if (allocate) {
      uint64_t bytes = 1 + rng() % (12 * kPage);
      uint64_t want = (bytes + kPage - 1) / kPage;
      std::optional<uint64_t> expected = first_fit(want);
      absl::StatusOr<uint64_t> offset = arena.Allocate(bytes);
      if (!expected) {
        ASSERT_EQ(offset.status().code(), absl::StatusCode::kResourceExhausted);
        ++exhausted;
      } else {
        ASSERT_TRUE(offset.ok()) << offset.status();
        ASSERT_EQ(*offset, *expected);
        ASSERT_EQ(*offset % kPage, 0u);
        ASSERT_LE(*offset + want * kPage, arena.size());
        for (uint64_t p = *offset / kPage; p < *offset / kPage + want; ++p) {
          ASSERT_FALSE(used[p]) << "page " << p << " handed out twice";
          used[p] = true;
        }
        live[*offset] = want;
        ASSERT_EQ(arena.AllocatedAt(*offset), want * kPage);
        ++allocations;
      }
    } else {
      auto it = live.begin();
      std::advance(it, rng() % live.size());
      if (it->second > 1) {
        ASSERT_FALSE(arena.Free(it->first + kPage));  // not a buffer start
      }
      ASSERT_TRUE(arena.Free(it->first));
      for (uint64_t p = it->first / kPage; p < it->first / kPage + it->second; ++p) {
        used[p] = false;
      }
      live.erase(it);
      ++frees;
    }
    uint64_t free_pages = 0;
    for (bool u : used) free_pages += u ? 0 : 1;
    ASSERT_EQ(arena.free_bytes(), free_pages * kPage);
    ASSERT_EQ(arena.whole(), live.empty());
  }
  // The sequence really exercised all three outcomes.
  EXPECT_GT(allocations, 100);
  EXPECT_GT(exhausted, 10);
  EXPECT_GT(frees, 100);

  for (const auto& [offset, pages] : live) EXPECT_TRUE(arena.Free(offset));
  EXPECT_TRUE(arena.whole());
}

}  // namespace
}  // namespace syslink::internal
