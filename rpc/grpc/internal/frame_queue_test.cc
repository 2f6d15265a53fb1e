#include "rpc/grpc/internal/frame_queue.h"

#include <string>
#include <vector>

#include "grpcpp/support/slice.h"
#include "gtest/gtest.h"

namespace syslink::rpc::grpc_internal {
namespace {

grpc::ByteBuffer Bytes(size_t size, char fill = 'x') {
  const std::string text(size, fill);
  grpc::Slice slice(text);
  return grpc::ByteBuffer(&slice, 1);
}

TEST(FrameQueueTest, SmallMessagesFillItByCount) {
  FrameQueue queue;
  for (size_t i = 0; i < kStreamWindow; ++i) {
    ASSERT_TRUE(queue.HasRoom()) << i;
    grpc::ByteBuffer frame = Bytes(100);
    queue.Push(frame);
  }
  EXPECT_FALSE(queue.HasRoom());
  EXPECT_EQ(queue.size(), kStreamWindow);
  EXPECT_EQ(queue.bytes(), kStreamWindow * 100);
  queue.DropFront();
  EXPECT_TRUE(queue.HasRoom());
}

TEST(FrameQueueTest, LargeMessagesFillItByBytes) {
  FrameQueue queue;
  const size_t large = kStreamWindowBytes / 2 + 1;
  grpc::ByteBuffer first = Bytes(large, 'a');
  queue.Push(first);
  EXPECT_EQ(first.Length(), 0u);  // taken
  ASSERT_TRUE(queue.HasRoom());   // half the bytes: one more
  grpc::ByteBuffer second = Bytes(large, 'b');
  queue.Push(second);
  EXPECT_FALSE(queue.HasRoom());  // past the bytes, with 2 of 16 messages
  EXPECT_EQ(queue.bytes(), 2 * large);

  grpc::ByteBuffer out;
  queue.PopFront(&out);
  EXPECT_EQ(out.Length(), large);
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(out.Dump(&slices).ok());
  EXPECT_EQ(slices.front().begin()[0], 'a');  // oldest first
  EXPECT_EQ(queue.bytes(), large);
  EXPECT_TRUE(queue.HasRoom());
}

TEST(FrameQueueTest, AnEmptyQueueTakesAMessageLargerThanTheWindow) {
  FrameQueue queue;
  grpc::ByteBuffer huge = Bytes(2 * kStreamWindowBytes);
  ASSERT_TRUE(queue.HasRoom());
  queue.Push(huge);
  EXPECT_FALSE(queue.HasRoom());
  queue.Clear();
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.bytes(), 0u);
  EXPECT_TRUE(queue.HasRoom());
}

TEST(FrameQueueTest, ItCountsWhatWasQueuedEvenIfTheFrontIsEmptiedInFlight) {
  // A write in flight may have its buffer taken; dropping it still gives back its bytes.
  FrameQueue queue;
  grpc::ByteBuffer frame = Bytes(kStreamWindowBytes);
  queue.Push(frame);
  EXPECT_FALSE(queue.HasRoom());
  queue.front().Clear();
  queue.DropFront();
  EXPECT_EQ(queue.bytes(), 0u);
  EXPECT_TRUE(queue.HasRoom());
}

}  // namespace
}  // namespace syslink::rpc::grpc_internal
