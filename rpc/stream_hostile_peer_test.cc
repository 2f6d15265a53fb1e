// Hostile peers of streams. A client on a raw link: stream requests (and given-up
// notices) with broken headers, for streams that are not open, and past the server's
// limits each get a clear answer, and the server goes on serving. A server that answers a
// pull with a malformed batch, or with a flag only requests carry: the client's stream ends
// with INVALID_ARGUMENT, with no crash or hang.

#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc/internal/call_format.h"
#include "rpc/link_channel.h"
#include "rpc/server.h"
#include "rpc/stream_testing.h"
#include "rpc/testdata/stream_service.syslink.h"
#include "syslink/link.h"
#include "tests/support/eventually.h"

namespace syslink::rpc {
namespace {

using ::syslink::rpc::test::Number;
using ::syslink::rpc::test::Streamer;
using ::syslink::rpc::test::StreamerStub;
using ::syslink::testing::Soon;

// A hostile client on a raw link: stream requests with broken headers, for streams that
// are not open, and past the server's limits each get a clear answer, and the server goes
// on serving.
class RawStreamTest : public ::testing::Test {
 protected:
  RawStreamTest() {
    absl::StatusOr<LinkPair> pair = Link::CreatePair();
    EXPECT_TRUE(pair.ok());
    server_.ServeLink(&service_, std::move(pair->second));
    client_ = std::move(pair->first);
  }
  ~RawStreamTest() override {
    client_.Close();
    server_.Shutdown();
  }

  // Sends a call header with `flags` and `stream_id` (and no message).
  absl::StatusOr<uint64_t> SendHeader(uint32_t method, uint16_t flags, uint32_t stream_id) {
    internal::CallHeader header{
        internal::kCallMagic, internal::kCallVersion, flags, 0, stream_id, 0, 0};
    return client_.Send(method, std::as_bytes(std::span(&header, 1)));
  }
  // The reply to `id` (other messages are not expected here).
  Message ReplyTo(uint64_t id) {
    while (true) {
      absl::StatusOr<Message> message = client_.Receive(Soon());
      EXPECT_TRUE(message.ok()) << message.status();
      if (!message.ok() || message->id == id) return message.ok() ? *std::move(message) : Message();
    }
  }
  absl::Status StatusOf(uint16_t flags, uint32_t stream_id, uint32_t method = kGate) {
    absl::StatusOr<uint64_t> id = SendHeader(method, flags, stream_id);
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? ReplyTo(*id).status : id.status();
  }
  bool IsEnd(const Message& reply) {
    internal::CallHeader header{};
    if (!reply.status.ok() || reply.data.size() < sizeof(header)) return false;
    std::memcpy(&header, reply.data.data(), sizeof(header));
    return (header.flags & internal::kCallStreamEnd) != 0;
  }

  static constexpr uint32_t kGate = Streamer::kGateMethodId;
  StreamerService service_;
  Server server_;
  Link client_;
};

TEST_F(RawStreamTest, MalformedStreamHeadersAreRefused) {
  using namespace internal;  // the flags
  EXPECT_EQ(StatusOf(kCallStreamOpen | kCallStreamPull, 1).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusOf(kCallStreamPull, 0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusOf(0, 5).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusOf(kCallStreamOpen | kCallStreamEnd, 1).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusOf(1 << 12, 0).code(), absl::StatusCode::kInvalidArgument);
  // A unary method opened as a stream.
  EXPECT_EQ(StatusOf(kCallStreamOpen, 1, Streamer::kReleaseMethodId).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(RawStreamTest, MalformedGivenUpNoticesAreRefused) {
  using namespace internal;
  EXPECT_EQ(StatusOf(kCallGivenUp, 3).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusOf(kCallGivenUp | kCallStreamCancel, 3).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusOf(kCallGivenUp | kCallMetadata, 0).code(), absl::StatusCode::kInvalidArgument);
  absl::Status short_notice = StatusOf(kCallGivenUp, 0);  // no id
  EXPECT_EQ(short_notice.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(short_notice.message(), ::testing::HasSubstr("notice of 0 bytes"));
  // A well-formed notice for a call that does not run is answered, and the server goes on.
  const GivenUpNotice notice = EncodeGivenUp(12345);
  absl::StatusOr<uint64_t> id = client_.Send(kGate, notice);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_TRUE(ReplyTo(*id).status.ok());
  EXPECT_TRUE(StatusOf(kCallStreamCancel, 9).ok());
}

TEST_F(RawStreamTest, RequestsForAStreamThatIsNotOpenAreAnswered) {
  using namespace internal;
  absl::StatusOr<uint64_t> pull = SendHeader(kGate, kCallStreamPull, 9);
  ASSERT_TRUE(pull.ok());
  EXPECT_TRUE(IsEnd(ReplyTo(*pull)));
  EXPECT_EQ(StatusOf(kCallStreamMessage, 9).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(StatusOf(kCallStreamHalfClose, 9).ok());
  EXPECT_TRUE(StatusOf(kCallStreamCancel, 9).ok());
}

TEST_F(RawStreamTest, AStreamsQueuesAreBounded) {
  using namespace internal;
  absl::StatusOr<uint64_t> open = SendHeader(kGate, kCallStreamOpen, 3);  // never reads
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(StatusOf(kCallStreamOpen, 3).code(), absl::StatusCode::kInvalidArgument);  // twice
  for (int i = 0; i < 1024; ++i) {  // the most a stream holds
    ASSERT_TRUE(SendHeader(kGate, kCallStreamPull, 3).ok());
  }
  EXPECT_EQ(StatusOf(kCallStreamPull, 3).code(), absl::StatusCode::kResourceExhausted);
  // A cancel ends the stream: once its method returns, the opening is answered (after
  // every pull, with the end).
  EXPECT_TRUE(StatusOf(kCallStreamCancel, 3).ok());
  ServerContext context(PeerIdentity{}, absl::InfiniteFuture());
  Number none;
  ASSERT_TRUE(service_.Release(context, none, &none).ok());
  EXPECT_EQ(ReplyTo(*open).status.code(), absl::StatusCode::kCancelled);
}

TEST_F(RawStreamTest, AStreamsUnreadBytesAreBounded) {
  using namespace internal;
  ASSERT_TRUE(SendHeader(kGate, kCallStreamOpen, 5).ok());  // never reads
  // Messages of 100 KB, sent with no regard for the client's byte window.
  CallHeader header{kCallMagic, kCallVersion, kCallStreamMessage, 100 * 1024, 5, 0, 0};
  std::string request(sizeof(header), '\0');
  std::memcpy(request.data(), &header, sizeof(header));
  request.append(100 * 1024, 'm');
  std::vector<uint64_t> ids;
  for (int i = 0; i < 30; ++i) {
    absl::StatusOr<uint64_t> id = client_.Send(kGate, std::as_bytes(std::span(request)));
    ASSERT_TRUE(id.ok()) << id.status();
    ids.push_back(*id);
  }
  // The ones held unread are not answered; the first answer refuses the first message
  // past the bound.
  const size_t held = 2 * kStreamWindowBytes / (100 * 1024);  // the server holds twice the window
  absl::StatusOr<Message> reply = client_.Receive(Soon());
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->id, ids[held]);
  EXPECT_EQ(reply->status.code(), absl::StatusCode::kResourceExhausted) << reply->status;
  ServerContext context(PeerIdentity{}, absl::InfiniteFuture());
  Number none;
  ASSERT_TRUE(service_.Release(context, none, &none).ok());  // the method returns
}

// A hostile server: answers a Countdown stream's first pull with a call header carrying
// `flags` and then `body`, and the stream's open with OK. Returns what the client's
// Finish() says; its Read() must fail first.
absl::Status CountdownAnsweredWith(uint16_t flags, const std::string& body) {
  absl::StatusOr<LinkPair> pair = Link::CreatePair();
  if (!pair.ok()) return pair.status();
  Link server = std::move(pair->second);
  auto channel = std::make_shared<LinkChannel>(std::move(pair->first));
  StreamerStub stub(channel);
  std::thread fake([&] {
    uint64_t open = 0;
    while (true) {
      absl::StatusOr<Message> request = server.Receive(Soon());
      if (!request.ok()) return;
      internal::CallHeader header{};
      std::memcpy(&header, request->data.data(), sizeof(header));
      if (header.flags & internal::kCallStreamOpen) {
        open = request->id;
        continue;
      }
      if (!(header.flags & internal::kCallStreamPull)) continue;
      internal::CallHeader reply{internal::kCallMagic,
                                 internal::kCallVersion,
                                 flags,
                                 static_cast<uint32_t>(body.size()),
                                 0,
                                 0,
                                 0};
      const std::string bytes =
          std::string(reinterpret_cast<const char*>(&reply), sizeof(reply)) + body;
      (void)server.Reply(request->id, absl::OkStatus(), std::as_bytes(std::span(bytes)));
      internal::CallHeader done{internal::kCallMagic, internal::kCallVersion, 0, 0, 0, 0, 0};
      (void)server.Reply(open, absl::OkStatus(), std::as_bytes(std::span(&done, 1)));
      return;
    }
  });
  Number request;
  request.set_n(5);
  auto reader = stub.Countdown(request);
  Number number;
  EXPECT_FALSE(reader->Read(&number));
  absl::Status status = reader->Finish();
  fake.join();
  return status;
}

// A pull answered with a batch that lies about its messages ends the stream with
// INVALID_ARGUMENT on the client, which does not crash or hang.
TEST(HostileServerTest, AMalformedBatchEndsTheStream) {
  // Its first message claims 1000 bytes of the 3 that follow.
  const std::string body = {'\xe8', '\x03', 0, 0, 'a', 'b', 'c'};
  absl::Status status = CountdownAnsweredWith(internal::kCallStreamBatch, body);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("1000-byte message"));
}

// A pull answered with a flag only requests carry ends the stream the same way.
TEST(HostileServerTest, AReplyWithARequestsFlagEndsTheStream) {
  Number one;
  one.set_n(1);
  absl::Status status = CountdownAnsweredWith(internal::kCallGivenUp, one.SerializeAsString());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("stream's reply, which never"));
  EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("/Countdown"));
}

}  // namespace
}  // namespace syslink::rpc
