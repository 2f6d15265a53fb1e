// What fork() does to link ends: a child never holds its parent's ends open, and each end
// mirrors its outstanding requests into the region for the broker.

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <set>

#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "ring/shared_region.h"
#include "syslink/end_transfer.h"
#include "syslink/internal/link_layout.h"
#include "syslink/link.h"
#include "syslink/mirror_format.h"
#include "syslink/status.h"
#include "tests/support/child_process.h"
#include "tests/support/eventually.h"
#include "tests/support/proc_state.h"

namespace syslink {
namespace {

using ::syslink::testing::ChildProcess;
using ::syslink::testing::Eventually;
using ::syslink::testing::ProcessState;
using ::syslink::testing::Soon;

// A word shared by this process and every descendant (MAP_SHARED | MAP_ANONYMOUS is
// inherited across fork, unlike a SharedRegion).
std::atomic<int>* SharedWord() {
  void* memory = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  return new (memory) std::atomic<int>(0);
}

constexpr int kWaiting = 1;
constexpr int kGotPeerDied = 2;
constexpr int kGotSomethingElse = 3;

// A process P makes a link, hands one end to its child C (fork, no exec) and keeps the
// other. C inherits P's descriptors, P's own end socket among them; if C kept that copy
// open, P's death would not close it and C would wait for ever. Here P is killed with
// SIGKILL while C waits on a call.
TEST(LinkForkTest, ChildThatAdoptedAnEndSeesItsParentDie) {
  std::atomic<int>* result = SharedWord();
  std::atomic<int>* waiter = SharedWord();  // C's pid
  ChildProcess parent = ChildProcess::Fork([&] {
    absl::StatusOr<LinkPair> pair = Link::CreatePair();
    if (!pair.ok()) return 1;
    absl::StatusOr<std::string> token = ReleaseForChild(std::move(pair->second));
    if (!token.ok()) return 2;
    pid_t child = fork();
    if (child == 0) {
      // Note: the child does not close `pair->first`; the fork handler must have.
      absl::StatusOr<Link> mine = AdoptEnd(*token);
      if (!mine.ok()) _exit(3);
      waiter->store(getpid());
      result->store(kWaiting);
      absl::StatusOr<Message> reply =
          mine->Call(1, AsBytes("are you there?"), {}, absl::Now() + absl::Seconds(30));
      result->store(reply.ok() && IsPeerDied(reply->status) ? kGotPeerDied : kGotSomethingElse);
      _exit(0);
    }
    CloseReleasedEnd(*token);
    // Hold the end, never answer.
    while (true) pause();
  });
  // Kill P only once C's call sleeps in its wait for the reply (C has nothing else to sleep
  // on), so that C learns of the death while it waits.
  ASSERT_TRUE(Eventually([&] { return result->load() == kWaiting; }));
  ASSERT_TRUE(Eventually([&] { return ProcessState(waiter->load()) == 'S'; }))
      << "the call never went to sleep";
  ASSERT_EQ(result->load(), kWaiting);
  parent.Kill(SIGKILL);
  EXPECT_EQ(parent.Wait(), ChildProcess::KilledBy(SIGKILL));
  EXPECT_TRUE(Eventually([&] { return result->load() != kWaiting; }));
  EXPECT_EQ(result->load(), kGotPeerDied);
}

// The outstanding-request mirror, read the way the broker reads it.
std::set<uint64_t> MirroredIds(const ring::SharedRegion& region, const LinkOptions& options,
                               int side) {
  internal::LinkLayout layout(options);
  auto* slots = reinterpret_cast<const MirrorSlot*>(region.data() + layout.MirrorOffset(side));
  std::set<uint64_t> ids;
  for (uint32_t i = 0; i < kMirrorSlots; ++i) {
    if (uint64_t id = slots[i].id.load(); id != 0) ids.insert(id);
  }
  return ids;
}

TEST(LinkMirrorTest, OutstandingRequestsAreMirroredUntilAnswered) {
  LinkOptions options;
  absl::StatusOr<LinkPair> pair = Link::CreatePair(options);
  ASSERT_TRUE(pair.ok());
  auto& [client, server] = *pair;
  // Look at the region as the broker would: through a token's memfd.
  absl::StatusOr<std::string> token = ReleaseForChild(std::move(server));
  ASSERT_TRUE(token.ok());
  absl::StatusOr<Link> adopted = AdoptEnd(*token);  // this process plays both sides
  ASSERT_TRUE(adopted.ok()) << adopted.status();
  std::vector<std::string> fields = absl::StrSplit(*token, ':');
  int memfd = std::stoi(fields[2]);
  absl::StatusOr<ring::SharedRegion> region =
      ring::SharedRegion::Map(UniqueFd(dup(memfd)), internal::LinkLayout(options).total_size);
  ASSERT_TRUE(region.ok()) << region.status();

  std::set<uint64_t> sent;
  for (int i = 0; i < 5; ++i) sent.insert(*client.Send(7, AsBytes("x")));
  EXPECT_EQ(MirroredIds(*region, options, 0), sent);
  EXPECT_TRUE(MirroredIds(*region, options, 1).empty());

  absl::StatusOr<Message> request = adopted->Receive(Soon());
  ASSERT_TRUE(request.ok());
  ASSERT_TRUE(adopted->Reply(request->id, absl::OkStatus(), {}).ok());
  absl::StatusOr<Message> reply = client.Receive(Soon());
  ASSERT_TRUE(reply.ok());
  sent.erase(reply->id);
  EXPECT_EQ(MirroredIds(*region, options, 0), sent);

  // A cancelled request stays mirrored until its late reply comes: the broker may still
  // have to answer it.
  uint64_t cancelled = *sent.begin();
  ASSERT_TRUE(client.Cancel(cancelled).ok());
  EXPECT_EQ(MirroredIds(*region, options, 0), sent);
}

}  // namespace
}  // namespace syslink
