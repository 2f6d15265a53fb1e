#include "rpc/compiler/cpp_layout.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace syslink::rpc::compiler {
namespace {

// The width of the longest line of `text`.
int Widest(const std::string& text, int first_line_indent) {
  int widest = 0, column = first_line_indent;
  for (char c : text) {
    if (c == '\n') {
      column = 0;
    } else {
      widest = std::max(widest, ++column);
    }
  }
  return widest;
}

TEST(LayOutCallTest, KeepsWhatFitsOnOneLine) {
  EXPECT_EQ(LayOutCall(2, "absl::Status Get", {"const Key& key", "Value* value"}, ";"),
            "absl::Status Get(const Key& key, Value* value);");
}

TEST(LayOutCallTest, WritesEmptyParentheses) {
  EXPECT_EQ(LayOutCall(0, "Reset", {}, ";"), "Reset();");
}

TEST(LayOutCallTest, AlignsArgumentsWithTheParenthesisWhenTooLong) {
  const std::string a(45, 'a'), b(45, 'b');
  EXPECT_EQ(LayOutCall(0, "void Function", {a, b}, ";"),
            "void Function(" + a + ",\n              " + b + ");");
}

TEST(LayOutCallTest, PacksSeveralArgumentsOnAnAlignedLine) {
  const std::string a(50, 'a');
  EXPECT_EQ(LayOutCall(0, "f", {a, "x", "y", a}, ";"), "f(" + a + ", x, y,\n  " + a + ");");
}

TEST(LayOutCallTest, BreaksAfterTheParenthesisWhenAlignedLinesWouldNotFit) {
  const std::string head(60, 'h'), arg(50, 'a');
  EXPECT_EQ(LayOutCall(2, head, {arg, arg}, " {"),
            head + "(\n      " + arg + ",\n      " + arg + ") {");
}

TEST(LayOutCallTest, PutsTheValueOfAnAssignmentOnTheNextLineWhenThatFits) {
  const std::string arg(60, 'a');
  EXPECT_EQ(LayOutCall(2, "absl::Status status = channel_->Call", {arg, "request"}, ";"),
            "absl::Status status =\n      channel_->Call(" + arg + ", request);");
}

TEST(LayOutCallTest, UsesTheGivenSeparator) {
  EXPECT_EQ(LayOutCall(0, "static_assert", {"a", "b"}, ";", " =="), "static_assert(a == b);");
}

TEST(LayOutCallTest, LetsAnArgumentLongerThanALineOverflow) {
  const std::string arg(120, 'a');
  const std::string laid_out = LayOutCall(0, "f", {arg}, ";");
  EXPECT_EQ(laid_out, "f(\n    " + arg + ");");
}

TEST(LayOutCallTest, KeepsToTheColumnLimitWhenArgumentsFit) {
  std::vector<std::string> args(12, std::string(20, 'x'));
  const std::string laid_out = LayOutCall(4, "void SomeFunction", args, ";");
  EXPECT_LE(Widest(laid_out, 4), kMaxColumns);
}

TEST(LayOutFunctionTest, KeepsReturnTypeAndNameTogetherWhenTheyFit) {
  EXPECT_EQ(LayOutFunction(2, "absl::Status", "Get", {"int key"}, ";"),
            "absl::Status Get(int key);");
}

TEST(LayOutFunctionTest, PutsTheNameOnItsOwnLineAfterALongReturnType) {
  const std::string type = "absl::StatusOr<" + std::string(70, 'T') + ">";
  const std::string name(20, 'n');
  EXPECT_EQ(LayOutFunction(2, type, name, {"int key"}, ";"), type + "\n  " + name + "(int key);");
}

TEST(FormatCommentsTest, ReturnsNothingForNoComments) {
  EXPECT_EQ(FormatComments("", 2), "");
  EXPECT_EQ(FormatComments("\n \n", 2), "");
}

TEST(FormatCommentsTest, PrefixesEachLineAndIndents) {
  EXPECT_EQ(FormatComments(" Gets a value.\n NOT_FOUND if none.\n", 2),
            "  // Gets a value.\n  // NOT_FOUND if none.\n");
}

TEST(FormatCommentsTest, KeepsBlankLinesInsideAndDropsThemAround) {
  EXPECT_EQ(FormatComments("\n First.\n\n Second.  \n\n", 0), "// First.\n//\n// Second.\n");
}

TEST(FormatCommentsTest, AddsTheBlankAfterSlashesWhereTheCommentHasNone) {
  EXPECT_EQ(FormatComments("tight\n", 0), "// tight\n");
}

TEST(FormatCommentsTest, KeepsIndentationInsideTheComment) {
  EXPECT_EQ(FormatComments(" Example:\n   code();\n", 0), "// Example:\n//   code();\n");
}

TEST(FormatCommentsTest, EndsALineAtALoneCarriageReturn) {
  // A compiler ends a line at a lone CR: "int broken;" must not become code.
  EXPECT_EQ(FormatComments(" note\rint broken;\n", 2), "  // note\n  // int broken;\n");
  EXPECT_EQ(FormatComments(" crlf\r\n lines\r\n", 0), "// crlf\n// lines\n");
}

TEST(FormatCommentsTest, WritesABlockCommentWhenALineEndsInABackslash) {
  // In `//` lines the backslash would continue the comment onto the next line: after the
  // last, onto the declaration (and compilers warn of each, -Wcomment).
  EXPECT_EQ(FormatComments(" A path: C:\\\n Last: \\\n", 2),
            "  /*\n   * A path: C:\\\n   * Last: \\\n   */\n");
}

TEST(FormatCommentsTest, KeepsLineCommentsWhenTheTextHasBlockCommentMarks) {
  EXPECT_EQ(FormatComments(" Ends a /* block */ \\\n", 0), "// Ends a /* block */ \\\n//\n");
  EXPECT_EQ(FormatComments(" A \\\n middle */ line\n", 0), "// A \\\n// middle */ line\n");
}

}  // namespace
}  // namespace syslink::rpc::compiler
