// Flow control of streams between two processes: a slow reader holds a fast writer to the
// window, TryWrite refuses a full window, and the byte window bounds large messages.

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "rpc/internal/call_format.h"
#include "rpc/stream.h"
#include "rpc/stream_testing.h"
#include "rpc/testdata/stream_service.syslink.h"
#include "tests/support/eventually.h"
#include "tests/support/forked_server.h"

namespace syslink::rpc {
namespace {

using ::syslink::rpc::test::Number;
using ::syslink::rpc::test::StreamerStub;
using ::syslink::rpc::test::Total;
using ::syslink::testing::Eventually;
using ::syslink::testing::ForkedServer;

TEST_F(StreamTest, ASlowReaderHoldsTheWriterToTheWindow) {
  ClientContext context;
  auto reader = stub_.Forever(Number(), &context);
  Number number;
  ASSERT_TRUE(reader->Read(&number));  // the stream runs; the client now reads nothing
  // The server writes what the client's window and its own buffer (as large) hold.
  ASSERT_TRUE(Eventually([&] { return GetProgress().written() >= kWindow; }));
  EXPECT_LE(GetProgress().written(), 2 * kWindow + 1);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(reader->Read(&number));
  ASSERT_TRUE(Eventually([&] { return GetProgress().written() >= 21 + kWindow; }));
  // Held to what was read and the two windows, however long the reader dawdles.
  EXPECT_LE(GetProgress().written(), 21 + 2 * kWindow + 1);
  context.TryCancel();
  EXPECT_EQ(reader->Finish().code(), absl::StatusCode::kCancelled);
  ASSERT_TRUE(Eventually([&] { return GetProgress().ended() == 1; }));
  EXPECT_EQ(GetProgress().cancelled(), 1);
}

TEST_F(StreamTest, TryWriteRefusesAFullWindowInsteadOfWaiting) {
  Total total;
  auto writer = stub_.Gate(&total);  // reads nothing until Release
  Number number;
  number.set_n(1);
  for (int i = 0; i < kWindow; ++i) ASSERT_TRUE(writer->TryWrite(number).ok()) << i;
  EXPECT_EQ(writer->TryWrite(number).code(), absl::StatusCode::kResourceExhausted);
  ASSERT_TRUE(stub_.Release(Number()).ok());
  EXPECT_TRUE(writer->Write(number));  // waits for room, which the reader now makes
  writer->WritesDone();
  ASSERT_TRUE(writer->Finish().ok());
  EXPECT_EQ(total.messages(), kWindow + 1);
}

TEST(StreamByteWindowTest, AWriterKeepsAMegabyteOfMessagesInFlight) {
  // The default window (1024 messages): the byte window holds the writer back first.
  ForkedServer server([] { return std::make_unique<StreamerService>(); });
  StreamerStub stub(server.channel());
  Total total;
  auto writer = stub.Gate(&total);  // not released: the method reads nothing yet
  Number big;
  big.set_padding(std::string(100 * 1024, 'p'));
  int sent = 0;
  absl::Status full;
  while ((full = writer->TryWrite(big)).ok()) ++sent;
  EXPECT_EQ(sent, static_cast<int>(internal::kStreamWindowBytes / big.ByteSizeLong()));
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted) << full;
  ASSERT_TRUE(stub.Release(Number()).ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(writer->Write(big));  // room again as it reads
  EXPECT_TRUE(writer->WritesDone());
  ASSERT_TRUE(writer->Finish().ok());
  EXPECT_EQ(total.messages(), sent + 10);
}

}  // namespace
}  // namespace syslink::rpc
