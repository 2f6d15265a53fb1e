#include "rpc/internal/caller_pace.h"

#include <cstdlib>
#include <memory>
#include <optional>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "rpc/internal/spin_place.h"

namespace syslink::rpc::internal {
namespace {

// The machine's spin places (spin_place.h) live in the test's own directory, named before
// any is taken, so that servers of other tests running beside this one hold none of them.
const bool kOwnPlaces = [] {
  const char* tmp = std::getenv("TEST_TMPDIR");
  char made[] = "/tmp/caller_pace_test.XXXXXX";
  setenv("SYSLINK_SPIN_PLACES", tmp != nullptr ? tmp : mkdtemp(made), /*overwrite=*/1);
  return true;
}();

constexpr absl::Duration kBudget = absl::Microseconds(50);
constexpr absl::Duration kLimit = absl::Milliseconds(1);

void Calls(CallerPace& pace, absl::Duration gap, int n = 8) {
  for (int i = 0; i < n; ++i) pace.Arrived(gap);
}

TEST(CallerPaceTest, StartsWithThePlainBudget) {
  CallerPace pace(kBudget, kLimit);
  EXPECT_FALSE(pace.following());
  EXPECT_EQ(pace.Budget(), kBudget);
}

TEST(CallerPaceTest, FollowsACallerSlowerThanTheBudgetWithinTheLimit) {
  CallerPace pace(kBudget, kLimit);
  Calls(pace, absl::Microseconds(110));
  EXPECT_TRUE(pace.following());
  EXPECT_EQ(pace.Budget(), absl::Microseconds(220));  // twice the mean gap
}

TEST(CallerPaceTest, NeverSpinsPastTheLimit) {
  CallerPace pace(kBudget, kLimit);
  Calls(pace, absl::Microseconds(700));
  EXPECT_TRUE(pace.following());
  EXPECT_EQ(pace.Budget(), kLimit);
}

TEST(CallerPaceTest, ACallerWithinTheBudgetNeedsNoMore) {
  CallerPace pace(kBudget, kLimit);
  Calls(pace, absl::Microseconds(2));
  EXPECT_FALSE(pace.following());
  EXPECT_EQ(pace.Budget(), kBudget);
}

TEST(CallerPaceTest, ACallerSlowerThanTheLimitIsNotFollowed) {
  CallerPace pace(kBudget, kLimit);
  Calls(pace, absl::Milliseconds(5));
  EXPECT_FALSE(pace.following());
  EXPECT_EQ(pace.Budget(), kBudget);
}

TEST(CallerPaceTest, StopsFollowingWhenTheCallerSlowsDown) {
  CallerPace pace(kBudget, kLimit);
  Calls(pace, absl::Microseconds(110));
  ASSERT_TRUE(pace.following());
  // The caller went quiet: the wait that ended in a call took a second.
  pace.Arrived(absl::Seconds(1));
  EXPECT_FALSE(pace.following());
  EXPECT_EQ(pace.Budget(), kBudget);
}

TEST(CallerPaceTest, ZeroLimitNeverFollows) {
  CallerPace pace(kBudget, absl::ZeroDuration());
  Calls(pace, absl::Microseconds(110));
  EXPECT_FALSE(pace.following());
  EXPECT_EQ(pace.Budget(), kBudget);
}

TEST(CallerPaceTest, LeavesACpuForTheRestOfTheMachine) {
  const int places = SpinPlace::Count();
  std::vector<std::unique_ptr<CallerPace>> paces;
  for (int i = 0; i < places + 1; ++i) {
    paces.push_back(std::make_unique<CallerPace>(kBudget, kLimit));
    Calls(*paces.back(), absl::Microseconds(110));
  }
  for (int i = 0; i < places; ++i) EXPECT_TRUE(paces[i]->following()) << i;
  // Every place is taken: the last link keeps the plain budget...
  EXPECT_FALSE(paces.back()->following());
  EXPECT_EQ(paces.back()->Budget(), kBudget);
  // ...until a link that followed its caller ends and frees its place. The last link was
  // refused on its first call, and asks again on the 17th after that.
  paces.front().reset();
  Calls(*paces.back(), absl::Microseconds(110), 16 - 7);
  EXPECT_FALSE(paces.back()->following());
  paces.back()->Arrived(absl::Microseconds(110));
  EXPECT_TRUE(paces.back()->following());
}

// Links that each follow their caller, holding every place between them.
std::vector<std::unique_ptr<CallerPace>> HoldEveryPlace() {
  std::vector<std::unique_ptr<CallerPace>> paces;
  for (int i = 0; i < SpinPlace::Count(); ++i) {
    paces.push_back(std::make_unique<CallerPace>(kBudget, kLimit));
    Calls(*paces.back(), absl::Microseconds(110), 1);
    EXPECT_TRUE(paces.back()->following()) << i;
  }
  return paces;
}

TEST(CallerPaceTest, WaitsTwiceAsLongAfterEachRefusal) {
  std::vector<std::unique_ptr<CallerPace>> holders = HoldEveryPlace();
  CallerPace pace(kBudget, kLimit);
  Calls(pace, absl::Microseconds(110), 1 + 16 + 1);  // refused, then again on the 17th
  EXPECT_FALSE(pace.following());
  holders.pop_back();  // a place is free, but the second refusal means 32 calls before asking
  Calls(pace, absl::Microseconds(110), 32);
  EXPECT_FALSE(pace.following());
  pace.Arrived(absl::Microseconds(110));
  EXPECT_TRUE(pace.following());
}

TEST(CallerPaceTest, AParkedLinkGivesItsPlaceUpAndTakesItAgainWhenWoken) {
  std::vector<std::unique_ptr<CallerPace>> paces = HoldEveryPlace();
  EXPECT_FALSE(SpinPlace::TryTake().has_value());
  paces.front()->Parked();
  EXPECT_FALSE(paces.front()->following());
  EXPECT_EQ(paces.front()->Budget(), kBudget);
  {
    std::optional<SpinPlace> freed = SpinPlace::TryTake();  // another link may have it now
    EXPECT_TRUE(freed.has_value());
  }
  paces.front()->Arrived(absl::Microseconds(110));  // a call wakes it: it follows again
  EXPECT_TRUE(paces.front()->following());
}

}  // namespace
}  // namespace syslink::rpc::internal
