// LockTable on its own: conflicts, ranges split and merged, waits granted, cancelled and
// dropped with their session, flock beside POSIX locks, and hostile requests.

#include "examples/fs/lock_table.h"

#include <errno.h>

#include <memory>

#include "examples/fs/fs_format.h"
#include "gtest/gtest.h"

namespace syslink::examples::fs {
namespace {

constexpr uint64_t kIno = 7;
const LockFile kFile = {0, kIno};

LockRequest Range(LockType type, uint64_t start, uint64_t end, uint64_t owner = 1) {
  LockRequest request;
  request.set_ino(kIno);
  request.set_fh(1);
  request.set_owner(owner);
  request.set_type(type);
  request.set_start(start);
  request.set_end(end);
  request.set_pid(100 + owner);
  return request;
}

LockRequest Waiting(LockRequest request, uint64_t id) {
  request.set_wait(true);
  request.set_id(id);
  return request;
}

LockRequest Flock(LockType type, uint64_t fh, bool wait = false) {
  LockRequest request;
  request.set_ino(kIno);
  request.set_fh(fh);
  request.set_type(type);
  request.set_wait(wait);
  request.set_id(fh);
  return request;
}

class LockTableTest : public ::testing::Test {
 protected:
  LockTableTest() : a_(table_.OpenSession(a_box_)), b_(table_.OpenSession(b_box_)) {}
  ~LockTableTest() override {
    table_.CloseSession(a_);
    table_.CloseSession(b_);
  }

  // What `session`'s conflict report says of [start, end] for an exclusive lock of owner 1.
  LockResponse Report(uint64_t session, uint64_t start, uint64_t end) {
    LockResponse out;
    EXPECT_EQ(table_.Get(session, kFile, Range(LOCK_EXCLUSIVE, start, end), &out), 0);
    return out;
  }
  // The next answer queued for a session, which must be there.
  static LockResponse Next(LockOutbox& box) {
    LockResponse out;
    EXPECT_GT(box.queued(), 0u) << "no answer queued";
    if (box.queued() > 0) {
      EXPECT_TRUE(box.Pop(&out));
    }
    return out;
  }

  LockTable table_;
  std::shared_ptr<LockOutbox> a_box_ = std::make_shared<LockOutbox>();
  std::shared_ptr<LockOutbox> b_box_ = std::make_shared<LockOutbox>();
  uint64_t a_;
  uint64_t b_;
};

TEST_F(LockTableTest, ExclusiveLocksOfTwoSessionsConflict) {
  EXPECT_EQ(table_.Set(a_, kFile, Range(LOCK_EXCLUSIVE, 0, 9)), 0);
  EXPECT_EQ(table_.Set(b_, kFile, Range(LOCK_EXCLUSIVE, 5, 5)), EAGAIN);
  EXPECT_EQ(table_.Set(b_, kFile, Range(LOCK_SHARED, 9, 20)), EAGAIN);
  EXPECT_EQ(table_.Set(b_, kFile, Range(LOCK_EXCLUSIVE, 10, 20)), 0);
}

TEST_F(LockTableTest, SharedLocksOfTwoSessionsCoexist) {
  EXPECT_EQ(table_.Set(a_, kFile, Range(LOCK_SHARED, 0, kLockEof)), 0);
  EXPECT_EQ(table_.Set(b_, kFile, Range(LOCK_SHARED, 0, kLockEof)), 0);
  EXPECT_EQ(table_.Set(b_, kFile, Range(LOCK_EXCLUSIVE, 0, 0)), EAGAIN);
}

TEST_F(LockTableTest, OwnersOfOneSessionConflict) {
  EXPECT_EQ(table_.Set(a_, kFile, Range(LOCK_EXCLUSIVE, 0, 9, /*owner=*/1)), 0);
  EXPECT_EQ(table_.Set(a_, kFile, Range(LOCK_EXCLUSIVE, 0, 9, /*owner=*/2)), EAGAIN);
  EXPECT_EQ(table_.Set(a_, kFile, Range(LOCK_SHARED, 0, 9, /*owner=*/1)), 0);  // its own: converts
}

TEST_F(LockTableTest, GetReportsTheConflictingLock) {
  ASSERT_EQ(table_.Set(b_, kFile, Range(LOCK_SHARED, 10, 19, /*owner=*/3)), 0);
  LockResponse report = Report(a_, 0, 100);
  EXPECT_EQ(report.type(), LOCK_SHARED);
  EXPECT_EQ(report.start(), 10u);
  EXPECT_EQ(report.end(), 19u);
  EXPECT_EQ(report.pid(), 103u);
  EXPECT_EQ(Report(a_, 20, 30).type(), LOCK_UNLOCK);
}

TEST_F(LockTableTest, GetOfAnUnlockIsInvalid) {
  LockResponse out;
  EXPECT_EQ(table_.Get(a_, kFile, Range(LOCK_UNLOCK, 0, 1), &out), EINVAL);
}

TEST_F(LockTableTest, UnlockingTheMiddleSplitsARange) {
  ASSERT_EQ(table_.Set(a_, kFile, Range(LOCK_EXCLUSIVE, 0, 99)), 0);
  ASSERT_EQ(table_.Set(a_, kFile, Range(LOCK_UNLOCK, 40, 59)), 0);
  EXPECT_EQ(table_.held(), 2u);
  EXPECT_EQ(table_.Set(b_, kFile, Range(LOCK_EXCLUSIVE, 40, 59)), 0);
  EXPECT_EQ(table_.Set(b_, kFile, Range(LOCK_EXCLUSIVE, 39, 39)), EAGAIN);
  EXPECT_EQ(table_.Set(b_, kFile, Range(LOCK_EXCLUSIVE, 60, 60)), EAGAIN);
}

TEST_F(LockTableTest, ADifferentTypeInTheMiddleMakesThreeRanges) {
  ASSERT_EQ(table_.Set(a_, kFile, Range(LOCK_EXCLUSIVE, 0, 99)), 0);
  ASSERT_EQ(table_.Set(a_, kFile, Range(LOCK_SHARED, 40, 59)), 0);
  EXPECT_EQ(table_.held(), 3u);
  EXPECT_EQ(table_.Set(b_, kFile, Range(LOCK_SHARED, 45, 50)), 0);
  EXPECT_EQ(table_.Set(b_, kFile, Range(LOCK_SHARED, 30, 30)), EAGAIN);
}

TEST_F(LockTableTest, AdjacentRangesOfOneTypeMerge) {
  ASSERT_EQ(table_.Set(a_, kFile, Range(LOCK_SHARED, 0, 9)), 0);
  ASSERT_EQ(table_.Set(a_, kFile, Range(LOCK_SHARED, 20, 29)), 0);
  ASSERT_EQ(table_.Set(a_, kFile, Range(LOCK_SHARED, 10, 19)), 0);
  EXPECT_EQ(table_.held(), 1u);
  LockResponse report;
  ASSERT_EQ(table_.Get(b_, kFile, Range(LOCK_EXCLUSIVE, 0, kLockEof), &report), 0);
  EXPECT_EQ(report.start(), 0u);
  EXPECT_EQ(report.end(), 29u);
}

TEST_F(LockTableTest, UnlockingWhatIsNotHeldSucceeds) {
  EXPECT_EQ(table_.Set(a_, kFile, Range(LOCK_UNLOCK, 0, kLockEof)), 0);
  EXPECT_EQ(table_.held(), 0u);
}

TEST_F(LockTableTest, AWaitIsGrantedWhenTheHolderUnlocks) {
  ASSERT_EQ(table_.Set(a_, kFile, Range(LOCK_EXCLUSIVE, 0, 9)), 0);
  ASSERT_EQ(table_.Set(b_, kFile, Waiting(Range(LOCK_EXCLUSIVE, 5, 15, 2), 77)), kLockWaiting);
  EXPECT_EQ(table_.waiting(), 1u);
  ASSERT_EQ(table_.Set(a_, kFile, Range(LOCK_UNLOCK, 0, 9)), 0);
  LockResponse answer = Next(*b_box_);
  EXPECT_EQ(answer.id(), 77u);
  EXPECT_EQ(answer.error(), 0);
  EXPECT_EQ(table_.waiting(), 0u);
  EXPECT_EQ(table_.Set(a_, kFile, Range(LOCK_SHARED, 5, 5)), EAGAIN);
}

TEST_F(LockTableTest, AWaitIsGrantedWhenTheHoldingSessionCloses) {
  ASSERT_EQ(table_.Set(a_, kFile, Range(LOCK_EXCLUSIVE, 0, kLockEof)), 0);
  ASSERT_EQ(table_.Set(b_, kFile, Waiting(Range(LOCK_EXCLUSIVE, 0, 0), 5)), kLockWaiting);
  table_.CloseSession(a_);
  EXPECT_EQ(Next(*b_box_).error(), 0);
}

TEST_F(LockTableTest, ReleaseOwnerDropsOnlyThatOwnersLocks) {
  ASSERT_EQ(table_.Set(a_, kFile, Range(LOCK_SHARED, 0, 9, 1)), 0);
  ASSERT_EQ(table_.Set(a_, kFile, Range(LOCK_SHARED, 20, 29, 2)), 0);
  ASSERT_EQ(table_.Set(b_, kFile, Waiting(Range(LOCK_EXCLUSIVE, 0, 9), 9)), kLockWaiting);
  table_.ReleaseOwner(a_, kFile, 1);
  EXPECT_EQ(Next(*b_box_).error(), 0);
  EXPECT_EQ(table_.Set(b_, kFile, Range(LOCK_EXCLUSIVE, 20, 20, 4)), EAGAIN);
}

TEST_F(LockTableTest, ACancelledWaitIsAnsweredEintr) {
  ASSERT_EQ(table_.Set(a_, kFile, Range(LOCK_EXCLUSIVE, 0, 0)), 0);
  ASSERT_EQ(table_.Set(b_, kFile, Waiting(Range(LOCK_EXCLUSIVE, 0, 0), 3)), kLockWaiting);
  EXPECT_TRUE(table_.Cancel(b_, 3));
  LockResponse answer = Next(*b_box_);
  EXPECT_EQ(answer.id(), 3u);
  EXPECT_EQ(answer.error(), EINTR);
  EXPECT_FALSE(table_.Cancel(b_, 3));
  EXPECT_EQ(table_.waiting(), 0u);
}

TEST_F(LockTableTest, AWaitOfAClosedSessionIsDropped) {
  ASSERT_EQ(table_.Set(a_, kFile, Range(LOCK_EXCLUSIVE, 0, 0)), 0);
  ASSERT_EQ(table_.Set(b_, kFile, Waiting(Range(LOCK_EXCLUSIVE, 0, 0), 3)), kLockWaiting);
  table_.CloseSession(b_);
  EXPECT_EQ(table_.waiting(), 0u);
  ASSERT_EQ(table_.Set(a_, kFile, Range(LOCK_UNLOCK, 0, 0)), 0);
  EXPECT_EQ(table_.held(), 0u);
}

TEST_F(LockTableTest, AnIdAlreadyWaitingIsInvalid) {
  ASSERT_EQ(table_.Set(a_, kFile, Range(LOCK_EXCLUSIVE, 0, 0)), 0);
  ASSERT_EQ(table_.Set(b_, kFile, Waiting(Range(LOCK_EXCLUSIVE, 0, 0), 3)), kLockWaiting);
  EXPECT_EQ(table_.Set(b_, kFile, Waiting(Range(LOCK_EXCLUSIVE, 0, 0), 3)), EINVAL);
}

TEST_F(LockTableTest, BadRangesAndTypesAreInvalid) {
  EXPECT_EQ(table_.Set(a_, kFile, Range(LOCK_SHARED, 10, 9)), EINVAL);
  EXPECT_EQ(table_.Set(a_, kFile, Range(LOCK_SHARED, 0, kLockEof + 1)), EINVAL);
  EXPECT_EQ(table_.Set(a_, kFile, Range(LOCK_SHARED, ~uint64_t{0}, ~uint64_t{0})), EINVAL);
  EXPECT_EQ(table_.Set(a_, kFile, Range(static_cast<LockType>(7), 0, 1)), EINVAL);
  EXPECT_EQ(table_.Flock(a_, kFile, Flock(static_cast<LockType>(-1), 1)), EINVAL);
  EXPECT_EQ(table_.held(), 0u);
}

TEST_F(LockTableTest, RangesBeyondTheLimitAreEnolck) {
  for (uint64_t i = 0; i < kMaxLocksPerSession; ++i) {
    ASSERT_EQ(table_.Set(a_, kFile, Range(LOCK_SHARED, 2 * i, 2 * i)), 0) << i;
  }
  EXPECT_EQ(
      table_.Set(a_, kFile, Range(LOCK_SHARED, 2 * kMaxLocksPerSession, 2 * kMaxLocksPerSession)),
      ENOLCK);
  EXPECT_EQ(table_.Set(a_, kFile, Range(LOCK_SHARED, 0, 1)), 0);  // merging needs no room
  EXPECT_EQ(table_.Set(b_, kFile, Range(LOCK_SHARED, 0, 0)), 0);  // another session's own limit
}

TEST_F(LockTableTest, WaitsBeyondTheLimitAreEnolck) {
  ASSERT_EQ(table_.Set(a_, kFile, Range(LOCK_EXCLUSIVE, 0, kLockEof)), 0);
  for (uint64_t i = 0; i < kMaxWaitsPerSession; ++i) {
    ASSERT_EQ(table_.Set(b_, kFile, Waiting(Range(LOCK_SHARED, i, i, i), i)), kLockWaiting);
  }
  EXPECT_EQ(table_.Set(b_, kFile, Waiting(Range(LOCK_SHARED, 0, 0), 1000)), ENOLCK);
}

TEST_F(LockTableTest, FlockLocksBelongToTheHandle) {
  EXPECT_EQ(table_.Flock(a_, kFile, Flock(LOCK_EXCLUSIVE, 1)), 0);
  EXPECT_EQ(table_.Flock(a_, kFile, Flock(LOCK_EXCLUSIVE, 2)),
            EAGAIN);                                             // same session, other handle
  EXPECT_EQ(table_.Flock(b_, kFile, Flock(LOCK_SHARED, 1)), 0);  // the same handle converts
  EXPECT_EQ(table_.Flock(a_, kFile, Flock(LOCK_SHARED, 2)), 0);
}

TEST_F(LockTableTest, FlockAndPosixLocksDoNotConflict) {
  EXPECT_EQ(table_.Flock(a_, kFile, Flock(LOCK_EXCLUSIVE, 1)), 0);
  EXPECT_EQ(table_.Set(b_, kFile, Range(LOCK_EXCLUSIVE, 0, kLockEof)), 0);
}

TEST_F(LockTableTest, DroppingAHandleFreesItsFlockAndFailsItsWaits) {
  ASSERT_EQ(table_.Flock(a_, kFile, Flock(LOCK_EXCLUSIVE, 1)), 0);
  ASSERT_EQ(table_.Flock(b_, kFile, Flock(LOCK_EXCLUSIVE, 2, /*wait=*/true)), kLockWaiting);
  ASSERT_EQ(table_.Flock(b_, kFile, Flock(LOCK_SHARED, 3, /*wait=*/true)), kLockWaiting);
  table_.DropHandle(kFile, 3);
  LockResponse dropped = Next(*b_box_);
  EXPECT_EQ(dropped.id(), 3u);
  EXPECT_EQ(dropped.error(), EBADF);
  table_.DropHandle(kFile, 1);
  LockResponse granted = Next(*b_box_);
  EXPECT_EQ(granted.id(), 2u);
  EXPECT_EQ(granted.error(), 0);
}

TEST_F(LockTableTest, ClosingEverySessionLeavesNothing) {
  ASSERT_EQ(table_.Set(a_, kFile, Range(LOCK_SHARED, 0, 9)), 0);
  ASSERT_EQ(table_.Flock(a_, kFile, Flock(LOCK_SHARED, 4)), 0);
  ASSERT_EQ(table_.Set(b_, kFile, Range(LOCK_SHARED, 5, 15)), 0);
  table_.CloseSession(a_);
  table_.CloseSession(b_);
  EXPECT_EQ(table_.held(), 0u);
  EXPECT_EQ(table_.waiting(), 0u);
}

}  // namespace
}  // namespace syslink::examples::fs
