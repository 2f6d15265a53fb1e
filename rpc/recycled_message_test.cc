#include "rpc/recycled_message.h"

#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "rpc/testdata/test_service.pb.h"

namespace syslink::rpc {
namespace {

using test::Text;

// Takes the thread's spare Text, or a new one, and says which.
const Text* TakeAndKeep(size_t serialized_bytes, const std::string& text = "hello") {
  RecycledMessage<Text> message;
  EXPECT_EQ(message->text(), "") << "a message taken must be empty";
  message->set_text(text);
  message.KeepIfAtMost(serialized_bytes);
  return message.get();
}

TEST(RecycledMessageTest, AKeptMessageIsTheThreadsNextOneAndComesBackEmpty) {
  const Text* first = TakeAndKeep(10);
  const Text* second = TakeAndKeep(10);
  EXPECT_EQ(first, second);
  RecycledMessage<Text> third;
  EXPECT_EQ(third.get(), first);
  EXPECT_EQ(third->text(), "");
  EXPECT_EQ(third->ByteSizeLong(), 0u);
}

// A message that was kept keeps its strings' memory (what saves the next call an
// allocation); a new one has none.
size_t TextCapacity(const RecycledMessage<Text>& message) { return message->text().capacity(); }

TEST(RecycledMessageTest, AMessageNotMarkedToKeepIsFreed) {
  const std::string text(100, 'x');
  (void)TakeAndKeep(103, text);
  {
    RecycledMessage<Text> message;  // takes the spare, and is not kept
    EXPECT_GE(TextCapacity(message), text.size());
  }
  RecycledMessage<Text> next;
  EXPECT_LT(TextCapacity(next), text.size()) << "the spare was freed: this one is new";
}

TEST(RecycledMessageTest, ALargeMessageIsNotKept) {
  const std::string large(RecycledMessage<Text>::kKeepBytes + 1, 'x');
  (void)TakeAndKeep(large.size() + 3, large);
  RecycledMessage<Text> next;
  EXPECT_LT(TextCapacity(next), large.size())
      << "the memory of a large message must not stay with the thread";
  EXPECT_EQ(next->text(), "");
}

TEST(RecycledMessageTest, ANestedCallGetsAMessageOfItsOwn) {
  (void)TakeAndKeep(10);
  RecycledMessage<Text> outer;
  outer->set_text("outer");
  {
    RecycledMessage<Text> inner;  // the spare is the outer call's: a fresh one
    EXPECT_NE(inner.get(), outer.get());
    inner->set_text("inner");
    inner.KeepIfAtMost(7);
  }
  EXPECT_EQ(outer->text(), "outer");
  outer.KeepIfAtMost(7);  // the inner one is the spare now: the outer one is freed
}

TEST(RecycledMessageTest, EachThreadHasItsOwnSpare) {
  const Text* mine = TakeAndKeep(10);
  const Text* theirs = nullptr;
  std::thread other([&] {
    RecycledMessage<Text> message;
    theirs = message.get();
    message.KeepIfAtMost(0);  // freed when the thread exits (LeakSanitizer would see it if not)
  });
  other.join();
  EXPECT_NE(theirs, mine);
  RecycledMessage<Text> again;
  EXPECT_EQ(again.get(), mine);
}

}  // namespace
}  // namespace syslink::rpc
