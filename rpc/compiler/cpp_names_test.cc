#include "rpc/compiler/cpp_names.h"

#include "gtest/gtest.h"

namespace syslink::rpc::compiler {
namespace {

TEST(IsCppKeywordTest, RecognizesKeywordsThatProtoNamesMeet) {
  for (const char* name : {"delete", "new", "class", "template", "operator", "namespace", "default",
                           "register", "union", "this", "export"}) {
    EXPECT_TRUE(IsCppKeyword(name)) << name;
  }
}

TEST(IsCppKeywordTest, RecognizesAlternativeTokens) {
  for (const char* name : {"and", "and_eq", "bitand", "bitor", "compl", "not", "not_eq", "or",
                           "or_eq", "xor", "xor_eq"}) {
    EXPECT_TRUE(IsCppKeyword(name)) << name;
  }
}

TEST(IsCppKeywordTest, RecognizesTheKeywordsOfCpp20) {
  for (const char* name : {"char8_t", "concept", "consteval", "constinit", "co_await", "co_return",
                           "co_yield", "requires"}) {
    EXPECT_TRUE(IsCppKeyword(name)) << name;
  }
}

TEST(IsCppKeywordTest, TreatsNullAsAKeywordAsProtobufDoes) {
  EXPECT_TRUE(IsCppKeyword("NULL"));
  EXPECT_FALSE(IsCppKeyword("Null"));
}

TEST(IsCppKeywordTest, IsCaseSensitive) {
  for (const char* name : {"Delete", "NEW", "Class", "Template"}) {
    EXPECT_FALSE(IsCppKeyword(name)) << name;
  }
}

TEST(IsCppKeywordTest, RejectsPrefixesExtensionsAndTheEmptyName) {
  for (const char* name : {"", "delete_", "del", "news", "classes", "co_", "xor_", "_and"}) {
    EXPECT_FALSE(IsCppKeyword(name)) << name;
  }
}

TEST(IsCppKeywordTest, RejectsIdentifiersThatOnlyLookSpecial) {
  // Not keywords: identifiers with a special meaning in some places, and library names.
  for (const char* name : {"final", "override", "import", "module", "std", "string", "main"}) {
    EXPECT_FALSE(IsCppKeyword(name)) << name;
  }
}

}  // namespace
}  // namespace syslink::rpc::compiler
