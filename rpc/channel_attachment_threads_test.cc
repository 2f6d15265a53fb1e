// Attachments of one LinkChannel dropped on many threads, against a server in another
// process: the buffers behind them (the channel's own arena for request attachments, the
// server's for response attachments) all come back while other threads send and read, and
// a reader asleep on the link wakes to hand back a buffer the server waits for.

#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "rpc/link_channel.h"
#include "rpc/method.h"
#include "rpc/server.h"
#include "rpc/testdata/test_service.pb.h"
#include "tests/support/eventually.h"
#include "tests/support/forked_server.h"
#include "tests/support/proc_state.h"

namespace syslink::rpc {
namespace {

using ::syslink::rpc::test::Text;
using ::syslink::testing::Eventually;
using ::syslink::testing::ForkedServer;
using ::syslink::testing::ForkedServerOptions;
using ::syslink::testing::Soon;
using ::syslink::testing::ThreadState;

constexpr Method kCopy{MethodId("syslink.rpc.test.Bulk.Copy"), "/syslink.rpc.test.Bulk/Copy",
                       MethodKind::kUnary};
constexpr size_t kAttachment = 128 * 1024;  // eight fill a 1 MiB arena

// Copy answers with the request's text and an attachment of kAttachment bytes: a copy of
// the request's attachment, or the text's first byte repeated when there is none.
class BulkService : public Service {
 public:
  absl::string_view service_name() const override { return "syslink.rpc.test.Bulk"; }
  absl::Status Dispatch(ServerCall& call) override {
    Text request;
    if (absl::Status s = call.ParseRequest(&request); !s.ok()) return s;
    std::vector<std::byte> bytes(kAttachment,
                                 std::byte(request.text().empty() ? 0 : request.text()[0]));
    const Attachment& in = call.context().request_attachment();
    if (!in.empty()) bytes.assign(in.data().begin(), in.data().end());
    call.context().set_response_attachment(Attachment::FromBytes(bytes));
    call.SetResponse(request);
    return absl::OkStatus();
  }
};

class ChannelAttachmentThreadsTest : public ::testing::TestWithParam<ring::WaitMode> {
 protected:
  ChannelAttachmentThreadsTest()
      : server_([] { return std::make_unique<BulkService>(); }, Options()) {}

  ForkedServerOptions Options() const {
    ForkedServerOptions options;
    options.link.wait.mode = GetParam();
    options.link.arena_size = 1024 * 1024;
    options.server.workers = 4;
    return options;
  }
  LinkChannel& channel() { return *server_.channel(); }

  ForkedServer server_;
};

std::unique_ptr<ClientContext> WithDeadline() {
  auto context = std::make_unique<ClientContext>();
  context->set_deadline(Soon());
  return context;
}

bool Filled(const Attachment& attachment, std::byte value) {
  if (attachment.size() != kAttachment) return false;
  for (std::byte b : attachment.data()) {
    if (b != value) return false;
  }
  return true;
}

// Far more attachments go each way than either arena holds, each dropped on the thread
// that made the call (or in its callback), with no lock of the channel's held.
TEST_P(ChannelAttachmentThreadsTest, AttachmentsDroppedOnCallingThreadsAllComeBack) {
  constexpr int kThreads = 3;
  constexpr int kCalls = 60;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i) {
        const std::byte value{static_cast<unsigned char>(t * kCalls + i)};
        ClientContext context;
        context.set_deadline(Soon());
        absl::StatusOr<Attachment> bulk = channel().AllocateAttachment(kAttachment);
        if (!bulk.ok()) {
          ADD_FAILURE() << bulk.status();
          ++wrong;
          continue;
        }
        std::memset(bulk->data().data(), static_cast<int>(value), kAttachment);
        context.set_request_attachment(*std::move(bulk));
        Text request, response;
        request.set_text(absl::StrCat("thread ", t, " call ", i));
        absl::Status status = channel().Call(kCopy, request, &response, &context);
        if (!status.ok() || response.text() != request.text() ||
            !Filled(context.response_attachment(), value)) {
          ADD_FAILURE() << status;
          ++wrong;
        }
      }  // both attachments go with the context, here
    });
  }
  // Async calls beside them: their response attachments go in the callbacks.
  constexpr int kAsync = 60;
  std::vector<Text> requests(kAsync), responses(kAsync);
  std::vector<std::unique_ptr<ClientContext>> contexts;
  std::atomic<int> async_ok{0};
  for (int i = 0; i < kAsync; ++i) {
    requests[i].set_text(std::string(1, static_cast<char>('A' + i % 26)));
    contexts.push_back(WithDeadline());
    ClientContext* context = contexts.back().get();
    channel().CallAsync(kCopy, requests[i], &responses[i], context,
                        [&, i, context](absl::Status s) {
                          const std::byte value{static_cast<unsigned char>('A' + i % 26)};
                          if (s.ok() && Filled(context->response_attachment(), value)) ++async_ok;
                          context->response_attachment() = Attachment();
                        });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(channel().Drain(Soon()), 0u);
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(async_ok.load(), kAsync);
  EXPECT_TRUE(channel().status().ok()) << channel().status();
}

// The server's arena is full of response attachments the client holds; a call then waits
// for the server to find room. The client's only thread reading sleeps on the link when
// another thread drops the held attachments: it wakes and hands them back.
TEST_P(ChannelAttachmentThreadsTest, ASleepingReaderWakesToHandBackWhatTheServerWaitsFor) {
  std::vector<std::unique_ptr<ClientContext>> held;
  for (int i = 0; i < 8; ++i) {  // the server's whole arena
    held.push_back(WithDeadline());
    Text request, response;
    request.set_text("h");
    ASSERT_TRUE(channel().Call(kCopy, request, &response, held.back().get()).ok());
    ASSERT_EQ(held.back()->response_attachment().size(), kAttachment);
  }
  std::atomic<pid_t> caller_tid{0};
  absl::Status status;
  std::thread caller([&] {
    caller_tid.store(static_cast<pid_t>(syscall(SYS_gettid)));
    ClientContext context;
    context.set_deadline(Soon());
    Text request, response;
    request.set_text("w");
    status = channel().Call(kCopy, request, &response, &context);
    if (status.ok() && !Filled(context.response_attachment(), std::byte('w'))) {
      status = absl::InternalError("the response attachment was not the server's copy");
    }
  });
  // The caller reads the link itself (no one else does) and sleeps in poll() once its
  // spin budget is spent: nothing else blocks it.
  ASSERT_TRUE(Eventually([&] { return caller_tid.load() != 0; }));
  ASSERT_TRUE(Eventually([&] { return ThreadState(caller_tid.load()) == 'S'; }));
  held.clear();
  caller.join();
  EXPECT_TRUE(status.ok()) << status;
}

INSTANTIATE_TEST_SUITE_P(WaitModes, ChannelAttachmentThreadsTest,
                         ::testing::Values(ring::WaitMode::kHybrid, ring::WaitMode::kBlocking),
                         [](const auto& info) {
                           return info.param == ring::WaitMode::kHybrid ? std::string("hybrid")
                                                                        : std::string("blocking");
                         });

}  // namespace
}  // namespace syslink::rpc
