#include "rpc/recycled_message.h"

#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "rpc/testdata/test_service.pb.h"

namespace syslink::rpc {
namespace {

using test::Text;
using Recycled = RecycledMessage<Text>;

// Takes a Text (the thread's spare, or a new one), fills it with `text` and marks it to
// be recycled, having held `serialized_bytes`; returns which message it was.
const Text* TakeAndRecycle(size_t serialized_bytes, const std::string& text = "hello") {
  Recycled message;
  EXPECT_EQ(message->text(), "") << "a message taken must be empty";
  message->set_text(text);
  message.Recycle(serialized_bytes);
  return message.get();
}

// A message that was kept keeps its strings' memory (what saves the next call an
// allocation); a new one has none.
size_t TextCapacity(const Recycled& message) { return message->text().capacity(); }

class RecycledMessageTest : public testing::Test {
 protected:
  // Each test starts with no spares: takes them all and keeps none.
  void SetUp() override {
    Recycled first;
    Recycled second;
    static_assert(Recycled::kSparesPerType == 2);
  }
};

TEST_F(RecycledMessageTest, ARecycledMessageIsTheThreadsNextOneAndComesBackEmpty) {
  const Text* first = TakeAndRecycle(10);
  const Text* second = TakeAndRecycle(10);
  EXPECT_EQ(first, second);
  Recycled third;
  EXPECT_EQ(third.get(), first);
  EXPECT_EQ(third->text(), "");
  EXPECT_EQ(third->ByteSizeLong(), 0u);
}

TEST_F(RecycledMessageTest, AMessageNotMarkedIsFreed) {
  const std::string text(100, 'x');
  (void)TakeAndRecycle(103, text);
  {
    Recycled message;  // takes the spare, and is not marked
    EXPECT_GE(TextCapacity(message), text.size());
  }
  Recycled next;
  EXPECT_LT(TextCapacity(next), text.size()) << "the spare was freed: this one is new";
}

TEST_F(RecycledMessageTest, ALargeMessageIsNotKept) {
  const std::string large(Recycled::kBudgetBytes, 'x');
  (void)TakeAndRecycle(large.size() + 4, large);
  Recycled next;
  EXPECT_LT(TextCapacity(next), large.size())
      << "the memory of a large message must not stay with the thread";
  EXPECT_EQ(next->text(), "");
}

TEST_F(RecycledMessageTest, AMessageIsFreedOnceItsCallsHeldTheBudget) {
  // What cleared fields keep can grow from call to call: the bytes a message's calls held
  // are counted, and past the budget it is freed.
  const std::string text(1000, 'x');
  const size_t calls = Recycled::kBudgetBytes / 1003;  // the last call that stays within
  for (size_t call = 1; call <= calls; ++call) {
    Recycled message;
    if (call > 1) {
      EXPECT_GE(TextCapacity(message), text.size()) << "call " << call;
    }
    message->set_text(text);
    message.Recycle(1003);
  }
  {
    Recycled message;
    EXPECT_GE(TextCapacity(message), text.size()) << "still within the budget";
    message.Recycle(1003);  // past it now
  }
  Recycled next;
  EXPECT_LT(TextCapacity(next), text.size()) << "past the budget: freed";
}

TEST_F(RecycledMessageTest, AnOverflowingSizeDoesNotWrapTheCount) {
  (void)TakeAndRecycle(1, std::string(100, 'x'));
  {
    Recycled message;
    message.Recycle(static_cast<size_t>(-1));  // as a negative GetCachedSize() would be
  }
  Recycled next;
  EXPECT_LT(TextCapacity(next), 100u);
}

TEST_F(RecycledMessageTest, ARequestAndResponseOfOneTypeAreBothKept) {
  const Text* request;
  const Text* response;
  {
    Recycled a;
    Recycled b;
    request = a.get();
    response = b.get();
    a.Recycle(1);
    b.Recycle(1);
  }
  Recycled a;
  Recycled b;
  EXPECT_TRUE((a.get() == request && b.get() == response) ||
              (a.get() == response && b.get() == request));
  a.Recycle(1);
  b.Recycle(1);
}

TEST_F(RecycledMessageTest, ANestedCallGetsMessagesOfItsOwn) {
  (void)TakeAndRecycle(10);
  Recycled outer;
  outer->set_text("outer");
  {
    Recycled inner;  // the spare is the outer call's: a fresh one
    EXPECT_NE(inner.get(), outer.get());
    inner->set_text("inner");
    inner.Recycle(7);
  }
  EXPECT_EQ(outer->text(), "outer");
  outer.Recycle(7);
}

TEST_F(RecycledMessageTest, EachThreadHasItsOwnSpares) {
  const Text* mine = TakeAndRecycle(10);
  const Text* theirs = nullptr;
  std::thread other([&] {
    Recycled message;
    theirs = message.get();
    message.Recycle(0);  // freed when the thread exits (LeakSanitizer would see it if not)
  });
  other.join();
  EXPECT_NE(theirs, mine);
  Recycled again;
  EXPECT_EQ(again.get(), mine);
}

}  // namespace
}  // namespace syslink::rpc
