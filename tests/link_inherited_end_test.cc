// An end inherited across fork() without a hand-over (no ReleaseForChild): in the child
// every call on it fails with FAILED_PRECONDITION naming the owner, and destroying it there
// leaves the parent's link, and the buffer it holds, working.

#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "ring/wait_mode.h"
#include "syslink/link.h"
#include "tests/link_peer_testing.h"
#include "tests/support/child_process.h"

namespace syslink {
namespace {

using ::syslink::testing::ChildProcess;
using ::syslink::testing::DmaParams;
using ::syslink::testing::FillPattern;
using ::syslink::testing::ForkPeer;
using ::syslink::testing::kCallNotRefused;
using ::syslink::testing::kCheckToTarget;
using ::syslink::testing::kEcho;
using ::syslink::testing::kOk;
using ::syslink::testing::kPatience;
using ::syslink::testing::kQuit;
using ::syslink::testing::MakePair;
using ::syslink::testing::Options;
using ::syslink::testing::Serve;
using ::syslink::testing::Soon;

// In a forked child: every call on `end` must fail with FAILED_PRECONDITION naming the
// owner. Returns kOk, or kCallNotRefused + the index of the first call that was not.
int TryEveryCall(Link& end, uint64_t request_id, pid_t owner) {
  const std::string owner_text = absl::StrCat("belongs to process ", owner);
  auto refused = [&](const absl::Status& s) {
    return s.code() == absl::StatusCode::kFailedPrecondition &&
           std::string(s.message()).find(owner_text) != std::string::npos;
  };
  const absl::Status results[] = {
      end.Send(kEcho, AsBytes("from the child")).status(),
      end.Receive(absl::Now() + absl::Seconds(1)).status(),
      end.Reply(request_id, absl::OkStatus(), AsBytes("from the child")),
      end.Call(kEcho, AsBytes("from the child"), {}, absl::Now() + absl::Seconds(1)).status(),
      end.AllocateBuffer(4096).status(),
      end.Cancel(request_id),
  };
  for (int i = 0; i < static_cast<int>(std::size(results)); ++i) {
    if (!refused(results[i])) return kCallNotRefused + i;
  }
  return end.PrepareToPoll() ? kCallNotRefused + static_cast<int>(std::size(results)) : kOk;
}

TEST(InheritedEndTest, EveryCallInAForkedChildFailsWithFailedPrecondition) {
  LinkPair pair = MakePair(Options(ring::WaitMode::kHybrid));
  Link& client = pair.first;
  Link& server = pair.second;
  absl::StatusOr<uint64_t> id = client.Send(kEcho, AsBytes("before the fork"));
  ASSERT_TRUE(id.ok());
  absl::StatusOr<Message> request = server.Receive(Soon());  // unanswered across the fork
  ASSERT_TRUE(request.ok()) << request.status();
  const uint64_t request_id = request->id;
  const pid_t parent = getpid();
  ChildProcess child = ChildProcess::Fork([&] {
    if (int r = TryEveryCall(client, *id, parent); r != kOk) return r;
    if (int r = TryEveryCall(server, request_id, parent); r != kOk) return r + 10;
    return int{kOk};
  });
  EXPECT_EQ(child.WaitFor(kPatience), ChildProcess::Exited(kOk))
      << "exit 20 + i: call i on the client end was not refused; 30 + i: on the server end";
  // The parent's ends carry on where they were.
  ASSERT_TRUE(server.Reply(request_id, absl::OkStatus(), AsBytes("after the child")).ok());
  absl::StatusOr<Message> reply = client.Receive(Soon());
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->id, *id);
  EXPECT_EQ(reply->DataAsString(), "after the child");
  EXPECT_TRUE(client.status().ok());
  EXPECT_TRUE(server.status().ok());
}

TEST(InheritedEndTest, DestroyingAnInheritedEndInAChildLeavesTheParentsLinkWorking) {
  LinkPair pair = MakePair(Options(ring::WaitMode::kHybrid));
  Link client = std::move(pair.first);
  ChildProcess server =
      ForkPeer(std::move(pair.second), client, [](Link& end) { return Serve(end); });
  absl::StatusOr<DmaBuffer> held = client.AllocateBuffer(4096);  // alive across the fork
  ASSERT_TRUE(held.ok());
  absl::StatusOr<Message> first = client.Call(kEcho, AsBytes("first"), {}, Soon());
  ASSERT_TRUE(first.ok() && first->status.ok());

  ChildProcess inheritor = ChildProcess::Fork([&] {
    *held = DmaBuffer();  // must not touch the parent's arena
    client.Close();       // must not shut the parent's socket down
    client = Link();
    return int{kOk};
  });
  EXPECT_EQ(inheritor.WaitFor(kPatience), ChildProcess::Exited(kOk));

  // After the child is gone: a call through the same end, lending the same buffer.
  DmaParams params{.seed = 9};
  FillPattern(held->data(), params.seed);
  std::vector<std::byte> data(sizeof(params));
  std::memcpy(data.data(), &params, sizeof(params));
  absl::StatusOr<Message> reply =
      client.Call(kCheckToTarget, data, {*std::move(held), DmaDirection::kToTarget}, Soon());
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_TRUE(reply->status.ok()) << reply->status;
  EXPECT_TRUE(reply->returned_buffer.valid());
  EXPECT_TRUE(client.status().ok()) << client.status();
  ASSERT_TRUE(client.Call(kQuit, {}, {}, Soon()).ok());
  EXPECT_EQ(server.WaitFor(kPatience), ChildProcess::Exited(kOk));
}

}  // namespace
}  // namespace syslink
