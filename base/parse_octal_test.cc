#include "base/parse_octal.h"

#include "gtest/gtest.h"

namespace syslink {
namespace {

TEST(ParseOctalTest, ReadsOctalUpToTheLimit) {
  uint32_t value = 1;
  EXPECT_TRUE(ParseOctal("600", 0777, &value));
  EXPECT_EQ(value, 0600u);
  EXPECT_TRUE(ParseOctal("0755", 0777, &value));
  EXPECT_EQ(value, 0755u);
  EXPECT_TRUE(ParseOctal("0", 0777, &value));
  EXPECT_EQ(value, 0u);
  EXPECT_TRUE(ParseOctal("7777", 07777, &value));
  EXPECT_EQ(value, 07777u);
}

TEST(ParseOctalTest, RefusesWhatIsNotOctalOrTooLarge) {
  uint32_t value = 42;
  for (const char* text : {"", "9", "78", "abc", "600x", "1000"}) {
    EXPECT_FALSE(ParseOctal(text, 0777, &value)) << text;
  }
  EXPECT_EQ(value, 42u);  // untouched
}

}  // namespace
}  // namespace syslink
