// SerializedMessage: bytes through protobuf's interfaces and over a link, untouched.

#include "rpc/grpc/gateway/serialized_message.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"
#include "gtest/gtest.h"
#include "rpc/grpc/testdata/interop.pb.h"
#include "rpc/grpc/testing/interop_service.h"
#include "rpc/link_channel.h"
#include "rpc/method.h"
#include "rpc/server.h"

namespace syslink::rpc {
namespace {

using ::syslink::interop::Text;

std::string TextBytes(const std::string& text, size_t blob = 0) {
  Text message;
  message.set_text(text);
  message.set_blob(std::string(blob, 'b'));
  return message.SerializeAsString();
}

TEST(SerializedMessageTest, SerializesItsBytes) {
  SerializedMessage message(TextBytes("hello"));
  EXPECT_EQ(message.SerializeAsString(), TextBytes("hello"));
  EXPECT_EQ(message.ByteSizeLong(), TextBytes("hello").size());
}

TEST(SerializedMessageTest, ParsesAnyBytesAsThemselves) {
  for (const std::string& bytes :
       {std::string(), std::string("x"), TextBytes("short"), TextBytes("long", 100000),
        std::string("\xff\xff\xff not protobuf at all")}) {
    SerializedMessage message;
    ASSERT_TRUE(message.ParseFromString(bytes)) << bytes.size();
    EXPECT_EQ(message.bytes(), bytes);
  }
}

TEST(SerializedMessageTest, ParsingReplacesWhatWasThere) {
  SerializedMessage message("old");
  ASSERT_TRUE(message.ParseFromString("new"));
  EXPECT_EQ(message.bytes(), "new");
}

// What the interop service's Echo answers to `request`, over a link.
absl::StatusOr<std::string> EchoOverALink(const SerializedMessage& request) {
  interop::InteropService service;
  Server server;
  absl::StatusOr<LinkPair> pair = Link::CreatePair({});
  if (!pair.ok()) return pair.status();
  server.ServeLink(&service, std::move(pair->second));
  LinkChannel channel(std::move(pair->first));
  SerializedMessage response;
  absl::Status status = channel.Call(interop::Interop::kEchoMethod, request, &response, nullptr);
  server.Shutdown();
  if (!status.ok()) return status;
  return response.bytes();
}

TEST(SerializedMessageTest, CarriesACallOverALinkWithoutKnowingItsType) {
  const SerializedMessage request(TextBytes("relayed", 50000));
  absl::StatusOr<std::string> response = EchoOverALink(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(*response, request.bytes());
}

// `bytes` in gRPC slices of at most `slice` bytes each, then `trailer` (an attachment).
grpc::ByteBuffer FrameOf(const std::string& bytes, size_t slice, const std::string& trailer) {
  std::vector<grpc::Slice> slices;
  for (size_t at = 0; at < bytes.size(); at += slice) {
    slices.emplace_back(bytes.data() + at, std::min(slice, bytes.size() - at));
  }
  slices.emplace_back(trailer.data(), trailer.size());
  return grpc::ByteBuffer(slices.data(), slices.size());
}

TEST(SerializedMessageTest, FromAFrameSerializesTheMessageFromEverySlice) {
  const std::string bytes = TextBytes("sliced", 1000);
  const grpc::ByteBuffer frame = FrameOf(bytes, 333, "attachment after the message");
  const SerializedMessage message(frame, bytes.size());
  EXPECT_EQ(message.ByteSizeLong(), bytes.size());
  EXPECT_EQ(message.SerializeAsString(), bytes);
  EXPECT_TRUE(message.bytes().empty());  // the frame's slices, not a copy
}

TEST(SerializedMessageTest, FromAFrameTakesNoMoreThanTheFrameHolds) {
  const grpc::ByteBuffer frame = FrameOf("short", 2, "");
  EXPECT_EQ(SerializedMessage(frame, 1000).SerializeAsString(), "short");
  EXPECT_EQ(SerializedMessage(frame, 0).ByteSizeLong(), 0u);
}

TEST(SerializedMessageTest, ParsingReplacesAFrame) {
  const grpc::ByteBuffer frame = FrameOf("from the frame", 4, "");
  SerializedMessage message(frame, 14);
  ASSERT_TRUE(message.ParseFromString("parsed"));
  EXPECT_EQ(message.SerializeAsString(), "parsed");
}

TEST(SerializedMessageTest, CarriesAFrameOverALink) {
  const std::string bytes = TextBytes("relayed from slices", 50000);
  const grpc::ByteBuffer frame = FrameOf(bytes, 8192, "not part of the message");
  absl::StatusOr<std::string> response = EchoOverALink(SerializedMessage(frame, bytes.size()));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(*response, bytes);
}

}  // namespace
}  // namespace syslink::rpc
