// Upstream against a real syslinkd and a MemFs served in this process: epochs, the watch
// for a server's end, failing at once while it is gone, and reconnecting.

#include "examples/fs/fuse/upstream.h"

#include <errno.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/time/clock.h"
#include "examples/fs/fs_status.h"
#include "examples/fs/memfs_service.h"
#include "gtest/gtest.h"
#include "rpc/server.h"
#include "syslink/status.h"
#include "tests/support/broker_process.h"
#include "tests/support/eventually.h"

namespace syslink::examples::fs {
namespace {

using ::syslink::testing::BrokerProcess;
using ::syslink::testing::Eventually;
using ::syslink::testing::ScratchDirectory;
using ::syslink::testing::Soon;

constexpr char kName[] = "test.examples.fs.upstream";

class UpstreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<BrokerProcess>> broker = BrokerProcess::Start(dir_.SocketPath());
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = *std::move(broker);
  }
  void Serve() {
    memfs_ = std::make_unique<MemFs>();
    server_ = std::make_unique<rpc::Server>();
    ASSERT_TRUE(
        server_->ServeBroker(memfs_.get(), {.name = kName, .broker = broker_->ConnectOptions()})
            .ok());
  }
  void StopServing() {
    server_->Shutdown();
    server_.reset();
    memfs_.reset();
  }
  UpstreamOptions Options(int channels = 2) {
    UpstreamOptions options;
    options.service_name = kName;
    options.broker = broker_->ConnectOptions(absl::Seconds(2));
    options.channels = channels;
    return options;
  }

  ScratchDirectory dir_{"upstream"};
  std::unique_ptr<BrokerProcess> broker_;
  std::unique_ptr<MemFs> memfs_;
  std::unique_ptr<rpc::Server> server_;
};

TEST_F(UpstreamTest, TheFirstConnectionIsEpochOne) {
  Serve();
  std::unique_ptr<Upstream> upstream = Upstream::Start(Options());
  EXPECT_TRUE(upstream->connected());
  EXPECT_EQ(upstream->epoch(), 1u);
  absl::StatusOr<Upstream::Lease> lease = upstream->Acquire();
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_EQ(lease->epoch(), 1u);
  EXPECT_EQ(lease->root_ino(), kRootIno);
  EXPECT_TRUE(lease->client().GetAttr(lease->root_ino()).ok());
}

TEST_F(UpstreamTest, NoServerMeansNotConnectedAndEnotconn) {
  std::unique_ptr<Upstream> upstream = Upstream::Start(Options());
  EXPECT_FALSE(upstream->connected());
  EXPECT_EQ(upstream->epoch(), 0u);
  EXPECT_TRUE(absl::IsNotFound(upstream->last_error())) << upstream->last_error();
  absl::StatusOr<Upstream::Lease> lease = upstream->Acquire();
  EXPECT_EQ(ErrnoOf(lease.status()), ENOTCONN);
}

TEST_F(UpstreamTest, AServerThatAppearsLaterIsConnectedInTheBackground) {
  std::unique_ptr<Upstream> upstream = Upstream::Start(Options());
  ASSERT_FALSE(upstream->connected());
  EXPECT_FALSE(upstream->WaitConnected(absl::Now()));  // a deadline passed: no wait
  EXPECT_FALSE(upstream->WaitConnected(absl::Now() + absl::Milliseconds(30)));  // no server
  Serve();
  EXPECT_TRUE(upstream->WaitConnected(Soon()));
  EXPECT_EQ(upstream->epoch(), 1u);
}

TEST_F(UpstreamTest, AnIdleServersEndIsNoticedWithoutACall) {
  Serve();
  std::unique_ptr<Upstream> upstream = Upstream::Start(Options());
  ASSERT_TRUE(upstream->connected());
  StopServing();
  EXPECT_TRUE(Eventually([&] { return !upstream->connected(); }));
  // Why it ended, or (once the watcher has redialled) that no server has the name now.
  EXPECT_TRUE(IsPeerDied(upstream->last_error()) || absl::IsNotFound(upstream->last_error()))
      << upstream->last_error();
}

TEST_F(UpstreamTest, AcquireFailsAtOnceWhileTheServerIsGone) {
  Serve();
  std::unique_ptr<Upstream> upstream = Upstream::Start(Options());
  StopServing();
  ASSERT_TRUE(Eventually([&] { return !upstream->connected(); }));
  const absl::Time start = absl::Now();
  absl::StatusOr<Upstream::Lease> lease = upstream->Acquire();
  EXPECT_EQ(ErrnoOf(lease.status()), ENOTCONN);
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(100));
}

TEST_F(UpstreamTest, ACallOnADeadServerEndsTheEpoch) {
  Serve();
  std::unique_ptr<Upstream> upstream = Upstream::Start(Options(1));
  absl::StatusOr<Upstream::Lease> lease = upstream->Acquire();
  ASSERT_TRUE(lease.ok());
  StopServing();
  absl::Status s = lease->client().GetAttr(kRootIno).status();
  EXPECT_EQ(ErrnoOf(s), ENOTCONN) << s;
  lease->Note(s);
  EXPECT_FALSE(upstream->connected());
}

TEST_F(UpstreamTest, AReturningServerIsTheNextEpoch) {
  Serve();
  std::unique_ptr<Upstream> upstream = Upstream::Start(Options());
  StopServing();
  ASSERT_TRUE(Eventually([&] { return !upstream->connected(); }));
  Serve();
  ASSERT_TRUE(Eventually([&] { return upstream->connected(); }));
  EXPECT_EQ(upstream->epoch(), 2u);
  absl::StatusOr<Upstream::Lease> lease = upstream->Acquire();
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_EQ(lease->epoch(), 2u);
  EXPECT_TRUE(lease->client().GetAttr(lease->root_ino()).ok());
}

TEST_F(UpstreamTest, ALeaseOfAnEndedEpochKeepsItsNumber) {
  Serve();
  std::unique_ptr<Upstream> upstream = Upstream::Start(Options());
  std::optional<Upstream::Lease> old(*upstream->Acquire());
  StopServing();
  Serve();
  ASSERT_TRUE(Eventually([&] { return upstream->epoch() == 2 && upstream->connected(); }));
  EXPECT_EQ(old->epoch(), 1u);
  EXPECT_EQ(ErrnoOf(old->client().GetAttr(kRootIno).status()), ENOTCONN);
  old.reset();  // back to an ended epoch: dropped, not pooled
  EXPECT_EQ(upstream->Acquire()->epoch(), 2u);
}

TEST_F(UpstreamTest, WriteBuffersAreDmaBuffersReusedAcrossRequests) {
  Serve();
  std::unique_ptr<Upstream> upstream = Upstream::Start(Options(1));
  absl::StatusOr<Upstream::Lease> lease = upstream->Acquire();
  ASSERT_TRUE(lease.ok());
  absl::StatusOr<rpc::Attachment> buffer = lease->TakeWriteBuffer();
  ASSERT_TRUE(buffer.ok()) << buffer.status();
  EXPECT_TRUE(buffer->is_dma());
  EXPECT_GE(buffer->size(), kMaxIoSize);
  const std::byte* first = buffer->data().data();
  lease->ReturnWriteBuffer(*std::move(buffer));
  absl::StatusOr<rpc::Attachment> again = lease->TakeWriteBuffer();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->data().data(), first);
}

}  // namespace
}  // namespace syslink::examples::fs
