#include "examples/fs/fuse/node_table.h"

#include <set>

#include "gtest/gtest.h"

namespace syslink::examples::fs {
namespace {

using Node = NodeTable::Node;

TEST(NodeTableTest, NewIdsStartAfterTheRoot) {
  NodeTable nodes;
  EXPECT_GT(nodes.Add(1, 1234), NodeTable::kRootNodeId);
}

TEST(NodeTableTest, FindGivesTheInodeAndEpoch) {
  NodeTable nodes;
  const uint64_t id = nodes.Add(3, 77);
  EXPECT_EQ(nodes.Find(id), (Node{77, 3}));
}

TEST(NodeTableTest, TheRootIsNotInTheTable) {
  NodeTable nodes;
  (void)nodes.Add(1, 1);
  EXPECT_EQ(nodes.Find(NodeTable::kRootNodeId), std::nullopt);
}

TEST(NodeTableTest, UnknownIdsAreNotFound) {
  NodeTable nodes;
  EXPECT_EQ(nodes.Find(12345), std::nullopt);
  EXPECT_EQ(nodes.Forget(12345, 1), std::nullopt);
}

TEST(NodeTableTest, TheSameInodeOfTheSameEpochSharesOneId) {
  NodeTable nodes;
  const uint64_t first = nodes.Add(1, 9);
  EXPECT_EQ(nodes.Add(1, 9), first);
  EXPECT_EQ(nodes.LookupsOf(first), 2u);
  EXPECT_EQ(nodes.size(), 1u);
}

TEST(NodeTableTest, TheSameInodeNumberOfAnotherEpochGetsAnotherId) {
  NodeTable nodes;
  const uint64_t old_id = nodes.Add(1, 9);
  const uint64_t new_id = nodes.Add(2, 9);
  EXPECT_NE(old_id, new_id);
  EXPECT_EQ(nodes.Find(old_id), (Node{9, 1}));
  EXPECT_EQ(nodes.Find(new_id), (Node{9, 2}));
}

TEST(NodeTableTest, ForgetKeepsTheNodeWhileLookupsRemain) {
  NodeTable nodes;
  const uint64_t id = nodes.Add(1, 5);
  (void)nodes.Add(1, 5);
  (void)nodes.Add(1, 5);
  EXPECT_EQ(nodes.Forget(id, 2), (Node{5, 1}));
  EXPECT_EQ(nodes.LookupsOf(id), 1u);
  EXPECT_EQ(nodes.Find(id), (Node{5, 1}));
}

TEST(NodeTableTest, ForgetDropsTheNodeAtZero) {
  NodeTable nodes;
  const uint64_t id = nodes.Add(1, 5);
  EXPECT_EQ(nodes.Forget(id, 1), (Node{5, 1}));
  EXPECT_EQ(nodes.Find(id), std::nullopt);
  EXPECT_EQ(nodes.size(), 0u);
}

TEST(NodeTableTest, ForgetBeyondTheCountIsClamped) {
  NodeTable nodes;
  const uint64_t id = nodes.Add(1, 5);
  EXPECT_EQ(nodes.Forget(id, 1000), (Node{5, 1}));
  EXPECT_EQ(nodes.Find(id), std::nullopt);
  EXPECT_EQ(nodes.Forget(id, 1), std::nullopt);
}

TEST(NodeTableTest, IdsAreNeverReusedAfterAForget) {
  NodeTable nodes;
  std::set<uint64_t> seen;
  for (int round = 0; round < 100; ++round) {
    const uint64_t id = nodes.Add(1, 42);
    EXPECT_TRUE(seen.insert(id).second) << "id " << id << " came back";
    (void)nodes.Forget(id, 1);
  }
}

TEST(NodeTableTest, ANewLookupAfterTheLastForgetGetsAFreshId) {
  NodeTable nodes;
  const uint64_t first = nodes.Add(1, 42);
  (void)nodes.Forget(first, 1);
  const uint64_t second = nodes.Add(1, 42);
  EXPECT_NE(first, second);
  EXPECT_EQ(nodes.Find(first), std::nullopt);
  EXPECT_EQ(nodes.LookupsOf(second), 1u);
}

}  // namespace
}  // namespace syslink::examples::fs
