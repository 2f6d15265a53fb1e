// Locks through LockSession (fs.proto's Locks) between two clients of one server, on every
// transport that carries streams (a transport whose channel carries none fails the
// session's requests with UNIMPLEMENTED, and its tests skip). Built against memfs
// (lock_test) and the passthrough (passthrough_lock_test, LOCK_TEST_PASSTHROUGH).

#include <errno.h>
#include <fcntl.h>

#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "examples/fs/lock_session.h"
#include "gtest/gtest.h"
#include "tests/support/eventually.h"

#ifdef LOCK_TEST_PASSTHROUGH
#include "examples/fs/passthrough/passthrough_testing.h"
#else
#include "examples/fs/memfs_testing.h"
#endif

namespace syslink::examples::fs {
namespace {

using ::syslink::testing::Eventually;

#ifdef LOCK_TEST_PASSTHROUGH
using Base = PassthroughTest;
#else
using Base = MemFsTest;
#endif

class LockTest : public Base {
 protected:
  void SetUp() override {
    Base::SetUp();
    other_ = Connect();
    ASSERT_NE(other_, nullptr);
    FsClient::Created created = Ok(fs().Create(kRootIno, "f", 0644, O_RDWR | O_EXCL));
    ino_ = created.entry.ino();
    fh_ = created.fh;
    other_fh_ = Ok(other_->Open(ino_, O_RDWR));
    a_ = Ok(LockSession::Open(fs().shared_channel()));
    b_ = Ok(LockSession::Open(other_->shared_channel()));
    absl::Status probe = b_->Test(ino_, other_fh_, 1, LOCK_SHARED, 0, 0).status();
    no_streams_ = probe.code() == absl::StatusCode::kUnimplemented;
    ASSERT_TRUE(probe.ok() || no_streams_) << probe;
  }
  void TearDown() override {
    a_.reset();
    b_.reset();
    other_.reset();
    Base::TearDown();
  }

  const LockTable& table() {
#ifdef LOCK_TEST_PASSTHROUGH
    return passthrough().locks();
#else
    return memfs_->locks();
#endif
  }

  // An exclusive lock of owner 1 on [start, end]: a's through fh_, b's through other_fh_.
  absl::Status LockA(LockType type, uint64_t start, uint64_t end, bool wait = false) {
    return a_->Lock(ino_, fh_, 1, type, start, end, wait, /*pid=*/111);
  }
  absl::Status LockB(LockType type, uint64_t start, uint64_t end, bool wait = false) {
    return b_->Lock(ino_, other_fh_, 1, type, start, end, wait, /*pid=*/222);
  }
  // b's request as it is, answered through Start().
  LockResponse RawB(LockRequest request) {
    absl::Notification answered;
    LockResponse answer;
    b_->Start(b_->Reserve(), std::move(request), [&](const LockResponse& response) {
      answer = response;
      answered.Notify();
    });
    answered.WaitForNotification();
    return answer;
  }
  LockRequest RequestB(LockOp op, LockType type, uint64_t start, uint64_t end) {
    LockRequest request;
    request.set_op(op);
    request.set_ino(ino_);
    request.set_fh(other_fh_);
    request.set_owner(1);
    request.set_type(type);
    request.set_start(start);
    request.set_end(end);
    return request;
  }

  std::unique_ptr<FsClient> other_;
  uint64_t ino_ = 0;
  uint64_t fh_ = 0;
  uint64_t other_fh_ = 0;
  std::unique_ptr<LockSession> a_;
  std::unique_ptr<LockSession> b_;
  bool no_streams_ = false;  // the transport's channel carries no streams
};

#define SKIP_WITHOUT_STREAMS() \
  if (no_streams_) GTEST_SKIP() << "this transport's channel carries no streams"

TEST_P(LockTest, ConflictingLocksOfTwoClientsFailEagain) {
  SKIP_WITHOUT_STREAMS();
  ASSERT_EQ(Errno(LockA(LOCK_EXCLUSIVE, 0, 99)), "OK");
  EXPECT_EQ(Errno(LockB(LOCK_EXCLUSIVE, 50, 60)), "EAGAIN");
  EXPECT_EQ(Errno(LockB(LOCK_SHARED, 99, 99)), "EAGAIN");
  EXPECT_EQ(Errno(LockB(LOCK_EXCLUSIVE, 100, kLockEof)), "OK");
}

TEST_P(LockTest, SharedLocksOfTwoClientsCoexist) {
  SKIP_WITHOUT_STREAMS();
  ASSERT_EQ(Errno(LockA(LOCK_SHARED, 0, kLockEof)), "OK");
  EXPECT_EQ(Errno(LockB(LOCK_SHARED, 0, kLockEof)), "OK");
  EXPECT_EQ(Errno(LockB(LOCK_EXCLUSIVE, 5, 5)), "EAGAIN");
}

TEST_P(LockTest, TestReportsTheConflictingLockAndItsPid) {
  SKIP_WITHOUT_STREAMS();
  ASSERT_EQ(Errno(LockA(LOCK_SHARED, 10, 19)), "OK");
  LockResponse report = Ok(b_->Test(ino_, other_fh_, 1, LOCK_EXCLUSIVE, 0, kLockEof));
  EXPECT_EQ(report.type(), LOCK_SHARED);
  EXPECT_EQ(report.start(), 10u);
  EXPECT_EQ(report.end(), 19u);
  EXPECT_EQ(report.pid(), 111u);
  EXPECT_EQ(Ok(b_->Test(ino_, other_fh_, 1, LOCK_SHARED, 0, kLockEof)).type(), LOCK_UNLOCK);
  EXPECT_EQ(Ok(a_->Test(ino_, fh_, 1, LOCK_EXCLUSIVE, 0, kLockEof)).type(), LOCK_UNLOCK);
}

TEST_P(LockTest, UnlockingASubRangeSplitsTheLock) {
  SKIP_WITHOUT_STREAMS();
  ASSERT_EQ(Errno(LockA(LOCK_EXCLUSIVE, 0, 99)), "OK");
  ASSERT_EQ(Errno(LockA(LOCK_UNLOCK, 40, 59)), "OK");
  EXPECT_EQ(Errno(LockB(LOCK_EXCLUSIVE, 40, 59)), "OK");
  EXPECT_EQ(Errno(LockB(LOCK_EXCLUSIVE, 39, 39)), "EAGAIN");
  EXPECT_EQ(Errno(LockB(LOCK_EXCLUSIVE, 60, 60)), "EAGAIN");
}

TEST_P(LockTest, AdjacentRangesMergeIntoOneReport) {
  SKIP_WITHOUT_STREAMS();
  ASSERT_EQ(Errno(LockA(LOCK_SHARED, 0, 9)), "OK");
  ASSERT_EQ(Errno(LockA(LOCK_SHARED, 10, 19)), "OK");
  LockResponse report = Ok(b_->Test(ino_, other_fh_, 1, LOCK_EXCLUSIVE, 0, kLockEof));
  EXPECT_EQ(report.start(), 0u);
  EXPECT_EQ(report.end(), 19u);
}

TEST_P(LockTest, ALockHoldsWhateverNumberTheFileIsReachedBy) {
  SKIP_WITHOUT_STREAMS();
  ASSERT_EQ(Errno(LockA(LOCK_EXCLUSIVE, 0, kLockEof)), "OK");
  // The creator's lookup goes: the passthrough may number the file afresh (memfs keeps it).
  ASSERT_EQ(Errno(fs().Forget(ino_, 1)), "OK");
  const uint64_t again = Ok(other_->Lookup(kRootIno, "f")).ino();
  const uint64_t fh = Ok(other_->Open(again, O_RDWR));
  EXPECT_EQ(Errno(b_->Lock(again, fh, 1, LOCK_SHARED, 0, 0, false)), "EAGAIN");
  ASSERT_EQ(Errno(LockA(LOCK_UNLOCK, 0, kLockEof)), "OK");
  EXPECT_EQ(Errno(b_->Lock(again, fh, 1, LOCK_SHARED, 0, 0, false)), "OK");
}

TEST_P(LockTest, AWaitEndsWhenTheHolderUnlocks) {
  SKIP_WITHOUT_STREAMS();
  ASSERT_EQ(Errno(LockA(LOCK_EXCLUSIVE, 0, kLockEof)), "OK");
  std::optional<absl::Status> waited;
  std::thread waiter([&] { waited = LockB(LOCK_EXCLUSIVE, 0, 0, /*wait=*/true); });
  ASSERT_TRUE(Eventually([&] { return table().waiting() == 1; }));
  // The server answers other calls meanwhile, on both links.
  EXPECT_EQ(Errno(fs().GetAttr(ino_)), "OK");
  EXPECT_EQ(Errno(other_->GetAttr(ino_)), "OK");
  ASSERT_EQ(Errno(LockA(LOCK_UNLOCK, 0, kLockEof)), "OK");
  waiter.join();
  EXPECT_EQ(Errno(*waited), "OK");
  EXPECT_EQ(Errno(LockA(LOCK_SHARED, 0, 0)), "EAGAIN");
}

TEST_P(LockTest, ReleaseOwnerFreesThatOwnersLocksAsCloseDoes) {
  SKIP_WITHOUT_STREAMS();
  ASSERT_EQ(Errno(LockA(LOCK_EXCLUSIVE, 0, 9)), "OK");
  ASSERT_EQ(Errno(a_->Lock(ino_, fh_, /*owner=*/2, LOCK_EXCLUSIVE, 20, 29, false)), "OK");
  ASSERT_EQ(Errno(a_->ReleaseOwner(ino_, fh_, 1)), "OK");
  EXPECT_EQ(Errno(LockB(LOCK_EXCLUSIVE, 0, 9)), "OK");
  EXPECT_EQ(Errno(LockB(LOCK_EXCLUSIVE, 20, 29)), "EAGAIN");
}

TEST_P(LockTest, EndingASessionReleasesItsLocksAndGrantsTheWaiter) {
  SKIP_WITHOUT_STREAMS();
  ASSERT_EQ(Errno(LockA(LOCK_EXCLUSIVE, 0, kLockEof)), "OK");
  ASSERT_EQ(Errno(a_->Flock(ino_, fh_, LOCK_EXCLUSIVE, false)), "OK");
  std::optional<absl::Status> waited;
  std::thread waiter([&] { waited = LockB(LOCK_SHARED, 0, kLockEof, /*wait=*/true); });
  ASSERT_TRUE(Eventually([&] { return table().waiting() == 1; }));
  a_.reset();
  waiter.join();
  EXPECT_EQ(Errno(*waited), "OK");
  EXPECT_EQ(Errno(b_->Flock(ino_, other_fh_, LOCK_EXCLUSIVE, false)), "OK");
}

TEST_P(LockTest, ACancelledWaitEndsWithEintr) {
  SKIP_WITHOUT_STREAMS();
  ASSERT_EQ(Errno(LockA(LOCK_EXCLUSIVE, 0, 0)), "OK");
  absl::Notification answered;
  LockResponse answer;
  const uint64_t id = b_->Reserve();
  LockRequest request = RequestB(LOCK_SET, LOCK_EXCLUSIVE, 0, 0);
  request.set_wait(true);
  b_->Start(id, request, [&](const LockResponse& response) {
    answer = response;
    answered.Notify();
  });
  ASSERT_TRUE(Eventually([&] { return table().waiting() == 1; }));
  b_->Cancel(id);
  answered.WaitForNotification();
  EXPECT_EQ(answer.error(), EINTR);
  EXPECT_EQ(table().waiting(), 0u);
}

TEST_P(LockTest, ACancelBeforeTheStartEndsItUnsent) {
  SKIP_WITHOUT_STREAMS();
  const uint64_t id = b_->Reserve();
  b_->Cancel(id);
  int error = 0;
  b_->Start(id, RequestB(LOCK_SET, LOCK_EXCLUSIVE, 0, 0),
            [&](const LockResponse& response) { error = response.error(); });
  EXPECT_EQ(error, EINTR);
  EXPECT_EQ(table().held(), 0u);
}

TEST_P(LockTest, FlockConflictsUntilTheHandleIsReleased) {
  SKIP_WITHOUT_STREAMS();
  ASSERT_EQ(Errno(a_->Flock(ino_, fh_, LOCK_EXCLUSIVE, false)), "OK");
  EXPECT_EQ(Errno(b_->Flock(ino_, other_fh_, LOCK_SHARED, false)), "EAGAIN");
  EXPECT_EQ(Errno(LockB(LOCK_EXCLUSIVE, 0, kLockEof)), "OK");  // POSIX locks are apart
  ASSERT_EQ(Errno(fs().Release(ino_, fh_)), "OK");
  EXPECT_EQ(Errno(b_->Flock(ino_, other_fh_, LOCK_EXCLUSIVE, false)), "OK");
}

TEST_P(LockTest, BadRangesAndTypesAreEinval) {
  SKIP_WITHOUT_STREAMS();
  EXPECT_EQ(Errno(LockB(LOCK_SHARED, 10, 9)), "EINVAL");
  EXPECT_EQ(Errno(LockB(LOCK_SHARED, 0, kLockEof + 1)), "EINVAL");
  EXPECT_EQ(Errno(LockB(LOCK_SHARED, ~uint64_t{0}, ~uint64_t{0})), "EINVAL");
  EXPECT_EQ(Errno(LockB(static_cast<LockType>(9), 0, 0)), "EINVAL");
  EXPECT_EQ(RawB(RequestB(static_cast<LockOp>(42), LOCK_SHARED, 0, 0)).error(), EINVAL);
  EXPECT_EQ(RawB(RequestB(LOCK_OP_NONE, LOCK_SHARED, 0, 0)).error(), EINVAL);
  EXPECT_EQ(RawB(RequestB(LOCK_GET, LOCK_UNLOCK, 0, 0)).error(), EINVAL);
  EXPECT_EQ(table().held(), 0u);
}

TEST_P(LockTest, UnknownHandlesAndWrongModesAreEbadf) {
  SKIP_WITHOUT_STREAMS();
  EXPECT_EQ(Errno(b_->Lock(ino_, 987654, 1, LOCK_SHARED, 0, 0, false)), "EBADF");
  EXPECT_EQ(Errno(b_->Lock(kRootIno, other_fh_, 1, LOCK_SHARED, 0, 0, false)), "EBADF");
  EXPECT_EQ(Errno(b_->Flock(ino_, 987654, LOCK_SHARED, false)), "EBADF");
  const uint64_t read_only = Ok(other_->Open(ino_, O_RDONLY));
  EXPECT_EQ(Errno(b_->Lock(ino_, read_only, 1, LOCK_EXCLUSIVE, 0, 0, false)), "EBADF");
  EXPECT_EQ(Errno(b_->Lock(ino_, read_only, 1, LOCK_SHARED, 0, 0, false)), "OK");
}

TEST_P(LockTest, TooManyRangesAreEnolck) {
  // kMaxLocksPerSession round trips: on one transport (lock_table_test covers the rule).
  if (GetParam() != Transport::kLink) GTEST_SKIP() << "only over a link";
  for (uint64_t i = 0; i < kMaxLocksPerSession; ++i) {
    ASSERT_EQ(Errno(LockB(LOCK_SHARED, 2 * i, 2 * i)), "OK") << i;
  }
  EXPECT_EQ(Errno(LockB(LOCK_SHARED, 2 * kMaxLocksPerSession, 2 * kMaxLocksPerSession)), "ENOLCK");
  b_.reset();
  EXPECT_TRUE(Eventually([&] { return table().held() == 0; }));
}

INSTANTIATE_TEST_SUITE_P(Transports, LockTest, ::testing::ValuesIn(kAllTransports), TransportName);

}  // namespace
}  // namespace syslink::examples::fs
