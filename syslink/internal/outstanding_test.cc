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
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

// A fixed point in time, so that deadlines compare without a clock.
const absl::Time kT0 = absl::FromUnixSeconds(1'000'000);

absl::Time At(int seconds) { return kT0 + absl::Seconds(seconds); }

OutstandingRequest Req(uint64_t id, absl::Time deadline = absl::InfiniteFuture(),
                       std::optional<Loan> loan = std::nullopt) {
  return OutstandingRequest{
      .id = id, .command = static_cast<uint32_t>(100 + id), .deadline = deadline, .loan = loan};
}

// Adds `request` as a sender does, Mirror() then Track() (at a fixed count).
void Add(OutstandingRequests& table, OutstandingRequest request) {
  constexpr uint64_t kSentCycles = 1;
  request.slot = table.Mirror(request.id, request.command, request.loan ? request.loan->length : 0,
                              kSentCycles);
  table.Track(std::move(request), kSentCycles);
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
  Add(table, Req(7));
  Add(table, Req(9));
  EXPECT_TRUE(table.Contains(7));
  EXPECT_TRUE(table.Contains(9));
  EXPECT_FALSE(table.Contains(8));
  EXPECT_EQ(table.size(), 2u);
}

TEST(OutstandingRequestsTest, TakeReturnsTheRequestAsAdded) {
  OutstandingRequests table;
  Add(table, Req(7, At(5), Loan{.offset = 8192, .length = 100, .flag = kFlagDmaFromTarget}));
  std::optional<OutstandingRequest> r = table.Take(7);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->id, 7u);
  EXPECT_EQ(r->command, 107u);
  EXPECT_EQ(r->deadline, At(5));
  ASSERT_TRUE(r->loan.has_value());
  EXPECT_EQ(r->loan->offset, 8192u);
  EXPECT_EQ(r->loan->length, 100u);
  EXPECT_EQ(r->loan->flag, kFlagDmaFromTarget);
}

TEST(OutstandingRequestsTest, TakeRemovesOnlyThatRequest) {
  OutstandingRequests table;
  Add(table, Req(1));
  Add(table, Req(2));
  ASSERT_TRUE(table.Take(1).has_value());
  EXPECT_FALSE(table.Contains(1));
  EXPECT_TRUE(table.Contains(2));
  EXPECT_EQ(table.size(), 1u);
}

TEST(OutstandingRequestsTest, TakeOfUnknownIdReturnsNothing) {
  OutstandingRequests table;
  Add(table, Req(1));
  EXPECT_FALSE(table.Take(2).has_value());
  EXPECT_EQ(table.size(), 1u);
}

TEST(OutstandingRequestsTest, SecondTakeOfSameIdReturnsNothing) {
  OutstandingRequests table;
  Add(table, Req(1));
  ASSERT_TRUE(table.Take(1).has_value());
  EXPECT_FALSE(table.Take(1).has_value());
}

TEST(OutstandingRequestsTest, TakeForgetsTheDeadline) {
  OutstandingRequests table;
  Add(table, Req(1, At(1)));
  ASSERT_TRUE(table.Take(1).has_value());
  EXPECT_EQ(table.NextDeadline(), absl::InfiniteFuture());
  EXPECT_THAT(table.Expired(At(100)), IsEmpty());
}

TEST(OutstandingRequestsTest, IdCanBeReusedAfterTake) {
  OutstandingRequests table;
  Add(table, Req(1, At(1)));
  ASSERT_TRUE(table.Take(1).has_value());
  Add(table, Req(1, At(50)));
  EXPECT_EQ(table.NextDeadline(), At(50));
  EXPECT_THAT(table.Expired(At(10)), IsEmpty());
}

// --- Abandon -------------------------------------------------------------------------------

TEST(OutstandingRequestsTest, AbandonRemovesRequestButRemembersIt) {
  OutstandingRequests table;
  Add(table, Req(4, At(3)));
  std::optional<OutstandingRequest> r = table.Abandon(4);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->id, 4u);
  EXPECT_EQ(r->command, 104u);
  EXPECT_FALSE(table.Contains(4));
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.abandoned(), 1u);
  EXPECT_FALSE(table.Take(4).has_value());
}

TEST(OutstandingRequestsTest, AbandonForgetsTheDeadline) {
  OutstandingRequests table;
  Add(table, Req(1, At(1)));
  Add(table, Req(2, At(2)));
  ASSERT_TRUE(table.Abandon(1).has_value());
  EXPECT_EQ(table.NextDeadline(), At(2));
  EXPECT_THAT(table.Expired(At(100)), ElementsAre(2u));
}

TEST(OutstandingRequestsTest, AbandonKeepsLoanAndTakeAbandonedReturnsItOnce) {
  OutstandingRequests table;
  Add(table, Req(4, absl::InfiniteFuture(),
                 Loan{.offset = 3 * 4096, .length = 5000, .flag = kFlagDmaToTarget}));
  ASSERT_TRUE(table.Abandon(4).has_value());

  std::optional<std::optional<Loan>> loan = table.TakeAbandoned(4);
  ASSERT_TRUE(loan.has_value());
  ASSERT_TRUE(loan->has_value());
  EXPECT_EQ((*loan)->offset, 3u * 4096);
  EXPECT_EQ((*loan)->length, 5000u);
  EXPECT_EQ((*loan)->flag, kFlagDmaToTarget);
  EXPECT_EQ(table.abandoned(), 0u);

  EXPECT_FALSE(table.TakeAbandoned(4).has_value());
}

TEST(OutstandingRequestsTest, TakeAbandonedWithoutLoanIsKnownButEmpty) {
  OutstandingRequests table;
  Add(table, Req(4));
  ASSERT_TRUE(table.Abandon(4).has_value());
  std::optional<std::optional<Loan>> loan = table.TakeAbandoned(4);
  ASSERT_TRUE(loan.has_value());    // the id was abandoned...
  EXPECT_FALSE(loan->has_value());  // ...with nothing lent
  EXPECT_FALSE(table.TakeAbandoned(4).has_value());
}

TEST(OutstandingRequestsTest, AbandonOfUnknownIdRemembersNothing) {
  OutstandingRequests table;
  EXPECT_FALSE(table.Abandon(9).has_value());
  EXPECT_EQ(table.abandoned(), 0u);
  EXPECT_FALSE(table.TakeAbandoned(9).has_value());
}

TEST(OutstandingRequestsTest, TakeAbandonedOfOutstandingIdReturnsNothingAndKeepsIt) {
  OutstandingRequests table;
  Add(table, Req(5));
  EXPECT_FALSE(table.TakeAbandoned(5).has_value());
  EXPECT_TRUE(table.Contains(5));
}

TEST(OutstandingRequestsTest, SecondAbandonOfSameIdReturnsNothing) {
  OutstandingRequests table;
  Add(table, Req(5, absl::InfiniteFuture(), Loan{.offset = 0, .length = 1, .flag = 1}));
  ASSERT_TRUE(table.Abandon(5).has_value());
  EXPECT_FALSE(table.Abandon(5).has_value());
  EXPECT_EQ(table.abandoned(), 1u);
}

// --- Deadlines -----------------------------------------------------------------------------

TEST(OutstandingRequestsTest, NextDeadlineIsTheEarliest) {
  OutstandingRequests table;
  Add(table, Req(1, At(30)));
  Add(table, Req(2, At(10)));
  Add(table, Req(3, absl::InfiniteFuture()));
  Add(table, Req(4, At(20)));
  EXPECT_EQ(table.NextDeadline(), At(10));
  ASSERT_TRUE(table.Take(2).has_value());
  EXPECT_EQ(table.NextDeadline(), At(20));
  ASSERT_TRUE(table.Take(4).has_value());
  EXPECT_EQ(table.NextDeadline(), At(30));
  ASSERT_TRUE(table.Take(1).has_value());
  // Only the request without a deadline is left.
  EXPECT_TRUE(table.Contains(3));
  EXPECT_EQ(table.NextDeadline(), absl::InfiniteFuture());
}

TEST(OutstandingRequestsTest, InfiniteDeadlineOnlyTableHasNoNextDeadline) {
  OutstandingRequests table;
  Add(table, Req(1));
  Add(table, Req(2));
  EXPECT_EQ(table.NextDeadline(), absl::InfiniteFuture());
  EXPECT_THAT(table.Expired(absl::InfiniteFuture()), IsEmpty());
}

TEST(OutstandingRequestsTest, TwoRequestsWithTheSameDeadline) {
  OutstandingRequests table;
  Add(table, Req(1, At(5)));
  Add(table, Req(2, At(5)));
  EXPECT_THAT(table.Expired(At(5)), ElementsAre(1u, 2u));
  ASSERT_TRUE(table.Take(1).has_value());
  EXPECT_EQ(table.NextDeadline(), At(5));
  EXPECT_THAT(table.Expired(At(5)), ElementsAre(2u));
}

TEST(OutstandingRequestsTest, ExpiredListsDeadlinesAtOrBeforeNowInDeadlineOrder) {
  OutstandingRequests table;
  Add(table, Req(1, At(30)));
  Add(table, Req(2, At(10)));
  Add(table, Req(3, absl::InfiniteFuture()));
  Add(table, Req(4, At(20)));
  EXPECT_THAT(table.Expired(At(9)), IsEmpty());
  EXPECT_THAT(table.Expired(At(10)), ElementsAre(2u));  // exactly at the deadline
  EXPECT_THAT(table.Expired(At(25)), ElementsAre(2u, 4u));
  EXPECT_THAT(table.Expired(At(1000)), ElementsAre(2u, 4u, 1u));
}

TEST(OutstandingRequestsTest, ExpiredDoesNotRemove) {
  OutstandingRequests table;
  Add(table, Req(1, At(1)));
  EXPECT_THAT(table.Expired(At(2)), ElementsAre(1u));
  EXPECT_TRUE(table.Contains(1));
  EXPECT_THAT(table.Expired(At(2)), ElementsAre(1u));
}

// --- TakeAll / TakeAllAbandoned ------------------------------------------------------------

TEST(OutstandingRequestsTest, TakeAllReturnsEveryRequestInIdOrderAndEmptiesTheTable) {
  OutstandingRequests table;
  Add(table, Req(30, At(3)));
  Add(table, Req(1, At(1)));
  Add(table, Req(2));
  Add(table, Req(1000));
  Add(table, Req(7, At(2)));
  EXPECT_THAT(Ids(table.TakeAll()), ElementsAre(1u, 2u, 7u, 30u, 1000u));
  EXPECT_EQ(table.size(), 0u);
  EXPECT_FALSE(table.Contains(1));
  EXPECT_FALSE(table.Contains(2));
  EXPECT_EQ(table.NextDeadline(), absl::InfiniteFuture());
  EXPECT_THAT(table.Expired(At(1000)), IsEmpty());
  EXPECT_THAT(table.TakeAll(), IsEmpty());
}

TEST(OutstandingRequestsTest, TakeAllLeavesNoStaleDeadlineForAReusedId) {
  OutstandingRequests table;
  Add(table, Req(1, At(1)));
  ASSERT_EQ(table.TakeAll().size(), 1u);
  Add(table, Req(1, At(50)));
  EXPECT_EQ(table.NextDeadline(), At(50));
  EXPECT_THAT(table.Expired(At(10)), IsEmpty());
}

TEST(OutstandingRequestsTest, TakeAllKeepsAbandonedForTakeAllAbandoned) {
  OutstandingRequests table;
  Add(table, Req(1, absl::InfiniteFuture(), Loan{.offset = 4096, .length = 1, .flag = 1}));
  Add(table, Req(2));
  ASSERT_TRUE(table.Abandon(1).has_value());
  EXPECT_THAT(Ids(table.TakeAll()), ElementsAre(2u));
  EXPECT_EQ(table.abandoned(), 1u);
  EXPECT_THAT(Offsets(table.TakeAllAbandoned()), ElementsAre(4096u));
}

TEST(OutstandingRequestsTest, TakeAllAbandonedReturnsOnlyLoansThatExist) {
  OutstandingRequests table;
  Add(table,
      Req(1, absl::InfiniteFuture(), Loan{.offset = 0, .length = 10, .flag = kFlagDmaToTarget}));
  Add(table, Req(2));  // no loan
  Add(table, Req(3, absl::InfiniteFuture(),
                 Loan{.offset = 8192, .length = 20, .flag = kFlagDmaFromTarget}));
  Add(table, Req(4, absl::InfiniteFuture(),
                 Loan{.offset = 16384, .length = 30, .flag = kFlagDmaToTarget}));  // stays
  ASSERT_TRUE(table.Abandon(1).has_value());
  ASSERT_TRUE(table.Abandon(2).has_value());
  ASSERT_TRUE(table.Abandon(3).has_value());
  ASSERT_EQ(table.abandoned(), 3u);

  std::vector<Loan> loans = table.TakeAllAbandoned();
  EXPECT_THAT(Offsets(loans), UnorderedElementsAre(0u, 8192u));
  EXPECT_EQ(table.abandoned(), 0u);
  EXPECT_FALSE(table.TakeAbandoned(1).has_value());
  EXPECT_FALSE(table.TakeAbandoned(2).has_value());
  EXPECT_THAT(table.TakeAllAbandoned(), IsEmpty());
  EXPECT_TRUE(table.Contains(4));  // outstanding requests are not touched
}

// --- The mirror ----------------------------------------------------------------------------

// A mirror in ordinary memory, as the region would hold it: zeroed slots.
struct Mirror {
  Mirror() : slots(new MirrorSlot[kMirrorSlots]()) {}
  std::unique_ptr<MirrorSlot[]> slots;
};

TEST(OutstandingMirrorTest, AddFillsTheSlotNextSlotNamed) {
  Mirror mirror;
  OutstandingRequests table(mirror.slots.get());
  uint32_t first = table.next_slot();
  Add(table, Req(5, absl::InfiniteFuture(), Loan{.offset = 0, .length = 8192}));
  uint32_t second = table.next_slot();
  EXPECT_NE(second, first);
  Add(table, Req(6));
  const MirrorSlot& slot = mirror.slots[first];
  EXPECT_EQ(slot.id.load(), 5u);
  EXPECT_EQ(slot.command, 105u);
  EXPECT_EQ(slot.state.load(), 0u);
  EXPECT_EQ(slot.dma_bytes, 8192u);
  EXPECT_EQ(mirror.slots[second].id.load(), 6u);
  EXPECT_EQ(table.Find(5)->slot, first);
}

TEST(OutstandingMirrorTest, MirrorFillsTheSlotBeforeTrackEntersTheRequest) {
  Mirror mirror;
  OutstandingRequests table(mirror.slots.get());
  uint32_t named = table.next_slot();
  uint32_t slot = table.Mirror(5, 105, 4096, /*sent_cycles=*/1000);
  EXPECT_EQ(slot, named);
  EXPECT_NE(table.next_slot(), slot);
  EXPECT_EQ(mirror.slots[slot].id.load(), 5u);  // complete in the mirror already
  EXPECT_EQ(mirror.slots[slot].command, 105u);
  EXPECT_EQ(mirror.slots[slot].dma_bytes, 4096u);
  EXPECT_EQ(mirror.slots[slot].sent_cycles, 1000u);
  EXPECT_FALSE(table.Contains(5));  // but not outstanding yet

  OutstandingRequest request = Req(5);
  request.slot = slot;
  table.Track(request, /*sent_cycles=*/1234);
  EXPECT_EQ(mirror.slots[slot].sent_cycles, 1234u);
  ASSERT_NE(table.Find(5), nullptr);
  EXPECT_EQ(table.Find(5)->slot, slot);
  ASSERT_TRUE(table.Take(5).has_value());
  EXPECT_EQ(mirror.slots[slot].id.load(), 0u);
}

TEST(OutstandingMirrorTest, AbandonMarksTheSlotGivenUpAndKeepsIt) {
  Mirror mirror;
  OutstandingRequests table(mirror.slots.get());
  uint32_t slot = table.next_slot();
  Add(table, Req(5));
  Add(table, Req(6));
  ASSERT_TRUE(table.Abandon(5).has_value());
  EXPECT_EQ(mirror.slots[slot].id.load(), 5u);  // the late reply or the broker frees it
  EXPECT_EQ(mirror.slots[slot].state.load(), kMirrorGivenUp);
  EXPECT_EQ(mirror.slots[table.Find(6)->slot].state.load(), 0u);
  ASSERT_TRUE(table.TakeAbandoned(5).has_value());
  EXPECT_EQ(mirror.slots[slot].id.load(), 0u);
}

TEST(OutstandingMirrorTest, AReusedSlotStartsNotGivenUp) {
  Mirror mirror;
  OutstandingRequests table(mirror.slots.get());
  uint32_t slot = table.next_slot();
  Add(table, Req(5));
  ASSERT_TRUE(table.Abandon(5).has_value());
  ASSERT_TRUE(table.TakeAbandoned(5).has_value());
  ASSERT_EQ(table.next_slot(), slot);  // freed slots are reused first
  Add(table, Req(7));
  EXPECT_EQ(mirror.slots[slot].id.load(), 7u);
  EXPECT_EQ(mirror.slots[slot].state.load(), 0u);
}

TEST(OutstandingMirrorTest, TakeEmptiesTheSlot) {
  Mirror mirror;
  OutstandingRequests table(mirror.slots.get());
  uint32_t slot = table.next_slot();
  Add(table, Req(5));
  ASSERT_TRUE(table.Take(5).has_value());
  EXPECT_EQ(mirror.slots[slot].id.load(), 0u);
}

TEST(OutstandingMirrorTest, FullAfterEverySlotIsTaken) {
  Mirror mirror;
  OutstandingRequests table(mirror.slots.get());
  for (uint64_t id = 1; id <= kMirrorSlots; ++id) {
    ASSERT_FALSE(table.full());
    Add(table, Req(id));
  }
  EXPECT_TRUE(table.full());
  ASSERT_TRUE(table.Take(1).has_value());
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
