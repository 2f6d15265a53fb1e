// The frame that carries a message and its attachment in one gRPC message.

#include "rpc/grpc/message_frame.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "grpcpp/support/slice.h"
#include "gtest/gtest.h"
#include "rpc/grpc/testdata/interop.pb.h"

namespace syslink::rpc::grpc_internal {
namespace {

using ::syslink::interop::Text;
using ::testing::HasSubstr;

std::vector<std::byte> Bytes(const std::string& text) {
  std::vector<std::byte> bytes(text.size());
  std::memcpy(bytes.data(), text.data(), text.size());
  return bytes;
}

std::string Flat(const grpc::ByteBuffer& frame) { return FrameMessageBytes(frame, frame.Length()); }

// A frame split into slices of `piece` bytes, as the network may deliver one.
grpc::ByteBuffer Sliced(const std::string& bytes, size_t piece) {
  std::vector<grpc::Slice> slices;
  for (size_t at = 0; at < bytes.size(); at += piece) {
    slices.emplace_back(bytes.data() + at, std::min(piece, bytes.size() - at));
  }
  return grpc::ByteBuffer(slices.data(), slices.size());
}

Text Message(const std::string& text) {
  Text message;
  message.set_text(text);
  return message;
}

TEST(MessageFrameTest, WithoutAttachmentTheFrameIsTheMessage) {
  Text message = Message("hello");
  grpc::ByteBuffer frame = EncodeFrame(FrameMessage::Of(message));
  EXPECT_EQ(Flat(frame), message.SerializeAsString());
  absl::StatusOr<FrameLayout> layout = DecodeFrame(frame, std::nullopt);
  ASSERT_TRUE(layout.ok());
  EXPECT_EQ(layout->message_size, frame.Length());
  EXPECT_EQ(layout->attachment_size, 0u);
}

TEST(MessageFrameTest, AttachmentRoundTrips) {
  Text message = Message("with bulk");
  std::vector<std::byte> bulk = Bytes(std::string(70000, 'z') + "end");
  grpc::ByteBuffer frame = EncodeFrame(FrameMessage::Of(message), bulk);
  absl::StatusOr<FrameLayout> layout = DecodeFrame(frame, bulk.size());
  ASSERT_TRUE(layout.ok()) << layout.status();
  EXPECT_EQ(FrameMessageBytes(frame, layout->message_size), message.SerializeAsString());
  std::vector<std::byte> out(layout->attachment_size);
  CopyFrameBytes(frame, layout->attachment_offset, out);
  EXPECT_EQ(out, bulk);
}

TEST(MessageFrameTest, ATakenOverStringFramesAsItsCopyDoes) {
  const std::string serialized = Message("taken over").SerializeAsString();
  for (const std::vector<std::byte>& bulk :
       {std::vector<std::byte>(), Bytes(std::string(70000, 'y') + "end")}) {
    const std::string copied = Flat(EncodeFrame(FrameMessage::Of(Bytes(serialized)), bulk));
    std::string owned = serialized + std::string(100, '\0');  // long: its buffer moves
    owned.resize(serialized.size());
    grpc::ByteBuffer frame = EncodeFrame(std::move(owned), bulk);
    EXPECT_EQ(Flat(frame), copied) << bulk.size();
    absl::StatusOr<FrameLayout> layout =
        DecodeFrame(frame, bulk.empty() ? std::nullopt : std::optional<size_t>(bulk.size()));
    ASSERT_TRUE(layout.ok()) << layout.status();
    EXPECT_EQ(FrameMessageBytes(frame, layout->message_size), serialized);
  }
  EXPECT_EQ(EncodeFrame(std::string()).Length(), 0u);
}

TEST(MessageFrameTest, AttachmentRoundTripsAcrossSlices) {
  std::vector<std::byte> bulk = Bytes("0123456789abcdef");
  const std::string wire = Flat(EncodeFrame(FrameMessage::Of(Message("m")), bulk));
  grpc::ByteBuffer frame = Sliced(wire, 3);
  absl::StatusOr<FrameLayout> layout = DecodeFrame(frame, bulk.size());
  ASSERT_TRUE(layout.ok()) << layout.status();
  std::vector<std::byte> out(bulk.size());
  CopyFrameBytes(frame, layout->attachment_offset, out);
  EXPECT_EQ(out, bulk);
}

TEST(MessageFrameTest, AStockParserReadsTheMessageAndSkipsTheAttachment) {
  std::vector<std::byte> bulk = Bytes("bulk bytes");
  Text parsed;
  ASSERT_TRUE(parsed.ParseFromString(Flat(EncodeFrame(FrameMessage::Of(Message("t")), bulk))));
  EXPECT_EQ(parsed.text(), "t");
}

TEST(MessageFrameTest, SerializedBytesFrameLikeTheMessage) {
  const std::string bytes = Message("x").SerializeAsString();
  EXPECT_EQ(Flat(EncodeFrame(FrameMessage::Of(std::as_bytes(std::span(bytes))))), bytes);
}

TEST(MessageFrameTest, RefusesAnAnnouncedAttachmentLargerThanTheFrame) {
  grpc::ByteBuffer frame = EncodeFrame(FrameMessage::Of(Message("short")));
  absl::StatusOr<FrameLayout> layout = DecodeFrame(frame, 1000);
  EXPECT_EQ(layout.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(layout.status().message(), HasSubstr("cannot hold the attachment of 1000 bytes"));
}

TEST(MessageFrameTest, RefusesAFrameWithoutTheAttachmentField) {
  // As long as a framed 4-byte attachment, but plain message bytes.
  const std::string wire = Flat(EncodeFrame(FrameMessage::Of(Message("abcdefghijklmnop"))));
  absl::StatusOr<FrameLayout> layout = DecodeFrame(Sliced(wire, 64), 4);
  EXPECT_EQ(layout.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(layout.status().message(), HasSubstr("does not end with the attachment field"));
}

TEST(MessageFrameTest, RefusesASizeThatDisagreesWithTheFrame) {
  std::vector<std::byte> bulk = Bytes("12345678");
  grpc::ByteBuffer frame = EncodeFrame(FrameMessage::Of(Message("m")), bulk);
  EXPECT_FALSE(DecodeFrame(frame, 7).ok());
  EXPECT_FALSE(DecodeFrame(frame, 9).ok());
}

TEST(MessageFrameTest, ParsesAnAnnouncedSize) {
  absl::StatusOr<std::optional<size_t>> size = ParseAttachmentSize("131072");
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, std::optional<size_t>(131072));
  EXPECT_EQ(*ParseAttachmentSize(std::nullopt), std::nullopt);
}

TEST(MessageFrameTest, RefusesAnnouncedSizesThatAreNotSizes) {
  for (const char* bad : {"", "-1", "+5", " 5", "5x", "0x10", "99999999999999999999"}) {
    EXPECT_EQ(ParseAttachmentSize(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(ParseAttachmentSize(std::to_string(kMaxAttachmentSize + 1)).ok());
}

TEST(MessageFrameTest, FindsTheSizeInMetadata) {
  std::multimap<grpc::string_ref, grpc::string_ref> metadata = {{"other", "1"},
                                                                {kAttachmentSizeKey, "12"}};
  absl::StatusOr<std::optional<size_t>> size = AttachmentSizeIn(metadata);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, std::optional<size_t>(12));
  metadata.clear();
  EXPECT_EQ(*AttachmentSizeIn(metadata), std::nullopt);
}

// ---- Stream messages: the attachment found by walking the fields ----

TEST(StreamFrameTest, FindsTheAttachmentAfterTheMessage) {
  Text message = Message("hello");
  message.set_code(7);
  const std::string frame = Flat(EncodeFrame(FrameMessage::Of(message), Bytes("bulk bytes")));
  absl::StatusOr<FrameLayout> layout = DecodeStreamFrame(frame);
  ASSERT_TRUE(layout.ok()) << layout.status();
  EXPECT_EQ(layout->message_size, message.ByteSizeLong());
  EXPECT_EQ(frame.substr(layout->attachment_offset, layout->attachment_size), "bulk bytes");
}

TEST(StreamFrameTest, AMessageWithoutAttachmentIsAllMessage) {
  const std::string frame = Message("no attachment").SerializeAsString();
  absl::StatusOr<FrameLayout> layout = DecodeStreamFrame(frame);
  ASSERT_TRUE(layout.ok()) << layout.status();
  EXPECT_EQ(layout->message_size, frame.size());
  EXPECT_EQ(layout->attachment_size, 0u);
}

TEST(StreamFrameTest, AnEmptyMessageMayCarryAnAttachment) {
  const std::string frame = Flat(EncodeFrame(FrameMessage::Of(Text()), Bytes("x")));
  absl::StatusOr<FrameLayout> layout = DecodeStreamFrame(frame);
  ASSERT_TRUE(layout.ok()) << layout.status();
  EXPECT_EQ(layout->message_size, 0u);
  EXPECT_EQ(layout->attachment_size, 1u);
}

TEST(StreamFrameTest, RefusesAnAttachmentFieldThatIsNotLast) {
  const std::string frame = Flat(EncodeFrame(FrameMessage::Of(Text()), Bytes("x"))) +
                            Message("after").SerializeAsString();
  EXPECT_THAT(DecodeStreamFrame(frame).status().message(), HasSubstr("not the last"));
}

TEST(StreamFrameTest, RefusesFieldsThatRunPastTheEnd) {
  const std::string whole = Flat(EncodeFrame(FrameMessage::Of(Message("text")), Bytes("abc")));
  for (size_t cut = 1; cut < whole.size(); ++cut) {
    absl::StatusOr<FrameLayout> layout = DecodeStreamFrame(whole.substr(0, cut));
    // A cut between two whole fields is a shorter valid message; any other is refused.
    if (layout.ok()) {
      EXPECT_EQ(layout->attachment_size, 0u) << cut;
    } else {
      EXPECT_EQ(layout.status().code(), absl::StatusCode::kInvalidArgument) << cut;
    }
  }
}

TEST(StreamFrameTest, RefusesBadTagsAndWireTypes) {
  for (const std::string& bad : {std::string("\x00", 1), std::string("\x0f"),  // field 0; type 7
                                 std::string("\x0e"),                          // wire type 6
                                 std::string("\x0c"),                          // a group's end
                                 std::string("\x0b"),                          // a group unended
                                 std::string("\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01")}) {
    EXPECT_EQ(DecodeStreamFrame(bad).status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(StreamFrameTest, AnAttachmentFieldInsideAGroupIsNotTheAttachment) {
  // field 1 group start, field 536870911 (2 bytes "ab"), field 1 group end.
  const std::string frame = std::string("\x0b") + "\xfa\xff\xff\xff\x0f\x02" + "ab" + "\x0c";
  absl::StatusOr<FrameLayout> layout = DecodeStreamFrame(frame);
  ASSERT_TRUE(layout.ok()) << layout.status();
  EXPECT_EQ(layout->attachment_size, 0u);
  EXPECT_EQ(layout->message_size, frame.size());
}

TEST(StreamFrameTest, MethodKindsHaveNames) {
  for (MethodKind kind : {MethodKind::kUnary, MethodKind::kClientStreaming,
                          MethodKind::kServerStreaming, MethodKind::kBidiStreaming}) {
    EXPECT_EQ(ParseMethodKind(MethodKindName(kind)), kind);
  }
  EXPECT_EQ(ParseMethodKind("bidi"), std::nullopt);
  EXPECT_EQ(ParseMethodKind(""), std::nullopt);
}

}  // namespace
}  // namespace syslink::rpc::grpc_internal
