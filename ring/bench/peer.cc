#include "ring/bench/peer.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/status/statusor.h"
#include "base/unique_fd.h"

namespace syslink::ring::bench {

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
