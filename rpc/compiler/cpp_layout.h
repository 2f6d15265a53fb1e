// How generated C++ is laid out: comments copied from a .proto, and calls and declarations
// wrapped to the column limit the way clang-format's Google style would wrap them.
//
//   LayOutCall(2, "absl::Status Get", {"const Key& key", "Value* value"}, ";")
//     == "absl::Status Get(const Key& key, Value* value);"        (fits on one line)
//
// Thread safety: pure functions.

#ifndef SYSLINK_RPC_COMPILER_CPP_LAYOUT_H_
#define SYSLINK_RPC_COMPILER_CPP_LAYOUT_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace syslink::rpc::compiler {

// The column limit generated code keeps to where it can (an argument longer than a line
// overflows it).
inline constexpr int kMaxColumns = 100;

// Returns `head(args...)tail` for text that starts at column `indent` (the caller prints
// the indentation of the first line; continuation lines carry their own):
//   - on one line, if it fits;
//   - else, for `x = f(...)`, with the value on one line of its own after " =";
//   - else with the arguments packed after '(' and aligned with it, if every line fits;
//   - else broken after '(' and packed on lines indented four columns more than `indent`.
// `separator` follows every argument but the last (then a blank, or a line break).
std::string LayOutCall(int indent, absl::string_view head, const std::vector<std::string>& args,
                       absl::string_view tail, absl::string_view separator = ",");

// Like LayOutCall() for a function's declaration or definition, `return_type name(args...)tail`,
// but puts `name` on a line of its own (at `indent`) when the line up to '(' would not fit.
std::string LayOutFunction(int indent, absl::string_view return_type, absl::string_view name,
                           const std::vector<std::string>& args, absl::string_view tail);

// Returns the leading comments of a .proto element (as SourceLocation::leading_comments
// holds them) as `//` lines indented by `indent` spaces, each ending in '\n'; trailing
// blanks are dropped. Empty when there are no comments. A comment with a line that ends in
// a backslash (a line continuation in C++) is a block comment instead, `/*` and ` */` on
// lines of their own and each line after ` *`; or, if its text holds `/*` or `*/`, `//`
// lines with an empty one after a last line that ends in a backslash.
std::string FormatComments(absl::string_view comments, int indent);

}  // namespace syslink::rpc::compiler

#endif  // SYSLINK_RPC_COMPILER_CPP_LAYOUT_H_
