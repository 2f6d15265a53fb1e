#include "rpc/compiler/cpp_layout.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace syslink::rpc::compiler {
namespace {

// Appends `args`, each but the last followed by `separator`, then ")" and `tail`, to `out`,
// whose last line ends at column `column` with nothing after its '(' yet. Packs as many arguments
// on a line as fit; a new line starts at column `continuation`. Returns whether every line fits in
// kMaxColumns.
bool PackArguments(const std::vector<std::string>& args, absl::string_view separator,
                   absl::string_view tail, int column, int continuation, std::string* out) {
  bool fits = true;
  bool line_has_argument = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string piece =
        i + 1 < args.size() ? absl::StrCat(args[i], separator) : absl::StrCat(args[i], ")", tail);
    const int width = static_cast<int>(piece.size());
    if (!line_has_argument) {
      absl::StrAppend(out, piece);
      column += width;
    } else if (column + 1 + width <= kMaxColumns) {
      absl::StrAppend(out, " ", piece);
      column += 1 + width;
    } else {
      absl::StrAppend(out, "\n", std::string(continuation, ' '), piece);
      column = continuation + width;
    }
    line_has_argument = true;
    fits = fits && column <= kMaxColumns;
  }
  return fits;
}

}  // namespace

std::string LayOutCall(int indent, absl::string_view head, const std::vector<std::string>& args,
                       absl::string_view tail, absl::string_view separator) {
  std::string one_line =
      absl::StrCat(head, "(", absl::StrJoin(args, absl::StrCat(separator, " ")), ")", tail);
  if (args.empty() || indent + static_cast<int>(one_line.size()) <= kMaxColumns) {
    return one_line;
  }
  if (const size_t assignment = head.find(" = "); assignment != absl::string_view::npos) {
    const absl::string_view value = absl::string_view(one_line).substr(assignment + 3);
    if (indent + 4 + static_cast<int>(value.size()) <= kMaxColumns) {
      return absl::StrCat(head.substr(0, assignment), " =\n", std::string(indent + 4, ' '), value);
    }
  }
  const int aligned_column = indent + static_cast<int>(head.size()) + 1;
  std::string aligned = absl::StrCat(head, "(");
  if (aligned_column <= kMaxColumns &&
      PackArguments(args, separator, tail, aligned_column, aligned_column, &aligned)) {
    return aligned;
  }
  const int continuation = indent + 4;
  std::string broken = absl::StrCat(head, "(\n", std::string(continuation, ' '));
  PackArguments(args, separator, tail, continuation, continuation, &broken);
  return broken;
}

std::string LayOutFunction(int indent, absl::string_view return_type, absl::string_view name,
                           const std::vector<std::string>& args, absl::string_view tail) {
  const std::string head = absl::StrCat(return_type, " ", name);
  if (indent + static_cast<int>(head.size()) + 1 <= kMaxColumns) {
    return LayOutCall(indent, head, args, tail);
  }
  return absl::StrCat(return_type, "\n", std::string(indent, ' '),
                      LayOutCall(indent, name, args, tail));
}

std::string FormatComments(absl::string_view comments, int indent) {
  // A lone CR ends a line too: a compiler would take what follows it out of the comment.
  const std::string text = absl::StrReplaceAll(comments, {{"\r\n", "\n"}});
  std::vector<absl::string_view> lines = absl::StrSplit(text, absl::ByAnyChar("\r\n"));
  for (absl::string_view& line : lines) line = absl::StripTrailingAsciiWhitespace(line);
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  size_t first = 0;
  while (first < lines.size() && lines[first].empty()) ++first;

  // A backslash at the end of a line continues it onto the next: in a `//` comment it
  // splices in the next line (after the last line, the declaration itself), and compilers
  // warn of every one (-Wcomment). Such a comment becomes a block comment, which a
  // continued line cannot leave; unless its text has a block comment's marks.
  bool continued = false;
  bool block_marks = false;
  for (size_t i = first; i < lines.size(); ++i) {
    continued |= absl::EndsWith(lines[i], "\\");
    block_marks |= absl::StrContains(lines[i], "*/") || absl::StrContains(lines[i], "/*");
  }
  const std::string margin(indent, ' ');
  const bool block = continued && !block_marks;
  std::string formatted = block ? margin + "/*\n" : "";
  for (size_t i = first; i < lines.size(); ++i) {
    // A comment's text usually starts with the blank after "//"; add one where it does not.
    const absl::string_view separator =
        lines[i].empty() || absl::ascii_isspace(static_cast<unsigned char>(lines[i][0])) ? "" : " ";
    absl::StrAppend(&formatted, margin, block ? " *" : "//", separator, lines[i], "\n");
  }
  if (block) {
    absl::StrAppend(&formatted, margin, " */\n");
  } else if (absl::EndsWith(formatted, "\\\n")) {
    // The last line would take the declaration with it: an empty line takes the splice.
    absl::StrAppend(&formatted, margin, "//\n");
  }
  return formatted;
}

}  // namespace syslink::rpc::compiler
