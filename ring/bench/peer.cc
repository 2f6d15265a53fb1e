#include "ring/bench/peer.h"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/status/statusor.h"
#include "base/unique_fd.h"
#include "tests/support/child_process.h"

namespace syslink::ring::bench {

void BecomePeer() {
  pid_t parent = getppid();
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(1);  // the parent died before the signal was armed
  ::syslink::testing::PinToCpu(kPeerCpu);
}

SharedRegion CreateRegion(const char* name, size_t size) {
  absl::StatusOr<SharedRegion> region = SharedRegion::Create(name, size);
  if (!region.ok()) {
    fprintf(stderr, "%s\n", region.status().ToString().c_str());
    abort();
  }
  return *std::move(region);
}

std::optional<SharedRegion> MapInPeer(const SharedRegion& region) {
  absl::StatusOr<SharedRegion> mine = SharedRegion::Map(UniqueFd(dup(region.fd())), region.size());
  if (!mine.ok()) return std::nullopt;
  return *std::move(mine);
}

}  // namespace syslink::ring::bench
