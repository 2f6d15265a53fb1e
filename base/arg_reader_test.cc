#include "base/arg_reader.h"

#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace syslink {
namespace {

using ::testing::ElementsAre;
using ::testing::Optional;

// What a reader makes of `args`: "flag" for an option and its value if valued() says it
// takes one ("flag=value", "flag=<none>"), "operand:arg" for an operand, "+" marking a value
// that came attached.
std::vector<std::string> Read(const std::vector<std::string>& args,
                              bool (*valued)(const std::string&)) {
  std::vector<std::string> seen;
  ArgReader reader(args);
  while (reader.Next()) {
    if (!reader.is_option()) {
      seen.push_back("operand:" + reader.arg());
      continue;
    }
    std::string entry = reader.flag();
    if (valued(reader.flag())) {
      bool attached = reader.has_attached_value();
      std::optional<std::string> value = reader.Value();
      entry += value ? (attached ? "=+" : "=") + *value : "=<none>";
    } else if (reader.has_attached_value()) {
      entry += "=+" + *reader.Value();
    }
    seen.push_back(entry);
  }
  return seen;
}

bool AllValued(const std::string&) { return true; }
bool NameValued(const std::string& flag) { return flag == "--name"; }

TEST(ArgReaderTest, TakesAValueAfterAnEqualsSignOrAsTheNextArgument) {
  EXPECT_THAT(Read({"--name=a", "--name", "b", "--size=", "--size", ""}, AllValued),
              ElementsAre("--name=+a", "--name=b", "--size=+", "--size="));
}

TEST(ArgReaderTest, SplitsAtTheFirstEqualsSignOnly) {
  EXPECT_THAT(Read({"--expose=kv.Store=kv", "--expose", "a=b"}, AllValued),
              ElementsAre("--expose=+kv.Store=kv", "--expose=a=b"));
}

TEST(ArgReaderTest, ANextArgumentIsAValueWhateverItLooksLike) {
  EXPECT_THAT(Read({"--text", "-1", "--name", "--", "--name", "--name"}, AllValued),
              ElementsAre("--text=-1", "--name=--", "--name=--name"));
}

TEST(ArgReaderTest, SaysWhenAValueIsMissing) {
  EXPECT_THAT(Read({"--name"}, AllValued), ElementsAre("--name=<none>"));
  EXPECT_THAT(Read({"dir", "--name"}, NameValued), ElementsAre("operand:dir", "--name=<none>"));
}

TEST(ArgReaderTest, SwitchesAreReadAloneAndAnAttachedValueShows) {
  EXPECT_THAT(Read({"--json", "--name", "x", "-f", "--json=yes", "dir"}, NameValued),
              ElementsAre("--json", "--name=x", "-f", "--json=+yes", "operand:dir"));
}

TEST(ArgReaderTest, ShortOptionsAndOtherArgumentsDoNotSplit) {
  EXPECT_THAT(Read({"-oallow_other=1", "a=b", "-", "-x=1"}, NameValued),
              ElementsAre("-oallow_other=1", "operand:a=b", "operand:-", "-x=1"));
}

TEST(ArgReaderTest, EverythingAfterALoneDoubleDashIsAnOperand) {
  EXPECT_THAT(Read({"--json", "--", "--name=x", "--", "-f"}, NameValued),
              ElementsAre("--json", "operand:--name=x", "operand:--", "operand:-f"));
}

TEST(ArgReaderTest, AnEmptyCommandLineReadsNothing) {
  std::vector<std::string> none;
  ArgReader reader(none);
  EXPECT_FALSE(reader.Next());
  std::vector<std::string> dash_dash = {"--"};
  ArgReader only_dashes(dash_dash);
  EXPECT_FALSE(only_dashes.Next());
}

TEST(ArgReaderTest, AnAttachedValueIsTheSameOnEveryAsk) {
  std::vector<std::string> args = {"--name=a", "b"};
  ArgReader reader(args);
  ASSERT_TRUE(reader.Next());
  EXPECT_THAT(reader.Value(), Optional(std::string("a")));
  EXPECT_THAT(reader.Value(), Optional(std::string("a")));
  ASSERT_TRUE(reader.Next());
  EXPECT_FALSE(reader.is_option());
  EXPECT_EQ(reader.arg(), "b");
}

TEST(ArgReaderTest, RestIsWhatFollowsUnread) {
  std::vector<std::string> args = {"--service", "s", "cat", "-n", "--x=1"};
  ArgReader reader(args);
  ASSERT_TRUE(reader.Next());
  EXPECT_THAT(reader.Value(), Optional(std::string("s")));
  ASSERT_TRUE(reader.Next());
  EXPECT_FALSE(reader.is_option());
  EXPECT_THAT(reader.rest(), ElementsAre("-n", "--x=1"));
}

}  // namespace
}  // namespace syslink
