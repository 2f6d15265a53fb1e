// LinkServerStream on its own: what a method's writes become on the wire. Messages written
// before the client pulls are buffered in packed runs, and each pull takes at most its
// room of them: several as one batch reply (each behind its 4-byte length), one as itself,
// a message with an attachment alone.

#include "rpc/internal/link_server_stream.h"

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "rpc/attachment.h"
#include "rpc/context.h"
#include "rpc/internal/call_format.h"
#include "rpc/testdata/test_service.pb.h"

namespace syslink::rpc::internal {
namespace {

struct Sent {
  uint64_t id;
  uint16_t flags;
  std::string message;
  size_t attachment_size;
};

// A stream whose replies are recorded, and helpers to write and decode messages.
class LinkServerStreamTest : public ::testing::Test {
 protected:
  LinkServerStream& Make(size_t batch_bytes = 64 * 1024) {
    stream_ = std::make_unique<LinkServerStream>(
        7, context_,
        [this](uint64_t id, absl::Status status, uint16_t flags, std::string message,
               Attachment attachment) {
          ASSERT_TRUE(status.ok()) << status;
          sent_.push_back({id, flags, std::move(message), attachment.size()});
        },
        batch_bytes);
    return *stream_;
  }

  static test::Text Message(const std::string& text) {
    test::Text message;
    message.set_text(text);
    return message;
  }

  // The texts of a batch reply's messages.
  static std::vector<std::string> Unbatch(const std::string& batch) {
    std::vector<std::string> texts;
    size_t at = 0;
    while (at < batch.size()) {
      EXPECT_LE(at + 4, batch.size());
      const auto* b = reinterpret_cast<const uint8_t*>(batch.data() + at);
      const size_t size = b[0] | b[1] << 8 | b[2] << 16 | static_cast<size_t>(b[3]) << 24;
      test::Text message;
      EXPECT_TRUE(message.ParseFromString(batch.substr(at + 4, size)));
      texts.push_back(message.text());
      at += 4 + size;
    }
    EXPECT_EQ(at, batch.size());
    return texts;
  }

  static std::string Text(const std::string& bytes) {
    test::Text message;
    EXPECT_TRUE(message.ParseFromString(bytes));
    return message.text();
  }

  std::shared_ptr<ServerContext> context_ = std::make_shared<ServerContext>();
  std::unique_ptr<LinkServerStream> stream_;
  std::vector<Sent> sent_;
};

TEST_F(LinkServerStreamTest, AWaitingPullTakesTheNextMessageAtOnce) {
  LinkServerStream& stream = Make();
  ASSERT_TRUE(stream.AddPull(11, 8).ok());
  ASSERT_TRUE(stream.Write(Message("first"), {}));
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].id, 11u);
  EXPECT_EQ(sent_[0].flags, 0);
  EXPECT_EQ(Text(sent_[0].message), "first");
}

TEST_F(LinkServerStreamTest, BufferedMessagesGoOutAsOneBatch) {
  LinkServerStream& stream = Make();
  ASSERT_TRUE(stream.AddPull(11, 8).ok());
  ASSERT_TRUE(stream.Write(Message("m0"), {}));  // answers pull 11
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(stream.Write(Message("m" + std::to_string(i)), {}));
  ASSERT_EQ(sent_.size(), 1u);  // the rest wait for a pull
  ASSERT_TRUE(stream.AddPull(12, 8).ok());
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[1].id, 12u);
  EXPECT_EQ(sent_[1].flags, kCallStreamBatch);
  EXPECT_EQ(Unbatch(sent_[1].message), (std::vector<std::string>{"m1", "m2", "m3", "m4", "m5"}));
}

TEST_F(LinkServerStreamTest, APullTakesNoMoreThanItsRoom) {
  LinkServerStream& stream = Make();
  ASSERT_TRUE(stream.AddPull(11, 8).ok());
  for (int i = 0; i <= 6; ++i) ASSERT_TRUE(stream.Write(Message("m" + std::to_string(i)), {}));
  ASSERT_TRUE(stream.AddPull(12, 2).ok());
  ASSERT_TRUE(stream.AddPull(13, 3).ok());
  ASSERT_TRUE(stream.AddPull(14, 1).ok());
  ASSERT_EQ(sent_.size(), 4u);
  EXPECT_EQ(Unbatch(sent_[1].message), (std::vector<std::string>{"m1", "m2"}));
  EXPECT_EQ(Unbatch(sent_[2].message), (std::vector<std::string>{"m3", "m4", "m5"}));
  // Room for one: the message goes as itself, not as a batch.
  EXPECT_EQ(sent_[3].flags, 0);
  EXPECT_EQ(Text(sent_[3].message), "m6");
}

TEST_F(LinkServerStreamTest, ALoneBufferedMessageGoesAsItself) {
  LinkServerStream& stream = Make();
  ASSERT_TRUE(stream.AddPull(11, 8).ok());
  ASSERT_TRUE(stream.Write(Message("m0"), {}));
  ASSERT_TRUE(stream.Write(Message("m1"), {}));
  ASSERT_TRUE(stream.AddPull(12, 8).ok());
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[1].flags, 0);
  EXPECT_EQ(Text(sent_[1].message), "m1");
}

TEST_F(LinkServerStreamTest, ABatchStaysWithinItsBytes) {
  // 40 bytes hold two messages of a 12-byte text (14 bytes serialized, 18 with the length).
  LinkServerStream& stream = Make(/*batch_bytes=*/40);
  ASSERT_TRUE(stream.AddPull(11, 16).ok());
  for (int i = 0; i <= 5; ++i) {
    ASSERT_TRUE(stream.Write(Message("twelve bytes"), {}));
  }
  ASSERT_TRUE(stream.AddPull(12, 16).ok());
  ASSERT_TRUE(stream.AddPull(13, 16).ok());
  ASSERT_TRUE(stream.AddPull(14, 16).ok());
  ASSERT_EQ(sent_.size(), 4u);
  EXPECT_EQ(Unbatch(sent_[1].message).size(), 2u);
  EXPECT_EQ(Unbatch(sent_[2].message).size(), 2u);
  EXPECT_EQ(sent_[3].flags, 0);  // the last one alone
  for (const Sent& sent : sent_) EXPECT_LE(sent.message.size(), 40u);
}

TEST_F(LinkServerStreamTest, AMessageWithAnAttachmentGoesAlone) {
  LinkServerStream& stream = Make();
  ASSERT_TRUE(stream.AddPull(11, 8).ok());
  ASSERT_TRUE(stream.Write(Message("m0"), {}));
  ASSERT_TRUE(stream.Write(Message("m1"), {}));
  ASSERT_TRUE(stream.Write(Message("with"), Attachment::FromBytes(std::as_bytes(
                                                std::span(std::string_view("attached bytes"))))));
  ASSERT_TRUE(stream.Write(Message("m3"), {}));
  ASSERT_TRUE(stream.AddPull(12, 8).ok());
  ASSERT_TRUE(stream.AddPull(13, 8).ok());
  ASSERT_TRUE(stream.AddPull(14, 8).ok());
  ASSERT_EQ(sent_.size(), 4u);
  EXPECT_EQ(Text(sent_[1].message), "m1");
  EXPECT_EQ(Text(sent_[2].message), "with");
  EXPECT_EQ(sent_[2].attachment_size, 14u);
  EXPECT_EQ(Text(sent_[3].message), "m3");
}

TEST_F(LinkServerStreamTest, AFullBufferEndsAWriteWhenTheStreamIsCancelled) {
  LinkServerStream& stream = Make();
  ASSERT_TRUE(stream.AddPull(11, 2).ok());
  ASSERT_TRUE(stream.Write(Message("m0"), {}));
  ASSERT_TRUE(stream.Write(Message("m1"), {}));
  ASSERT_TRUE(stream.Write(Message("m2"), {}));  // the buffer holds the room: 2
  std::thread cancel([&] { stream.Cancel(); });
  EXPECT_FALSE(stream.Write(Message("m3"), {}));  // waits for room until the cancel
  cancel.join();
  ASSERT_TRUE(stream.AddPull(12, 2).ok());  // what was buffered still goes out
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(Unbatch(sent_[1].message), (std::vector<std::string>{"m1", "m2"}));
}

}  // namespace
}  // namespace syslink::rpc::internal
