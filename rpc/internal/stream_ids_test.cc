#include "rpc/internal/stream_ids.h"

#include <cstdint>

#include "gtest/gtest.h"

namespace syslink::rpc::internal {
namespace {

TEST(StreamIdsTest, GivesIdsInOrderFromOne) {
  StreamIds ids;
  EXPECT_EQ(ids.Take(), 1u);
  EXPECT_EQ(ids.Take(), 2u);
  EXPECT_EQ(ids.open(), 2u);
  ids.Give(1);
  EXPECT_EQ(ids.open(), 1u);
  EXPECT_EQ(ids.Take(), 3u);  // an id given back is not taken again before the wrap
}

TEST(StreamIdsTest, WrapsPastZeroAndEveryIdStillOpen) {
  StreamIds ids;
  const uint32_t long_lived = ids.Take();  // 1, open throughout
  const uint32_t done = ids.Take();        // 2, given back
  ids.Give(done);
  ids.set_next(UINT32_MAX);
  EXPECT_EQ(ids.Take(), UINT32_MAX);
  EXPECT_EQ(ids.Take(), 2u);  // not 0, not 1 (open): 2 was given back
  EXPECT_EQ(ids.Take(), 3u);
  ids.Give(long_lived);
  ids.set_next(1);
  EXPECT_EQ(ids.Take(), 1u);  // free again
  EXPECT_EQ(ids.Take(), 4u);  // 2 and 3 are open
}

}  // namespace
}  // namespace syslink::rpc::internal
