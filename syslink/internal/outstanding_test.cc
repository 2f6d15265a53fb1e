// Tests of OutstandingRequests (every request leaves the table exactly once, deadlines are
// tracked in order, abandoned loans come back exactly once) and of CompleteUnreplied()'s
// synthetic replies, which must pass the same check a peer's reply does.

#include "syslink/internal/outstanding.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "syslink/internal/message_check.h"
#include "syslink/mirror_format.h"
#include "syslink/msg_format.h"

namespace syslink::internal {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

// A fixed point in time, so that deadlines compare without a clock.
const absl::Time kT0 = absl::FromUnixSeconds(1'000'000);

absl::Time At(int seconds) { return kT0 + absl::Seconds(seconds); }

// Adds a request as a sender does, Mirror() then Track() (at a fixed count), and returns
// its id. Its command is 100 + `tag`, so a test can tell its requests apart.
uint64_t Add(OutstandingRequests& table, uint32_t tag = 0,
             absl::Time deadline = absl::InfiniteFuture(),
             std::optional<Loan> loan = std::nullopt) {
  constexpr uint64_t kSentCycles = 1;
  const uint32_t command = 100 + tag;
  uint64_t id = table.Mirror(command, loan ? loan->length : 0, kSentCycles);
  table.Track({.id = id, .command = command, .deadline = deadline, .loan = loan}, kSentCycles);
  return id;
}

std::vector<uint64_t> Ids(const std::vector<OutstandingRequest>& requests) {
  std::vector<uint64_t> ids;
  for (const OutstandingRequest& r : requests) ids.push_back(r.id);
  return ids;
}

std::vector<uint64_t> Offsets(const std::vector<Loan>& loans) {
  std::vector<uint64_t> offsets;
  for (const Loan& loan : loans) offsets.push_back(loan.offset);
  return offsets;
}

// --- Ids -----------------------------------------------------------------------------------

TEST(OutstandingRequestsTest, IdsAreNonZeroDistinctAndNameTheirSlot) {
  OutstandingRequests table;
  std::vector<uint64_t> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(Add(table));
  ASSERT_TRUE(table.Take(ids[1]).has_value());
  ids.push_back(Add(table));  // takes the freed slot again, with a new id
  for (size_t i = 0; i < ids.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_NE(ids[i], 0u);
    for (size_t j = 0; j < i; ++j) EXPECT_NE(ids[i], ids[j]);
  }
  EXPECT_EQ(MirrorSlotOf(ids[3]), MirrorSlotOf(ids[1]));
  EXPECT_FALSE(table.Contains(ids[1]));  // the old id does not find the new request
  EXPECT_TRUE(table.Contains(ids[3]));
}

TEST(OutstandingRequestsTest, AnyClaimedIdIsLookedUpSafely) {
  OutstandingRequests table;
  uint64_t id = Add(table);
  for (uint64_t claim : {uint64_t{0}, id ^ (uint64_t{1} << 40), id + kMirrorSlots, ~uint64_t{0},
                         uint64_t{kMirrorSlots - 1}}) {
    SCOPED_TRACE(claim);
    EXPECT_EQ(table.Find(claim), nullptr);
    EXPECT_FALSE(table.Take(claim).has_value());
    EXPECT_FALSE(table.Abandon(claim).has_value());
    EXPECT_FALSE(table.TakeAbandoned(claim).has_value());
  }
  EXPECT_TRUE(table.Contains(id));
}

// --- Add / Take / Contains -----------------------------------------------------------------

TEST(OutstandingRequestsTest, EmptyTable) {
  OutstandingRequests table;
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.abandoned(), 0u);
  EXPECT_FALSE(table.Contains(0));
  EXPECT_EQ(table.NextDeadline(), absl::InfiniteFuture());
  EXPECT_THAT(table.Expired(absl::InfiniteFuture()), IsEmpty());
}

TEST(OutstandingRequestsTest, AddMakesRequestOutstanding) {
  OutstandingRequests table;
  uint64_t a = Add(table);
  uint64_t b = Add(table);
  EXPECT_TRUE(table.Contains(a));
  EXPECT_TRUE(table.Contains(b));
  EXPECT_EQ(table.size(), 2u);
}

TEST(OutstandingRequestsTest, TakeReturnsTheRequestAsAdded) {
  OutstandingRequests table;
  uint64_t id =
      Add(table, 7, At(5), Loan{.offset = 8192, .length = 100, .flag = kFlagDmaFromTarget});
  std::optional<OutstandingRequest> r = table.Take(id);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->id, id);
  EXPECT_EQ(r->command, 107u);
  EXPECT_EQ(r->deadline, At(5));
  ASSERT_TRUE(r->loan.has_value());
  EXPECT_EQ(r->loan->offset, 8192u);
  EXPECT_EQ(r->loan->length, 100u);
  EXPECT_EQ(r->loan->flag, kFlagDmaFromTarget);
}

TEST(OutstandingRequestsTest, TakeRemovesOnlyThatRequest) {
  OutstandingRequests table;
  uint64_t a = Add(table);
  uint64_t b = Add(table);
  ASSERT_TRUE(table.Take(a).has_value());
  EXPECT_FALSE(table.Contains(a));
  EXPECT_TRUE(table.Contains(b));
  EXPECT_EQ(table.size(), 1u);
}

TEST(OutstandingRequestsTest, SecondTakeOfSameIdReturnsNothing) {
  OutstandingRequests table;
  uint64_t id = Add(table);
  ASSERT_TRUE(table.Take(id).has_value());
  EXPECT_FALSE(table.Take(id).has_value());
}

TEST(OutstandingRequestsTest, TakeForgetsTheDeadline) {
  OutstandingRequests table;
  uint64_t id = Add(table, 0, At(1));
  ASSERT_TRUE(table.Take(id).has_value());
  EXPECT_EQ(table.NextDeadline(), absl::InfiniteFuture());
  EXPECT_THAT(table.Expired(At(100)), IsEmpty());
}

TEST(OutstandingRequestsTest, ASlotCanBeReusedAfterTake) {
  OutstandingRequests table;
  uint64_t first = Add(table, 0, At(1));
  ASSERT_TRUE(table.Take(first).has_value());
  uint64_t second = Add(table, 0, At(50));
  EXPECT_EQ(MirrorSlotOf(second), MirrorSlotOf(first));
  EXPECT_EQ(table.NextDeadline(), At(50));
  EXPECT_THAT(table.Expired(At(10)), IsEmpty());
}

// --- Abandon -------------------------------------------------------------------------------

TEST(OutstandingRequestsTest, AbandonRemovesRequestButRemembersIt) {
  OutstandingRequests table;
  uint64_t id = Add(table, 4, At(3));
  std::optional<OutstandingRequest> r = table.Abandon(id);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->id, id);
  EXPECT_EQ(r->command, 104u);
  EXPECT_FALSE(table.Contains(id));
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.abandoned(), 1u);
  EXPECT_FALSE(table.Take(id).has_value());
}

TEST(OutstandingRequestsTest, AbandonForgetsTheDeadline) {
  OutstandingRequests table;
  uint64_t a = Add(table, 0, At(1));
  uint64_t b = Add(table, 0, At(2));
  ASSERT_TRUE(table.Abandon(a).has_value());
  EXPECT_EQ(table.NextDeadline(), At(2));
  EXPECT_THAT(table.Expired(At(100)), ElementsAre(b));
}

TEST(OutstandingRequestsTest, AnAbandonedRequestKeepsItsSlot) {
  OutstandingRequests table;
  uint64_t abandoned = Add(table);
  ASSERT_TRUE(table.Abandon(abandoned).has_value());
  uint64_t next = Add(table);
  EXPECT_NE(MirrorSlotOf(next), MirrorSlotOf(abandoned));
  ASSERT_TRUE(table.TakeAbandoned(abandoned).has_value());
  EXPECT_EQ(MirrorSlotOf(Add(table)), MirrorSlotOf(abandoned));
}

TEST(OutstandingRequestsTest, AbandonKeepsLoanAndTakeAbandonedReturnsItOnce) {
  OutstandingRequests table;
  uint64_t id = Add(table, 0, absl::InfiniteFuture(),
                    Loan{.offset = 3 * 4096, .length = 5000, .flag = kFlagDmaToTarget});
  ASSERT_TRUE(table.Abandon(id).has_value());

  std::optional<std::optional<Loan>> loan = table.TakeAbandoned(id);
  ASSERT_TRUE(loan.has_value());
  ASSERT_TRUE(loan->has_value());
  EXPECT_EQ((*loan)->offset, 3u * 4096);
  EXPECT_EQ((*loan)->length, 5000u);
  EXPECT_EQ((*loan)->flag, kFlagDmaToTarget);
  EXPECT_EQ(table.abandoned(), 0u);

  EXPECT_FALSE(table.TakeAbandoned(id).has_value());
}

TEST(OutstandingRequestsTest, TakeAbandonedWithoutLoanIsKnownButEmpty) {
  OutstandingRequests table;
  uint64_t id = Add(table);
  ASSERT_TRUE(table.Abandon(id).has_value());
  std::optional<std::optional<Loan>> loan = table.TakeAbandoned(id);
  ASSERT_TRUE(loan.has_value());    // the id was abandoned...
  EXPECT_FALSE(loan->has_value());  // ...with nothing lent
  EXPECT_FALSE(table.TakeAbandoned(id).has_value());
}

TEST(OutstandingRequestsTest, AbandonOfUnknownIdRemembersNothing) {
  OutstandingRequests table;
  EXPECT_FALSE(table.Abandon(9).has_value());
  EXPECT_EQ(table.abandoned(), 0u);
  EXPECT_FALSE(table.TakeAbandoned(9).has_value());
}

TEST(OutstandingRequestsTest, TakeAbandonedOfOutstandingIdReturnsNothingAndKeepsIt) {
  OutstandingRequests table;
  uint64_t id = Add(table);
  EXPECT_FALSE(table.TakeAbandoned(id).has_value());
  EXPECT_TRUE(table.Contains(id));
}

TEST(OutstandingRequestsTest, SecondAbandonOfSameIdReturnsNothing) {
  OutstandingRequests table;
  uint64_t id = Add(table, 0, absl::InfiniteFuture(), Loan{.offset = 0, .length = 1, .flag = 1});
  ASSERT_TRUE(table.Abandon(id).has_value());
  EXPECT_FALSE(table.Abandon(id).has_value());
  EXPECT_EQ(table.abandoned(), 1u);
}

// --- Deadlines -----------------------------------------------------------------------------

TEST(OutstandingRequestsTest, NextDeadlineIsTheEarliest) {
  OutstandingRequests table;
  uint64_t a = Add(table, 0, At(30));
  uint64_t b = Add(table, 0, At(10));
  uint64_t c = Add(table, 0, absl::InfiniteFuture());
  uint64_t d = Add(table, 0, At(20));
  EXPECT_EQ(table.NextDeadline(), At(10));
  ASSERT_TRUE(table.Take(b).has_value());
  EXPECT_EQ(table.NextDeadline(), At(20));
  ASSERT_TRUE(table.Take(d).has_value());
  EXPECT_EQ(table.NextDeadline(), At(30));
  ASSERT_TRUE(table.Take(a).has_value());
  // Only the request without a deadline is left.
  EXPECT_TRUE(table.Contains(c));
  EXPECT_EQ(table.NextDeadline(), absl::InfiniteFuture());
}

TEST(OutstandingRequestsTest, InfiniteDeadlineOnlyTableHasNoNextDeadline) {
  OutstandingRequests table;
  Add(table);
  Add(table);
  EXPECT_EQ(table.NextDeadline(), absl::InfiniteFuture());
  EXPECT_THAT(table.Expired(absl::InfiniteFuture()), IsEmpty());
}

TEST(OutstandingRequestsTest, TwoRequestsWithTheSameDeadline) {
  OutstandingRequests table;
  uint64_t a = Add(table, 0, At(5));
  uint64_t b = Add(table, 0, At(5));
  EXPECT_THAT(table.Expired(At(5)), ElementsAre(a, b));
  ASSERT_TRUE(table.Take(a).has_value());
  EXPECT_EQ(table.NextDeadline(), At(5));
  EXPECT_THAT(table.Expired(At(5)), ElementsAre(b));
}

TEST(OutstandingRequestsTest, ExpiredListsDeadlinesAtOrBeforeNowInDeadlineOrder) {
  OutstandingRequests table;
  uint64_t a = Add(table, 0, At(30));
  uint64_t b = Add(table, 0, At(10));
  Add(table, 0, absl::InfiniteFuture());
  uint64_t d = Add(table, 0, At(20));
  EXPECT_THAT(table.Expired(At(9)), IsEmpty());
  EXPECT_THAT(table.Expired(At(10)), ElementsAre(b));  // exactly at the deadline
  EXPECT_THAT(table.Expired(At(25)), ElementsAre(b, d));
  EXPECT_THAT(table.Expired(At(1000)), ElementsAre(b, d, a));
}

TEST(OutstandingRequestsTest, ExpiredDoesNotRemove) {
  OutstandingRequests table;
  uint64_t id = Add(table, 0, At(1));
  EXPECT_THAT(table.Expired(At(2)), ElementsAre(id));
  EXPECT_TRUE(table.Contains(id));
  EXPECT_THAT(table.Expired(At(2)), ElementsAre(id));
}

// --- TakeAll / TakeAllAbandoned ------------------------------------------------------------

TEST(OutstandingRequestsTest, TakeAllReturnsEveryRequestInSendingOrderAndEmptiesTheTable) {
  OutstandingRequests table;
  std::vector<uint64_t> ids = {Add(table, 0, At(3)), Add(table, 0, At(1)), Add(table)};
  ASSERT_TRUE(table.Take(ids[0]).has_value());
  ids.erase(ids.begin());
  ids.push_back(Add(table));  // in the first request's slot, sent after the others
  ids.push_back(Add(table, 0, At(2)));
  EXPECT_THAT(Ids(table.TakeAll()), ElementsAreArray(ids));
  EXPECT_EQ(table.size(), 0u);
  for (uint64_t id : ids) EXPECT_FALSE(table.Contains(id));
  EXPECT_EQ(table.NextDeadline(), absl::InfiniteFuture());
  EXPECT_THAT(table.Expired(At(1000)), IsEmpty());
  EXPECT_THAT(table.TakeAll(), IsEmpty());
}

TEST(OutstandingRequestsTest, TakeAllLeavesNoStaleDeadline) {
  OutstandingRequests table;
  Add(table, 0, At(1));
  ASSERT_EQ(table.TakeAll().size(), 1u);
  Add(table, 0, At(50));
  EXPECT_EQ(table.NextDeadline(), At(50));
  EXPECT_THAT(table.Expired(At(10)), IsEmpty());
}

TEST(OutstandingRequestsTest, TakeAllKeepsAbandonedForTakeAllAbandoned) {
  OutstandingRequests table;
  uint64_t a = Add(table, 0, absl::InfiniteFuture(), Loan{.offset = 4096, .length = 1, .flag = 1});
  uint64_t b = Add(table);
  ASSERT_TRUE(table.Abandon(a).has_value());
  EXPECT_THAT(Ids(table.TakeAll()), ElementsAre(b));
  EXPECT_EQ(table.abandoned(), 1u);
  EXPECT_THAT(Offsets(table.TakeAllAbandoned()), ElementsAre(4096u));
}

TEST(OutstandingRequestsTest, TakeAllAbandonedReturnsOnlyLoansThatExist) {
  OutstandingRequests table;
  uint64_t a = Add(table, 0, absl::InfiniteFuture(),
                   Loan{.offset = 0, .length = 10, .flag = kFlagDmaToTarget});
  uint64_t b = Add(table);  // no loan
  uint64_t c = Add(table, 0, absl::InfiniteFuture(),
                   Loan{.offset = 8192, .length = 20, .flag = kFlagDmaFromTarget});
  uint64_t d = Add(table, 0, absl::InfiniteFuture(),
                   Loan{.offset = 16384, .length = 30, .flag = kFlagDmaToTarget});  // stays
  ASSERT_TRUE(table.Abandon(a).has_value());
  ASSERT_TRUE(table.Abandon(b).has_value());
  ASSERT_TRUE(table.Abandon(c).has_value());
  ASSERT_EQ(table.abandoned(), 3u);

  std::vector<Loan> loans = table.TakeAllAbandoned();
  EXPECT_THAT(Offsets(loans), UnorderedElementsAre(0u, 8192u));
  EXPECT_EQ(table.abandoned(), 0u);
  EXPECT_FALSE(table.TakeAbandoned(a).has_value());
  EXPECT_FALSE(table.TakeAbandoned(b).has_value());
  EXPECT_THAT(table.TakeAllAbandoned(), IsEmpty());
  EXPECT_TRUE(table.Contains(d));  // outstanding requests are not touched
}

// --- The mirror ----------------------------------------------------------------------------

// A mirror in ordinary memory, as the region would hold it: zeroed slots.
struct Mirror {
  Mirror() : slots(new MirrorSlot[kMirrorSlots]()) {}
  std::unique_ptr<MirrorSlot[]> slots;
};

TEST(OutstandingMirrorTest, AddFillsTheSlotItsIdNames) {
  Mirror mirror;
  OutstandingRequests table(mirror.slots.get());
  uint64_t first = Add(table, 5, absl::InfiniteFuture(), Loan{.offset = 0, .length = 8192});
  uint64_t second = Add(table, 6);
  ASSERT_NE(MirrorSlotOf(second), MirrorSlotOf(first));
  const MirrorSlot& slot = mirror.slots[MirrorSlotOf(first)];
  EXPECT_EQ(slot.id.load(), first);
  EXPECT_EQ(slot.command, 105u);
  EXPECT_EQ(slot.state.load(), 0u);
  EXPECT_EQ(slot.dma_bytes, 8192u);
  EXPECT_EQ(mirror.slots[MirrorSlotOf(second)].id.load(), second);
}

TEST(OutstandingMirrorTest, MirrorFillsTheSlotBeforeTrackEntersTheRequest) {
  Mirror mirror;
  OutstandingRequests table(mirror.slots.get());
  uint64_t id = table.Mirror(105, 4096, /*sent_cycles=*/1000);
  uint32_t slot = MirrorSlotOf(id);
  EXPECT_EQ(mirror.slots[slot].id.load(), id);  // complete in the mirror already
  EXPECT_EQ(mirror.slots[slot].command, 105u);
  EXPECT_EQ(mirror.slots[slot].dma_bytes, 4096u);
  EXPECT_EQ(mirror.slots[slot].sent_cycles, 1000u);
  EXPECT_FALSE(table.Contains(id));  // but not outstanding yet

  table.Track({.id = id, .command = 105}, /*sent_cycles=*/1234);
  EXPECT_EQ(mirror.slots[slot].sent_cycles, 1234u);
  ASSERT_NE(table.Find(id), nullptr);
  ASSERT_TRUE(table.Take(id).has_value());
  EXPECT_EQ(mirror.slots[slot].id.load(), 0u);
}

TEST(OutstandingMirrorTest, AbandonMarksTheSlotGivenUpAndKeepsIt) {
  Mirror mirror;
  OutstandingRequests table(mirror.slots.get());
  uint64_t a = Add(table);
  uint64_t b = Add(table);
  const MirrorSlot& slot = mirror.slots[MirrorSlotOf(a)];
  ASSERT_TRUE(table.Abandon(a).has_value());
  EXPECT_EQ(slot.id.load(), a);  // the late reply or the broker frees it
  EXPECT_EQ(slot.state.load(), kMirrorGivenUp);
  EXPECT_EQ(mirror.slots[MirrorSlotOf(b)].state.load(), 0u);
  ASSERT_TRUE(table.TakeAbandoned(a).has_value());
  EXPECT_EQ(slot.id.load(), 0u);
}

TEST(OutstandingMirrorTest, AReusedSlotStartsNotGivenUp) {
  Mirror mirror;
  OutstandingRequests table(mirror.slots.get());
  uint64_t first = Add(table);
  ASSERT_TRUE(table.Abandon(first).has_value());
  ASSERT_TRUE(table.TakeAbandoned(first).has_value());
  uint64_t second = Add(table);
  uint32_t slot = MirrorSlotOf(first);
  ASSERT_EQ(MirrorSlotOf(second), slot);  // freed slots are reused first
  EXPECT_EQ(mirror.slots[slot].id.load(), second);
  EXPECT_EQ(mirror.slots[slot].state.load(), 0u);
}

TEST(OutstandingMirrorTest, TakeEmptiesTheSlot) {
  Mirror mirror;
  OutstandingRequests table(mirror.slots.get());
  uint64_t id = Add(table);
  ASSERT_TRUE(table.Take(id).has_value());
  EXPECT_EQ(mirror.slots[MirrorSlotOf(id)].id.load(), 0u);
}

TEST(OutstandingMirrorTest, FullAfterEverySlotIsTaken) {
  Mirror mirror;
  OutstandingRequests table(mirror.slots.get());
  std::vector<uint64_t> ids;
  for (uint32_t i = 0; i < kMirrorSlots; ++i) {
    ASSERT_FALSE(table.full());
    ids.push_back(Add(table));
  }
  EXPECT_TRUE(table.full());
  ASSERT_TRUE(table.Take(ids[0]).has_value());
  EXPECT_FALSE(table.full());
}

// --- CompleteUnreplied ---------------------------------------------------------------------

TEST(CompleteUnrepliedTest, NoRequestsNoReplies) {
  EXPECT_THAT(CompleteUnreplied({}, absl::StatusCode::kUnavailable), IsEmpty());
}

TEST(CompleteUnrepliedTest, OneWellFormedSyntheticReplyPerRequestInOrder) {
  std::vector<Unreplied> requests = {
      {.id = 9, .command = 1}, {.id = 3, .command = 70000}, {.id = ~uint64_t{0}, .command = 0}};
  std::vector<MessageHeader> replies = CompleteUnreplied(requests, absl::StatusCode::kUnavailable);
  ASSERT_EQ(replies.size(), 3u);
  for (size_t i = 0; i < replies.size(); ++i) {
    SCOPED_TRACE(i);
    const MessageHeader& h = replies[i];
    EXPECT_EQ(h.magic, kMessageMagic);
    EXPECT_EQ(h.version, kMessageVersion);
    EXPECT_EQ(h.kind, static_cast<uint8_t>(MessageKind::kReply));
    EXPECT_EQ(h.flags, kFlagSynthetic);
    EXPECT_EQ(h.message_id, requests[i].id);
    EXPECT_EQ(h.command, requests[i].command);
    EXPECT_EQ(h.status, static_cast<int32_t>(absl::StatusCode::kUnavailable));
    EXPECT_EQ(h.inline_length, 0u);
    EXPECT_EQ(h.mirror_slot, 0u);
    EXPECT_EQ(h.dma_offset, 0u);
    EXPECT_EQ(h.dma_length, 0u);
  }
}

TEST(CompleteUnrepliedTest, CarriesTheGivenCode) {
  for (absl::StatusCode code : {absl::StatusCode::kDeadlineExceeded, absl::StatusCode::kCancelled,
                                absl::StatusCode::kDataLoss, absl::StatusCode::kUnavailable}) {
    std::vector<MessageHeader> replies = CompleteUnreplied({{Unreplied{1, 2}}}, code);
    ASSERT_EQ(replies.size(), 1u);
    EXPECT_EQ(replies[0].status, static_cast<int32_t>(code));
  }
}

TEST(CompleteUnrepliedTest, RepliesPassTheMessageCheck) {
  // No arena at all: a synthetic reply carries no buffer, so it must pass regardless.
  constexpr MessageLimits kNoArenas{
      .sender_arena_size = 0, .receiver_arena_size = 0, .max_dma_size = 0};
  std::vector<Unreplied> requests = {{.id = 1, .command = 5}, {.id = 2, .command = 6}};
  for (absl::StatusCode code : {absl::StatusCode::kUnavailable, absl::StatusCode::kDeadlineExceeded,
                                absl::StatusCode::kCancelled, absl::StatusCode::kDataLoss}) {
    for (const MessageHeader& h : CompleteUnreplied(requests, code)) {
      absl::Status s = CheckMessageShape(h, kMessageHeaderSize, kNoArenas);
      EXPECT_TRUE(s.ok()) << absl::StatusCodeToString(code) << ": " << s;
    }
  }
}

}  // namespace
}  // namespace syslink::internal
