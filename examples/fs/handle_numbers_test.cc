#include "examples/fs/handle_numbers.h"

#include <cstdint>
#include <set>

#include "gtest/gtest.h"

namespace syslink::examples::fs {
namespace {

TEST(HandleNumbersTest, NumbersAreNeverZeroAndDoNotRepeat) {
  HandleNumbers numbers;
  std::set<uint64_t> seen;
  for (int i = 0; i < 5000; ++i) {  // several refills
    const uint64_t number = numbers.Next();
    EXPECT_NE(number, 0u);
    EXPECT_TRUE(seen.insert(number).second) << number;
  }
}

TEST(HandleNumbersTest, NumbersFollowNoCount) {
  // Counted numbers would leave the high half of every bit pattern unused; random ones
  // set about half of the 64 bits.
  HandleNumbers numbers;
  int bits = 0;
  for (int i = 0; i < 1000; ++i) bits += __builtin_popcountll(numbers.Next());
  EXPECT_GT(bits, 1000 * 24);
  EXPECT_LT(bits, 1000 * 40);
  HandleNumbers other;
  EXPECT_NE(numbers.Next(), other.Next());
}

}  // namespace
}  // namespace syslink::examples::fs
