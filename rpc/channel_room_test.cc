// A LinkChannel's sends when the link has no room, against a server in another process:
// a caller that pipelines more than the rings or the DMA arena hold gets every reply. The
// room comes back only as replies are read (the server waits to write them; a reply
// returns its request's DMA buffer), so a sender waiting for room must not keep the
// replies from being read.

#include <atomic>
#include <memory>
#include <string>
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

namespace syslink::rpc {
namespace {

using ::syslink::rpc::test::Text;
using ::syslink::testing::ForkedServer;
using ::syslink::testing::ForkedServerOptions;
using ::syslink::testing::Soon;

constexpr Method kEcho{MethodId("syslink.rpc.test.Room.Echo"), "/syslink.rpc.test.Room/Echo",
                       MethodKind::kUnary};

// Echo answers with the request, or, when its text is "count", with the size of its blob
// and the blob's first byte (a small reply).
class EchoService : public Service {
 public:
  absl::string_view service_name() const override { return "syslink.rpc.test.Room"; }
  absl::Status Dispatch(ServerCall& call) override {
    Text request;
    if (absl::Status s = call.ParseRequest(&request); !s.ok()) return s;
    if (request.text() == "count") {
      Text count;
      count.set_text(absl::StrCat(request.blob().size(), request.blob().substr(0, 1)));
      call.SetResponse(count);
      return absl::OkStatus();
    }
    call.SetResponse(request);
    return absl::OkStatus();
  }
};

struct Case {
  const char* name;
  bool completion_thread;
};

class ChannelRoomTest : public ::testing::TestWithParam<Case> {
 protected:
  ChannelRoomTest() : server_([] { return std::make_unique<EchoService>(); }, Options()) {}

  static ForkedServerOptions Options() {
    ForkedServerOptions options;
    options.link.ring_capacity = 64 * 1024;  // an inline message is at most 16 KiB
    options.link.arena_size = 1024 * 1024;   // eight 128 KiB buffers
    options.channel.completion_thread = GetParam().completion_thread;
    return options;
  }
  LinkChannel& channel() { return *server_.channel(); }

  // Starts `calls` echo calls of `bytes` each without waiting for any, then waits for all:
  // each must come back whole. Every call has a deadline, so a send that never gets room
  // fails the test rather than hanging it.
  void Pipeline(int calls, size_t bytes, bool small_replies) {
    struct Outcome {
      Text request;
      Text response;
      ClientContext context;
      absl::Status status = absl::UnknownError("no callback");
    };
    std::vector<std::unique_ptr<Outcome>> outcomes;
    std::atomic<int> done{0};
    for (int i = 0; i < calls; ++i) {
      auto outcome = std::make_unique<Outcome>();
      outcome->request.set_blob(std::string(bytes, static_cast<char>('a' + i % 26)));
      if (small_replies) outcome->request.set_text("count");
      outcome->context.set_deadline(Soon());
      Outcome* o = outcome.get();
      outcomes.push_back(std::move(outcome));
      channel().CallAsync(kEcho, o->request, &o->response, &o->context,
                          [o, &done](absl::Status status) {
                            o->status = std::move(status);
                            done.fetch_add(1);
                          });
    }
    while (done.load() < calls && channel().Drain(Soon()) > 0) {
    }
    ASSERT_EQ(done.load(), calls);
    for (int i = 0; i < calls; ++i) {
      EXPECT_TRUE(outcomes[i]->status.ok()) << "call " << i << ": " << outcomes[i]->status;
      const Text& request = outcomes[i]->request;
      const Text& response = outcomes[i]->response;
      if (small_replies) {
        EXPECT_EQ(response.text(), absl::StrCat(bytes, request.blob().substr(0, 1))) << i;
      } else {
        EXPECT_EQ(response.blob(), request.blob()) << "call " << i;
      }
    }
  }

  ForkedServer server_;
};

TEST_P(ChannelRoomTest, InlineCallsBeyondWhatTheRingsHoldAllComeBack) {
  // Twelve 12 KiB requests fill the 64 KiB request ring four times over; their replies
  // fill the reply ring, and the server waits to write the rest.
  Pipeline(48, 12 * 1024, /*small_replies=*/false);
}

TEST_P(ChannelRoomTest, SpilledCallsBeyondWhatTheArenaHoldsAllComeBack) {
  // Each 100 KiB request spills into a 128 KiB buffer: eight fill the arena, and the
  // ninth needs a buffer that a reply returns, read while the channel is held.
  Pipeline(40, 100 * 1024, /*small_replies=*/true);
}

TEST_P(ChannelRoomTest, SpilledCallsWithSpilledRepliesBeyondBothArenasAllComeBack) {
  // The replies spill too, into the server's arena: a reply read ahead while the channel
  // waits for room must give its buffer back, or the server runs out of buffers for the
  // replies after it and stops reading the requests this end waits to send.
  Pipeline(40, 100 * 1024, /*small_replies=*/false);
}

INSTANTIATE_TEST_SUITE_P(Modes, ChannelRoomTest,
                         ::testing::Values(Case{"CompletionThread", true},
                                           Case{"DrainOnly", false}),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace syslink::rpc
