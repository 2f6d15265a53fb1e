#include "tests/support/link_pair.h"

#include <utility>

namespace syslink::testing {

LinkOptions Options(ring::WaitMode mode, uint64_t ring_capacity, uint64_t arena_size) {
  LinkOptions options;
  options.ring_capacity = ring_capacity;
  options.arena_size = arena_size;
  options.wait.mode = mode;
  return options;
}

LinkPair MakePair(const LinkOptions& options) {
  absl::StatusOr<LinkPair> pair = Link::CreatePair(options);
  EXPECT_TRUE(pair.ok()) << pair.status();
  if (!pair.ok()) return {};
  return *std::move(pair);
}

std::string ModeName(const ::testing::TestParamInfo<ring::WaitMode>& info) {
  return std::string(ring::WaitModeName(info.param));
}

}  // namespace syslink::testing
