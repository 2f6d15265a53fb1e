// Tests of CallTable: calls found by the id a link gave them, any other id finding nothing,
// slots reused, iteration over the calls in flight only.

#include "rpc/internal/call_table.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "syslink/msg_format.h"

namespace syslink::rpc::internal {
namespace {

using ::testing::UnorderedElementsAre;

// The id a link end gives its request number `count` in `slot`.
constexpr uint64_t Id(uint64_t count, uint32_t slot) { return count * kMirrorSlots + slot; }

TEST(CallTableTest, FindsWhatWasAddedAndNothingElse) {
  CallTable<std::string> calls;
  calls.Emplace(Id(1, 0), "first");
  calls.Emplace(Id(2, 1), "second");
  ASSERT_NE(calls.Find(Id(1, 0)), nullptr);
  EXPECT_EQ(*calls.Find(Id(1, 0)), "first");
  EXPECT_EQ(*calls.Find(Id(2, 1)), "second");
  EXPECT_EQ(calls.size(), 2u);
  for (uint64_t other : {uint64_t{0}, Id(3, 0), Id(2, 2), Id(0, kMirrorSlots - 1), ~uint64_t{0}}) {
    EXPECT_EQ(calls.Find(other), nullptr) << other;
  }
}

TEST(CallTableTest, EraseFreesTheSlotForTheNextId) {
  CallTable<std::string> calls;
  calls.Emplace(Id(1, 0), "first");
  calls.Erase(Id(1, 0));
  EXPECT_EQ(calls.Find(Id(1, 0)), nullptr);
  EXPECT_TRUE(calls.empty());
  calls.Emplace(Id(2, 0), "again");
  EXPECT_EQ(calls.Find(Id(1, 0)), nullptr);  // the old id does not find the new call
  EXPECT_EQ(*calls.Find(Id(2, 0)), "again");
}

TEST(CallTableTest, IteratesOverTheCallsInFlightOnly) {
  CallTable<std::string> calls;
  calls.Emplace(Id(1, 0), "a");
  calls.Emplace(Id(2, 1), "b");
  calls.Emplace(Id(3, 5), "c");  // a slot past the others: the table grows
  calls.Erase(Id(2, 1));
  std::vector<std::pair<uint64_t, std::string>> seen;
  for (auto& [id, value] : calls) seen.emplace_back(id, value);
  EXPECT_THAT(seen, UnorderedElementsAre(std::pair<uint64_t, std::string>{Id(1, 0), "a"},
                                         std::pair<uint64_t, std::string>{Id(3, 5), "c"}));
  calls.Clear();
  EXPECT_TRUE(calls.empty());
  EXPECT_FALSE(calls.begin() != calls.end());
}

// A new call in a slot whose call is still in the table (the link read that call's reply
// ahead and freed the slot): both are found, iterated and erased, each by its own id.
TEST(CallTableTest, ACallStillHereWhenItsSlotIsReusedIsKept) {
  CallTable<std::string> calls;
  calls.Emplace(Id(1, 3), "old");
  calls.Emplace(Id(2, 3), "new");
  calls.Emplace(Id(3, 3), "newer");
  EXPECT_EQ(calls.size(), 3u);
  EXPECT_EQ(*calls.Find(Id(1, 3)), "old");
  EXPECT_EQ(*calls.Find(Id(2, 3)), "new");
  EXPECT_EQ(*calls.Find(Id(3, 3)), "newer");
  EXPECT_EQ(calls.Find(Id(4, 3)), nullptr);
  std::vector<std::string> seen;
  for (auto& [id, value] : calls) seen.push_back(value);
  EXPECT_THAT(seen, UnorderedElementsAre("old", "new", "newer"));
  calls.Erase(Id(1, 3));
  EXPECT_EQ(calls.Find(Id(1, 3)), nullptr);
  EXPECT_EQ(*calls.Find(Id(2, 3)), "new");
  calls.Erase(Id(3, 3));
  calls.Erase(Id(2, 3));
  EXPECT_TRUE(calls.empty());
  EXPECT_FALSE(calls.begin() != calls.end());
  calls.Emplace(Id(5, 3), "again");
  EXPECT_EQ(*calls.Find(Id(5, 3)), "again");
}

}  // namespace
}  // namespace syslink::rpc::internal
