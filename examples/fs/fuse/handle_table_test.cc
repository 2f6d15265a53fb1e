#include "examples/fs/fuse/handle_table.h"

#include <set>

#include "gtest/gtest.h"

namespace syslink::examples::fs {
namespace {

using Handle = HandleTable::Handle;

TEST(HandleTableTest, IdsAreNeverZero) {
  HandleTable handles;
  EXPECT_NE(handles.Add({0, 1}), 0u);
}

TEST(HandleTableTest, FindGivesTheServerHandleEpochAndInode) {
  HandleTable handles;
  const uint64_t id = handles.Add({77, 2, 9});
  EXPECT_EQ(handles.Find(id), (Handle{77, 2, 9}));
}

TEST(HandleTableTest, TheSameServerHandleOfTwoEpochsGetsTwoIds) {
  HandleTable handles;
  const uint64_t old_id = handles.Add({5, 1});
  const uint64_t new_id = handles.Add({5, 2});
  EXPECT_NE(old_id, new_id);
  EXPECT_EQ(handles.Find(old_id)->epoch, 1u);
  EXPECT_EQ(handles.Find(new_id)->epoch, 2u);
}

TEST(HandleTableTest, RemoveReturnsTheHandleOnce) {
  HandleTable handles;
  const uint64_t id = handles.Add({9, 1});
  EXPECT_EQ(handles.Remove(id), (Handle{9, 1}));
  EXPECT_EQ(handles.Remove(id), std::nullopt);
  EXPECT_EQ(handles.Find(id), std::nullopt);
  EXPECT_EQ(handles.size(), 0u);
}

TEST(HandleTableTest, UnknownIdsAreNotFound) {
  HandleTable handles;
  EXPECT_EQ(handles.Find(3), std::nullopt);
}

TEST(HandleTableTest, IdsAreNeverReused) {
  HandleTable handles;
  std::set<uint64_t> seen;
  for (int i = 0; i < 100; ++i) {
    const uint64_t id = handles.Add({1, 1});
    EXPECT_TRUE(seen.insert(id).second);
    (void)handles.Remove(id);
  }
}

}  // namespace
}  // namespace syslink::examples::fs
