#include "rpc/grpc/internal/read_ahead_budget.h"

#include <string>

#include "grpcpp/support/slice.h"
#include "gtest/gtest.h"

namespace syslink::rpc::grpc_internal {
namespace {

grpc::ByteBuffer Bytes(size_t size) {
  const std::string text(size, 'x');
  grpc::Slice slice(text);
  return grpc::ByteBuffer(&slice, 1);
}

void Push(ReadAheadQueue& queue, size_t size) {
  grpc::ByteBuffer frame = Bytes(size);
  queue.Push(frame);
}

TEST(ReadAheadBudgetTest, QueuedBytesAreTakenAndTheMessageTakenGivesThemBack) {
  ReadAheadBudget budget(1000);
  ReadAheadQueue queue(&budget);
  Push(queue, 300);
  Push(queue, 200);
  EXPECT_EQ(budget.held(), 500u);
  grpc::ByteBuffer out;
  queue.PopFront(&out);
  EXPECT_EQ(out.Length(), 300u);
  EXPECT_EQ(budget.held(), 200u);
}

TEST(ReadAheadBudgetTest, TheQueuesOfAllStreamsShareIt) {
  ReadAheadBudget budget(1000);
  ReadAheadQueue first(&budget), second(&budget);
  Push(first, 600);
  EXPECT_TRUE(second.MayRead(/*handler_waiting=*/false));
  Push(second, 400);
  EXPECT_EQ(budget.held(), 1000u);
  EXPECT_FALSE(first.MayRead(false));
  EXPECT_FALSE(second.MayRead(false));
}

TEST(ReadAheadBudgetTest, TheMessageThatCrossesTheLimitIsKeptWhole) {
  ReadAheadBudget budget(1000);
  ReadAheadQueue queue(&budget);
  Push(queue, 999);
  ASSERT_TRUE(queue.MayRead(false));
  Push(queue, 5000);
  EXPECT_EQ(budget.held(), 5999u);
  EXPECT_FALSE(queue.MayRead(false));
}

TEST(ReadAheadBudgetTest, AWaitingHandlerOnAnEmptyQueueMayReadWhenTheBudgetIsUsedUp) {
  ReadAheadBudget budget(1000);
  ReadAheadQueue full(&budget), waiting(&budget);
  Push(full, 1000);
  EXPECT_FALSE(waiting.MayRead(/*handler_waiting=*/false));
  EXPECT_TRUE(waiting.MayRead(/*handler_waiting=*/true));
  // Once its message is in, the next one is read ahead again, within the budget.
  Push(waiting, 10);
  EXPECT_FALSE(waiting.MayRead(/*handler_waiting=*/true));
}

TEST(ReadAheadBudgetTest, ANoughtBudgetReadsOnlyForAWaitingHandler) {
  ReadAheadBudget budget(0);
  ReadAheadQueue queue(&budget);
  EXPECT_FALSE(queue.MayRead(false));
  EXPECT_TRUE(queue.MayRead(true));
}

TEST(ReadAheadBudgetTest, TheStreamsOwnWindowStillBounds) {
  ReadAheadBudget budget(uint64_t{1} << 40);
  ReadAheadQueue queue(&budget);
  for (size_t i = 0; i < kStreamWindow; ++i) Push(queue, 10);
  EXPECT_FALSE(queue.MayRead(/*handler_waiting=*/true));
}

TEST(ReadAheadBudgetTest, ClearGivesEveryByteBack) {
  ReadAheadBudget budget(1000);
  ReadAheadQueue queue(&budget);
  Push(queue, 700);
  Push(queue, 700);
  queue.Clear();
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(budget.held(), 0u);
}

TEST(ReadAheadBudgetTest, AQueueDestroyedGivesItsBytesBack) {
  ReadAheadBudget budget(1000);
  ReadAheadQueue kept(&budget);
  Push(kept, 100);
  {
    ReadAheadQueue dropped(&budget);
    Push(dropped, 2000);
    EXPECT_EQ(budget.held(), 2100u);
  }
  EXPECT_EQ(budget.held(), 100u);
  EXPECT_TRUE(kept.MayRead(false));
}

}  // namespace
}  // namespace syslink::rpc::grpc_internal
