// Metadata each way: the rules (metadata.h), the block on the wire (metadata_codec.h), and
// calls and streams between two processes over a link, through an InProcessChannel, and
// from a hostile peer.

#include "rpc/metadata.h"

#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc/in_process_channel.h"
#include "rpc/internal/call_codec.h"
#include "rpc/internal/call_format.h"
#include "rpc/internal/metadata_codec.h"
#include "rpc/link_channel.h"
#include "rpc/method.h"
#include "rpc/server.h"
#include "rpc/testdata/countdown_streamer.h"
#include "rpc/testdata/stream_service.syslink.h"
#include "rpc/testdata/test_service.pb.h"
#include "tests/support/eventually.h"
#include "tests/support/forked_server.h"

namespace syslink::rpc {
namespace {

using ::syslink::rpc::test::Number;
using ::syslink::rpc::test::StreamerStub;
using ::syslink::rpc::test::Text;
using ::syslink::testing::ForkedServer;
using ::syslink::testing::ForkedServerOptions;
using ::syslink::testing::Soon;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

constexpr Method UnaryMethod(absl::string_view path) {
  return {MethodIdOfPath(path), path, MethodKind::kUnary};
}
constexpr Method kShow = UnaryMethod("/syslink.rpc.test.Meta/Show");
constexpr Method kFail = UnaryMethod("/syslink.rpc.test.Meta/Fail");
constexpr Method kBadTrailer = UnaryMethod("/syslink.rpc.test.Meta/BadTrailer");
constexpr Method kCalls = UnaryMethod("/syslink.rpc.test.Meta/Calls");

std::string Join(const Metadata& metadata) {
  return absl::StrJoin(metadata, ";", absl::PairFormatter("="));
}

// Show answers with the caller's metadata, joined, and sends each entry back as trailing
// metadata under "echo-<key>"; Fail answers NOT_FOUND with the request's text as the
// error's text and a trailer "x-why"; BadTrailer adds a key that breaks the rules; Calls
// says how many calls reached the service before it.
class MetaService : public Service {
 public:
  absl::string_view service_name() const override { return "syslink.rpc.test.Meta"; }
  absl::Status Dispatch(ServerCall& call) override {
    Text request;
    if (absl::Status s = call.ParseRequest(&request); !s.ok()) return s;
    ServerContext& context = call.context();
    Text response;
    switch (call.method_id()) {
      case kShow.id:
        ++calls_;
        response.set_text(Join(context.client_metadata()));
        response.set_blob(request.blob());
        for (const auto& [key, value] : context.client_metadata()) {
          context.AddTrailingMetadata("echo-" + key, value);
        }
        break;
      case kFail.id:
        ++calls_;
        context.AddTrailingMetadata("x-why", "no such key");
        return absl::NotFoundError(request.text());
      case kBadTrailer.id:
        ++calls_;
        context.AddTrailingMetadata("Not A Key", "v");
        break;
      case kCalls.id:
        response.set_text(std::to_string(calls_));
        break;
      default:
        return absl::UnimplementedError("no such method");
    }
    call.SetResponse(response);
    return absl::OkStatus();
  }

 private:
  int calls_ = 0;
};

TEST(MetadataRulesTest, KeysAndValuesFollowGrpcRules) {
  EXPECT_TRUE(CheckMetadataEntry("x-request-id", "7f3a 9").ok());
  EXPECT_TRUE(CheckMetadataEntry("a.b_c-1", "").ok());
  EXPECT_TRUE(CheckMetadataEntry("trace-bin", std::string("\0\xff\n", 3)).ok());
  EXPECT_EQ(CheckMetadataEntry("", "v").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckMetadataEntry(std::string(256, 'k'), "v").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(CheckMetadataEntry("X-Upper", "v").message()), HasSubstr("X-Upper"));
  EXPECT_THAT(std::string(CheckMetadataEntry(":path", "v").message()), HasSubstr("':'"));
  EXPECT_THAT(std::string(CheckMetadataEntry("grpc-timeout", "1S").message()),
              HasSubstr("reserved"));
  EXPECT_THAT(std::string(CheckMetadataEntry("syslink-x", "1").message()), HasSubstr("reserved"));
  EXPECT_THAT(std::string(CheckMetadataEntry("x-text", "line\n").message()),
              HasSubstr("byte 0x0a"));
}

TEST(MetadataRulesTest, TheWholeIsBounded) {
  Metadata metadata;
  metadata.emplace("k", std::string(kMaxMetadataBytes - 9, 'v'));  // exactly the limit
  EXPECT_EQ(MetadataBytes(metadata), kMaxMetadataBytes);
  EXPECT_TRUE(CheckMetadata(metadata, "m").ok());
  metadata.emplace("j", "");
  absl::Status status = CheckMetadata(metadata, "the call's metadata");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("the call's metadata takes 8201 bytes"));
}

std::string Encode(const Metadata& metadata) {
  std::string block(internal::MetadataBlockSize(metadata), '\0');
  internal::EncodeMetadata(metadata, reinterpret_cast<std::byte*>(block.data()));
  return block;
}

std::span<const std::byte> Bytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

TEST(MetadataCodecTest, ABlockDecodesToWhatWasEncoded) {
  Metadata metadata{{"a", "1"}, {"a", "2"}, {"z-bin", std::string("\0\1", 2)}};
  std::string wire = Encode(metadata) + "after";
  absl::StatusOr<internal::MetadataSplit> split = internal::SplitMetadata(Bytes(wire));
  ASSERT_TRUE(split.ok()) << split.status();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(split->rest.data()), split->rest.size()),
            "after");
  absl::StatusOr<Metadata> decoded = internal::DecodeMetadata(split->entries);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, metadata);
}

TEST(MetadataCodecTest, AHostileBlockIsMalformedNeverReadPastItsEnd) {
  const std::string good = Encode({{"key", "value"}});
  auto with_u32 = [&](size_t at, uint32_t v) {
    std::string bad = good;
    std::memcpy(bad.data() + at, &v, 4);
    return bad;
  };
  // The block claims more than follows, or more than the limit.
  EXPECT_FALSE(internal::SplitMetadata(Bytes(with_u32(0, 1000))).ok());
  EXPECT_FALSE(internal::SplitMetadata(Bytes(with_u32(0, 0xffffffff))).ok());
  EXPECT_FALSE(internal::SplitMetadata(Bytes(std::string("\1\0", 2))).ok());
  // An entry whose sizes overrun the block; stray bytes; a key breaking the rules.
  for (const std::string& bad :
       {with_u32(4, 100), with_u32(8, 0xfffffff0), good.substr(0, 4 + 5)}) {
    std::span<const std::byte> entries = Bytes(bad).subspan(4);
    absl::StatusOr<Metadata> decoded = internal::DecodeMetadata(entries);
    ASSERT_FALSE(decoded.ok());
    EXPECT_THAT(std::string(decoded.status().message()), HasSubstr("malformed call"));
  }
  std::string upper = good;
  upper[4 + 8] = 'K';
  EXPECT_THAT(std::string(internal::DecodeMetadata(Bytes(upper).subspan(4)).status().message()),
              HasSubstr("malformed call from the peer: metadata key \"Key\""));
}

TEST(MetadataCodecTest, AMethodPathEntryMustBeOnePath) {
  auto decode = [](const Metadata& metadata) {
    const std::string wire = Encode(metadata);
    absl::StatusOr<internal::MetadataSplit> split = internal::SplitMetadata(Bytes(wire));
    return split.ok() ? internal::DecodeMetadata(split->entries) : split.status();
  };
  const Metadata good = {{"syslink-method-path", "/kv.Store/Get"}, {"x-a", "1"}};
  EXPECT_EQ(decode(good).value_or(Metadata{}), good);
  for (const Metadata& bad : {Metadata{{"syslink-method-path", "kv.Store/Get"}},
                              Metadata{{"syslink-method-path", "/kv.Store/Get"},
                                       {"syslink-method-path", "/kv.Store/Put"}},
                              Metadata{{"syslink-other", "x"}}}) {
    EXPECT_EQ(decode(bad).status().code(), absl::StatusCode::kInvalidArgument) << Join(bad);
  }
}

// A service listing its rpcs: one listed under a path whose hash is another path's id, as
// a found collision would be.
class ListingService : public Service {
 public:
  static constexpr Method kGet = UnaryMethod("/x.Listed/Get");
  static constexpr Method kCollided{MethodIdOfPath("/x.Hand/Written"), "/x.Listed/Admin",
                                    MethodKind::kUnary};
  absl::string_view service_name() const override { return "x.Listed"; }
  std::span<const Method> methods() const override { return methods_; }
  absl::Status Dispatch(ServerCall&) override { return absl::OkStatus(); }

 private:
  Method methods_[2] = {kGet, kCollided};
};

TEST(MethodIdIsPathTest, AnIdIsServedOnlyAsItsOwnPath) {
  ListingService service;
  EXPECT_TRUE(service.MethodIdIsPath(ListingService::kGet.id, "/x.Listed/Get"));
  EXPECT_FALSE(service.MethodIdIsPath(ListingService::kCollided.id, "/x.Listed/Get"));
  // Not listed: the path's own hash, which no listed rpc has (a hand-written rpc).
  EXPECT_TRUE(service.MethodIdIsPath(MethodIdOfPath("/x.Listed/Unlisted"), "/x.Listed/Unlisted"));
  EXPECT_FALSE(service.MethodIdIsPath(ListingService::kGet.id, "/x.Listed/Unlisted"));
  // Not listed, and its hash is a listed rpc's id: the collision is refused.
  EXPECT_FALSE(service.MethodIdIsPath(MethodIdOfPath("/x.Hand/Written"), "/x.Hand/Written"));
}

TEST(MetadataCodecTest, AnErrorTextKeepsItsMetadataAndItsExactText) {
  Metadata trailing{{"x-why", "gone"}};
  absl::Status sent = internal::EncodeErrorReply(absl::NotFoundError("no key"), trailing);
  EXPECT_NE(sent.message(), "no key");
  Metadata received;
  EXPECT_EQ(internal::DecodeErrorReply(sent, &received), absl::NotFoundError("no key"));
  EXPECT_EQ(received, trailing);
  // A plain text stays as it is; one that starts like the framed form is framed, so it
  // comes back unchanged too.
  EXPECT_EQ(internal::EncodeErrorReply(absl::AbortedError("plain"), {}),
            absl::AbortedError("plain"));
  const std::string magic(reinterpret_cast<const char*>(&internal::kCallMagic), 4);
  absl::Status tricky = absl::AbortedError(magic + "text");
  Metadata none;
  EXPECT_EQ(internal::DecodeErrorReply(internal::EncodeErrorReply(tricky, {}), &none), tricky);
  EXPECT_TRUE(none.empty());
  // A framed text cut short is malformed.
  absl::Status cut(absl::StatusCode::kNotFound, sent.message().substr(0, 20));
  EXPECT_EQ(internal::DecodeErrorReply(cut, &none).code(), absl::StatusCode::kInvalidArgument);
}

// A call over a real link to a service in another process, its methods on the link's
// thread (workers 0) or on a pool (workers 2).
class MetadataOverLinkTest : public ::testing::TestWithParam<int> {
 protected:
  MetadataOverLinkTest()
      : server_([] { return std::make_unique<MetaService>(); }, Options(GetParam())) {}

  static ForkedServerOptions Options(int workers) {
    ForkedServerOptions options;
    options.server.workers = workers;
    return options;
  }

  int Calls() {
    Text request, response;
    absl::Status status = server_.channel()->Call(kCalls, request, &response, nullptr);
    EXPECT_TRUE(status.ok()) << status;
    return std::stoi(response.text());
  }

  ForkedServer server_;
};

TEST_P(MetadataOverLinkTest, MetadataTravelsBothWays) {
  ClientContext context;
  context.AddMetadata("x-request-id", "7f3a");
  context.AddMetadata("x-tag", "b");
  context.AddMetadata("x-tag", "a");
  context.AddMetadata("trace-bin", std::string("\0\x7f", 2));
  Text request, response;
  absl::Status status = server_.channel()->Call(kShow, request, &response, &context);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(response.text(),
            "trace-bin=" + std::string("\0\x7f", 2) + ";x-request-id=7f3a;x-tag=b;x-tag=a");
  EXPECT_THAT(context.GetServerTrailingMetadata(),
              ElementsAre(Pair("echo-trace-bin", std::string("\0\x7f", 2)),
                          Pair("echo-x-request-id", "7f3a"), Pair("echo-x-tag", "b"),
                          Pair("echo-x-tag", "a")));
}

// ClientContext::set_send_method_path(): the server serves the call only if its method id
// is the path's, and the method never sees the path among the caller's metadata.
TEST_P(MetadataOverLinkTest, AMethodPathSentWithTheCallIsCheckedAndNotShown) {
  ClientContext context;
  context.set_send_method_path(true);
  context.AddMetadata("x-a", "1");
  Text request, response;
  ASSERT_TRUE(server_.channel()->Call(kShow, request, &response, &context).ok());
  EXPECT_EQ(response.text(), "x-a=1");
  // Show's id under another path: what a path hashing to Show's id would send.
  constexpr Method kShowElsewhere{kShow.id, "/syslink.rpc.test.Meta/Elsewhere", MethodKind::kUnary};
  ClientContext checked;
  checked.set_send_method_path(true);
  absl::Status status = server_.channel()->Call(kShowElsewhere, request, &response, &checked);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented) << status;
  EXPECT_THAT(status.message(), HasSubstr("/syslink.rpc.test.Meta/Elsewhere"));
  // Without the path, the id alone decides, as always.
  ClientContext unchecked;
  EXPECT_TRUE(server_.channel()->Call(kShowElsewhere, request, &response, &unchecked).ok());
  EXPECT_EQ(Calls(), 2);
}

TEST_P(MetadataOverLinkTest, ACallWithoutMetadataSeesNone) {
  ClientContext context;
  Text request, response;
  ASSERT_TRUE(server_.channel()->Call(kShow, request, &response, &context).ok());
  EXPECT_EQ(response.text(), "");
  EXPECT_TRUE(context.GetServerTrailingMetadata().empty());
}

TEST_P(MetadataOverLinkTest, AMessageThatSpillsKeepsItsMetadata) {
  ClientContext context;
  context.AddMetadata("x-big", std::string(kMaxMetadataBytes - 13 - 8, 'm'));
  Text request, response;
  request.set_blob(std::string(100 * 1024, 'q'));  // spills into a DMA buffer
  absl::Status status = server_.channel()->Call(kShow, request, &response, &context);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(response.blob(), request.blob());
  EXPECT_EQ(context.GetServerTrailingMetadata().count("echo-x-big"), 1u);
}

TEST_P(MetadataOverLinkTest, AnErrorCarriesTheTrailingMetadata) {
  ClientContext context;
  Text request, response;
  request.set_text("key 9");
  EXPECT_EQ(server_.channel()->Call(kFail, request, &response, &context),
            absl::NotFoundError("key 9"));
  EXPECT_THAT(context.GetServerTrailingMetadata(), ElementsAre(Pair("x-why", "no such key")));
  // Without a context to take them, the trailers are dropped, the text still plain.
  EXPECT_EQ(server_.channel()->Call(kFail, request, &response, nullptr),
            absl::NotFoundError("key 9"));
  // An error text that starts like the framed form arrives as it was.
  const std::string magic(reinterpret_cast<const char*>(&internal::kCallMagic), 4);
  request.set_text(magic + "\x01");
  EXPECT_EQ(server_.channel()->Call(kFail, request, &response, &context),
            absl::NotFoundError(magic + "\x01"));
}

TEST_P(MetadataOverLinkTest, MetadataBreakingTheRulesIsRefusedBeforeItIsSent) {
  for (auto [key, value] : {std::pair<std::string, std::string>{"Upper", "v"},
                            {"x-text", "tab\t"},
                            {"x-huge", std::string(kMaxMetadataBytes, 'v')}}) {
    ClientContext context;
    context.AddMetadata(key, value);
    Text request, response;
    absl::Status status = server_.channel()->Call(kShow, request, &response, &context);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << key;
    EXPECT_THAT(std::string(status.message()),
                HasSubstr("/syslink.rpc.test.Meta/Show: the call's metadata"));
  }
  EXPECT_EQ(Calls(), 0);
}

TEST_P(MetadataOverLinkTest, AMethodsBadTrailingMetadataIsInvalidArgument) {
  ClientContext context;
  Text request, response;
  absl::Status status = server_.channel()->Call(kBadTrailer, request, &response, &context);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("the method's trailing metadata: metadata key \"Not A Key\""));
  EXPECT_TRUE(context.GetServerTrailingMetadata().empty());
  // The link goes on.
  ASSERT_TRUE(server_.channel()->Call(kShow, request, &response, &context).ok());
}

INSTANTIATE_TEST_SUITE_P(Workers, MetadataOverLinkTest, ::testing::Values(0, 2));

// Countdown sends the caller's metadata back as trailers; Add fails with a trailer.
class MetaStreamer : public test::Streamer {
 public:
  absl::Status Countdown(ServerContext& context, const Number& request,
                         ServerWriter<Number>* writer) override {
    if (absl::Status status = test::WriteCountdown(context, request, writer); !status.ok()) {
      return status;
    }
    context.AddTrailingMetadata("x-seen", Join(context.client_metadata()));
    return absl::OkStatus();
  }
  absl::Status Add(ServerContext& context, ServerReader<Number>* reader,
                   test::Total* response) override {
    Number number;
    while (reader->Read(&number)) {
    }
    context.AddTrailingMetadata("x-why", "adding is off");
    return absl::FailedPreconditionError("no adding today");
  }
};

TEST(MetadataStreamTest, AStreamCarriesMetadataBothWays) {
  ForkedServer server([] { return std::make_unique<MetaStreamer>(); });
  StreamerStub stub(server.channel());
  ClientContext context;
  context.AddMetadata("x-user", "ann");
  Number request;
  request.set_n(5);
  auto reader = stub.Countdown(request, &context);
  Number number;
  int read = 0;
  while (reader->Read(&number)) ++read;
  EXPECT_EQ(read, 5);
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_THAT(context.GetServerTrailingMetadata(), ElementsAre(Pair("x-seen", "x-user=ann")));

  ClientContext failing;
  test::Total total;
  auto writer = stub.Add(&total, &failing);
  ASSERT_TRUE(writer->Write(number));
  ASSERT_TRUE(writer->WritesDone());
  EXPECT_EQ(writer->Finish(), absl::FailedPreconditionError("no adding today"));
  EXPECT_THAT(failing.GetServerTrailingMetadata(), ElementsAre(Pair("x-why", "adding is off")));

  ClientContext bad;
  bad.AddMetadata("x-\n", "v");
  auto refused = stub.Countdown(request, &bad);
  EXPECT_FALSE(refused->Read(&number));
  EXPECT_EQ(refused->Finish().code(), absl::StatusCode::kInvalidArgument);
}

TEST(MetadataInProcessTest, AnInProcessChannelCarriesMetadataBothWays) {
  MetaService service;
  auto channel = std::make_shared<InProcessChannel>(&service);
  ClientContext context;
  context.AddMetadata("x-a", "1");
  Text request, response;
  ASSERT_TRUE(channel->Call(kShow, request, &response, &context).ok());
  EXPECT_EQ(response.text(), "x-a=1");
  EXPECT_THAT(context.GetServerTrailingMetadata(), ElementsAre(Pair("echo-x-a", "1")));
  ClientContext failing;
  EXPECT_EQ(channel->Call(kFail, request, &response, &failing).code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(failing.GetServerTrailingMetadata(), ElementsAre(Pair("x-why", "no such key")));
  ClientContext bad;
  EXPECT_EQ(channel->Call(kBadTrailer, request, &response, &bad).code(),
            absl::StatusCode::kInvalidArgument);
  bad.AddMetadata("UPPER", "v");
  EXPECT_EQ(channel->Call(kShow, request, &response, &bad).code(),
            absl::StatusCode::kInvalidArgument);
}

// A peer that writes a call by hand: a metadata block that lies about its size, or holds
// a key that breaks the rules, is a malformed call; the server answers so and goes on.
TEST(MetadataHostileTest, AMalformedBlockIsAnsweredAndTheLinkGoesOn) {
  MetaService service;
  Server server;
  absl::StatusOr<LinkPair> pair = Link::CreatePair();
  ASSERT_TRUE(pair.ok());
  server.ServeLink(&service, std::move(pair->second));
  Link& client = pair->first;
  auto call = [&](const std::string& block) {
    internal::CallHeader header{
        internal::kCallMagic, internal::kCallVersion, internal::kCallMetadata, 0, 0, 0, 0};
    std::string payload(reinterpret_cast<const char*>(&header), sizeof(header));
    payload += block;
    absl::StatusOr<Message> reply = client.Call(kShow.id, AsBytes(payload), {}, Soon());
    EXPECT_TRUE(reply.ok()) << reply.status();
    return reply.ok() ? reply->status : reply.status();
  };
  std::string lying = Encode({{"k", "v"}});
  lying[0] = 100;
  std::string upper = Encode({{"k", "v"}});
  upper[4 + 8] = 'K';
  for (const std::string& block : {lying, upper, std::string("\3\0", 2)}) {
    absl::Status status = call(block);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(status.message()), HasSubstr("malformed call from the peer"));
  }
  EXPECT_TRUE(call(Encode({{"k", "v"}})).ok());
  server.Shutdown();
}

}  // namespace
}  // namespace syslink::rpc
