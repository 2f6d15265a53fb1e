#include "rpc/compiler/cpp_names.h"

#include <algorithm>
#include <iterator>

#include "absl/strings/string_view.h"

namespace syslink::rpc::compiler {
namespace {

// [lex.key] and [lex.digraph] of C++20, sorted for binary search; plus NULL, a macro that
// protobuf's ResolveKeyword() avoids too.
constexpr absl::string_view kKeywords[] = {
    "NULL",         "alignas",   "alignof",       "and",
    "and_eq",       "asm",       "auto",          "bitand",
    "bitor",        "bool",      "break",         "case",
    "catch",        "char",      "char16_t",      "char32_t",
    "char8_t",      "class",     "co_await",      "co_return",
    "co_yield",     "compl",     "concept",       "const",
    "const_cast",   "consteval", "constexpr",     "constinit",
    "continue",     "decltype",  "default",       "delete",
    "do",           "double",    "dynamic_cast",  "else",
    "enum",         "explicit",  "export",        "extern",
    "false",        "float",     "for",           "friend",
    "goto",         "if",        "inline",        "int",
    "long",         "mutable",   "namespace",     "new",
    "noexcept",     "not",       "not_eq",        "nullptr",
    "operator",     "or",        "or_eq",         "private",
    "protected",    "public",    "register",      "reinterpret_cast",
    "requires",     "return",    "short",         "signed",
    "sizeof",       "static",    "static_assert", "static_cast",
    "struct",       "switch",    "template",      "this",
    "thread_local", "throw",     "true",          "try",
    "typedef",      "typeid",    "typename",      "union",
    "unsigned",     "using",     "virtual",       "void",
    "volatile",     "wchar_t",   "while",         "xor",
    "xor_eq",
};

constexpr bool IsSorted() {
  for (size_t i = 1; i < std::size(kKeywords); ++i) {
    if (!(kKeywords[i - 1] < kKeywords[i])) return false;
  }
  return true;
}
static_assert(IsSorted(), "kKeywords must stay sorted for std::binary_search");

}  // namespace

bool IsCppKeyword(absl::string_view name) {
  return std::binary_search(std::begin(kKeywords), std::end(kKeywords), name);
}

}  // namespace syslink::rpc::compiler
