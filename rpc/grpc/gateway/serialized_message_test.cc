// SerializedMessage: bytes through protobuf's interfaces and over a link, untouched.

#include "rpc/grpc/gateway/serialized_message.h"

#include <memory>
#include <string>

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

TEST(SerializedMessageTest, CarriesACallOverALinkWithoutKnowingItsType) {
  interop::InteropService service;
  Server server;
  absl::StatusOr<LinkPair> pair = Link::CreatePair({});
  ASSERT_TRUE(pair.ok());
  server.ServeLink(&service, std::move(pair->second));
  LinkChannel channel(std::move(pair->first));
  SerializedMessage request(TextBytes("relayed", 50000)), response;
  ASSERT_TRUE(channel.Call(interop::Interop::kEchoMethod, request, &response, nullptr).ok());
  EXPECT_EQ(response.bytes(), request.bytes());
  server.Shutdown();
}

}  // namespace
}  // namespace syslink::rpc
