#include "syslink/internal/id_map.h"

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace syslink::internal {
namespace {

// Every entry of `map` matches `model`, and nothing else is in it.
void ExpectSame(IdMap<std::string>& map, const std::map<uint64_t, std::string>& model) {
  ASSERT_EQ(map.size(), model.size());
  for (const auto& [id, value] : model) {
    const std::string* found = map.Find(id);
    ASSERT_NE(found, nullptr) << "id " << id;
    EXPECT_EQ(*found, value) << "id " << id;
  }
  size_t visited = 0;
  map.ForEach([&](uint64_t id, std::string& value) {
    ++visited;
    auto it = model.find(id);
    ASSERT_NE(it, model.end()) << "id " << id << " is in the map, not the model";
    EXPECT_EQ(value, it->second);
  });
  EXPECT_EQ(visited, model.size());
}

TEST(IdMapTest, AddsFindsAndTakes) {
  IdMap<std::string> map;
  EXPECT_TRUE(map.empty());
  auto [value, added] = map.TryEmplace(7);
  EXPECT_TRUE(added);
  EXPECT_EQ(*value, "");
  *value = "seven";
  auto [again, added_again] = map.TryEmplace(7);
  EXPECT_FALSE(added_again);
  EXPECT_EQ(*again, "seven");
  EXPECT_EQ(map.size(), 1u);
  EXPECT_TRUE(map.Contains(7));
  EXPECT_FALSE(map.Contains(8));
  EXPECT_EQ(map.Find(0), nullptr);  // 0 is never an id
  EXPECT_EQ(map.Take(7), "seven");
  EXPECT_EQ(map.Take(7), std::nullopt);
  EXPECT_FALSE(map.Erase(7));
  EXPECT_TRUE(map.empty());
}

TEST(IdMapTest, ConsecutiveIdsAsAnEndHandsThemOut) {
  IdMap<std::string> map;
  std::map<uint64_t, std::string> model;
  // A window of 64 requests in flight sliding over 10,000 ids: ids leave in order.
  for (uint64_t id = 1; id <= 10000; ++id) {
    *map.TryEmplace(id).first = std::to_string(id);
    model[id] = std::to_string(id);
    if (id > 64) {
      EXPECT_EQ(map.Take(id - 64), std::to_string(id - 64));
      model.erase(id - 64);
    }
  }
  ExpectSame(map, model);
}

TEST(IdMapTest, MatchesAModelUnderRandomOperations) {
  // Ids drawn from a small range collide often, so runs wrap around the array's end and
  // removals shift entries back across it.
  for (uint64_t range : {40ull, 1000ull, ~0ull}) {
    std::mt19937_64 random(range);
    IdMap<std::string> map;
    std::map<uint64_t, std::string> model;
    for (int step = 0; step < 20000; ++step) {
      uint64_t id = random() % range + 1;
      switch (random() % 4) {
        case 0:
        case 1: {
          auto [value, added] = map.TryEmplace(id);
          EXPECT_EQ(added, model.count(id) == 0);
          *value = std::to_string(step);
          model[id] = *value;
          break;
        }
        case 2: {
          std::optional<std::string> taken = map.Take(id);
          auto it = model.find(id);
          ASSERT_EQ(taken.has_value(), it != model.end()) << "id " << id;
          if (taken) {
            EXPECT_EQ(*taken, it->second);
            model.erase(it);
          }
          break;
        }
        case 3:
          EXPECT_EQ(map.Erase(id), model.erase(id) == 1);
          break;
      }
      if (step % 1000 == 0) ExpectSame(map, model);
    }
    ExpectSame(map, model);
    map.Clear();
    EXPECT_TRUE(map.empty());
    EXPECT_EQ(map.Find(model.begin()->first), nullptr);
  }
}

TEST(IdMapTest, IdsChosenToCollideStayReachable) {
  // Ids that all hash to one home slot of the first array, as a hostile peer might choose.
  IdMap<std::string> map;
  std::vector<uint64_t> ids;
  for (uint64_t id = 1; ids.size() < 6; ++id) {
    if ((id * 0x9e3779b97f4a7c15ull) >> 60 == 3) ids.push_back(id);
  }
  for (uint64_t id : ids) *map.TryEmplace(id).first = std::to_string(id);
  // Removing from the middle of the run must leave the later ones findable.
  EXPECT_TRUE(map.Erase(ids[2]));
  EXPECT_TRUE(map.Erase(ids[0]));
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i == 0 || i == 2) {
      EXPECT_EQ(map.Find(ids[i]), nullptr);
    } else {
      ASSERT_NE(map.Find(ids[i]), nullptr) << "id " << ids[i];
      EXPECT_EQ(*map.Find(ids[i]), std::to_string(ids[i]));
    }
  }
}

}  // namespace
}  // namespace syslink::internal
