#include "syslink/link_bench_server.h"

#include <poll.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ring/bench/peer.h"
#include "syslink/end_transfer.h"
#include "syslink/internal/cycle_clock.h"

namespace syslink::link_bench {
namespace {

using ::syslink::internal::CycleCount;
using ::syslink::testing::ChildProcess;

void Die(const absl::Status& status) {
  std::fprintf(stderr, "link_benchmark: %s\n", status.ToString().c_str());
  std::abort();
}

int Serve(const std::string& token) {
  ring::bench::BecomePeer();
  absl::StatusOr<Link> end = AdoptEnd(token);
  if (!end.ok()) return 1;
  std::byte one{1};
  uint64_t checksums = 0;
  while (true) {
    absl::StatusOr<Message> request = end->Receive(absl::InfiniteFuture());
    if (!request.ok()) return 0;  // the client went away
    absl::Status replied;
    if (request->command == kReadBuffer) {
      checksums += Checksum(request->peer_buffer.data());
      one = static_cast<std::byte>(checksums);
      replied = end->Reply(request->id, absl::OkStatus(), {&one, 1});
    } else {
      replied = end->Reply(request->id, absl::OkStatus(), request->data);
    }
    if (!replied.ok()) return 2;
  }
}

// Waits until Ready() as the mode's Receive() would: spinning on the ring (hybrid too: a
// busy client never outlasts the spin budget), or, blocking, asleep in poll() on fd() as
// an event loop does. False if the client's process is gone.
bool AwaitRequest(Link& end, ring::WaitMode mode, pid_t parent) {
  if (mode != ring::WaitMode::kBlocking) {
    return ring::bench::SpinWhilePeerLives([&] { return end.Ready(); }, parent);
  }
  while (!end.Ready() && end.PrepareToPoll()) {
    struct pollfd p = {end.fd(), POLLIN, 0};
    if (poll(&p, 1, -1) == 1 && (p.revents & (POLLHUP | POLLERR))) return false;
  }
  return true;
}

// Echoes every request, stamping each step in `log`.
int ServeStamped(const std::string& token, ring::WaitMode mode, StampLog& log) {
  ring::bench::BecomePeer();
  absl::StatusOr<Link> end = AdoptEnd(token);
  if (!end.ok()) return 1;
  log.Touch();
  const pid_t parent = getppid();
  for (uint64_t n = 0;; ++n) {
    ServerStamps stamps;
    if (!AwaitRequest(*end, mode, parent)) return 0;
    stamps.ready = CycleCount();
    absl::StatusOr<Message> request = end->Receive(absl::InfinitePast());
    stamps.taken = CycleCount();
    if (!request.ok()) return 0;  // the client went away
    if (!end->Reply(request->id, absl::OkStatus(), request->data).ok()) return 2;
    stamps.published = CycleCount();
    log.Add(n, stamps);
  }
}

}  // namespace

LinkServer::LinkServer(ring::WaitMode mode, StampLog* log) {
  LinkOptions options;
  options.wait.mode = mode;
  absl::StatusOr<LinkPair> pair = Link::CreatePair(options);
  if (!pair.ok()) Die(pair.status());
  client_ = std::move(pair->first);
  absl::StatusOr<std::string> token = ReleaseForChild(std::move(pair->second));
  if (!token.ok()) Die(token.status());
  server_.emplace(ChildProcess::Fork(
      [&] { return log != nullptr ? ServeStamped(*token, mode, *log) : Serve(*token); }));
  CloseReleasedEnd(*token);
}

}  // namespace syslink::link_bench
