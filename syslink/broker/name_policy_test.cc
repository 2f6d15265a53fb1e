// NamePolicy: parsing a policy file, and which rule decides for a name.

#include "syslink/broker/name_policy.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace syslink::broker {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr uid_t kBroker = 0;

NamePolicy Parse(const std::string& text) {
  absl::StatusOr<NamePolicy> policy = NamePolicy::Parse(text, "test.policy", kBroker);
  EXPECT_TRUE(policy.ok()) << policy.status();
  return policy.ok() ? *std::move(policy) : NamePolicy::OwnerOnly(kBroker);
}

absl::Status ParseError(const std::string& text) {
  return NamePolicy::Parse(text, "test.policy", kBroker).status();
}

Credentials User(uid_t uid, gid_t gid = 100) { return {1234, uid, gid}; }

TEST(NamePolicyTest, WithoutAFileOnlyTheBrokersUidAndRootRegister) {
  NamePolicy policy = NamePolicy::OwnerOnly(1000);
  EXPECT_TRUE(policy.MayRegister("any.name", User(1000), {}).ok());
  EXPECT_TRUE(policy.MayRegister("any.name", User(0), {}).ok());
  absl::Status refused = policy.MayRegister("any.name", User(1001), {});
  EXPECT_EQ(refused.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(refused.message()),
              AllOf(HasSubstr("uid 1001"), HasSubstr("\"any.name\""), HasSubstr("--policy")));
}

TEST(NamePolicyTest, ExactRuleBeatsPrefixes) {
  NamePolicy policy = Parse("org.example.*  uid=1000\norg.example.echo  uid=2000\n");
  EXPECT_TRUE(policy.MayRegister("org.example.echo", User(2000), {}).ok());
  EXPECT_FALSE(policy.MayRegister("org.example.echo", User(1000), {}).ok());
  EXPECT_TRUE(policy.MayRegister("org.example.other", User(1000), {}).ok());
}

TEST(NamePolicyTest, LongestPrefixDecides) {
  NamePolicy policy = Parse("*  uid=1\norg.*  uid=2\norg.example.*  uid=3\n");
  EXPECT_TRUE(policy.MayRegister("org.example.x", User(3), {}).ok());
  EXPECT_FALSE(policy.MayRegister("org.example.x", User(2), {}).ok());
  EXPECT_TRUE(policy.MayRegister("org.other", User(2), {}).ok());
  EXPECT_TRUE(policy.MayRegister("net.thing", User(1), {}).ok());
}

TEST(NamePolicyTest, NameNoRuleCoversIsTheBrokers) {
  NamePolicy policy = Parse("org.example.*  uid=1000\n");
  absl::Status refused = policy.MayRegister("net.other", User(1000), {});
  EXPECT_EQ(refused.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(refused.message()),
              AllOf(HasSubstr("no rule"), HasSubstr("test.policy")));
  EXPECT_TRUE(policy.MayRegister("net.other", User(0), {}).ok());
}

TEST(NamePolicyTest, GroupsMatchPrimaryAndSupplementary) {
  NamePolicy policy = Parse("team.*  gid=4242\n");
  EXPECT_TRUE(policy.MayRegister("team.a", User(1000, 4242), {}).ok());
  gid_t groups[] = {10, 4242};
  EXPECT_TRUE(policy.MayRegister("team.a", User(1000, 100), groups).ok());
  EXPECT_FALSE(policy.MayRegister("team.a", User(1000, 100), {}).ok());
}

TEST(NamePolicyTest, RefusalNamesTheRuleAndWhomItAdmits) {
  NamePolicy policy = Parse("# owners\n\norg.example.echo  uid=1000 uid=1001 gid=27\n");
  absl::Status refused = policy.MayRegister("org.example.echo", User(2000), {});
  EXPECT_THAT(std::string(refused.message()),
              AllOf(HasSubstr("test.policy, line 3"), HasSubstr("\"org.example.echo\""),
                    HasSubstr("uids 1000, 1001; gid 27")));
}

TEST(NamePolicyTest, CommentsAndBlankLinesAreSkipped) {
  NamePolicy policy = Parse("# a comment\n   \n\tname.one uid=5 # trailing comment\n");
  EXPECT_EQ(policy.rules(), 1u);
  EXPECT_TRUE(policy.MayRegister("name.one", User(5), {}).ok());
}

TEST(NamePolicyTest, UserAndGroupNamesAreLookedUp) {
  NamePolicy policy = Parse("svc.*  user=root group=root\n");
  EXPECT_EQ(policy.rules(), 1u);
  EXPECT_THAT(std::string(ParseError("svc.* user=no-such-user-here\n").message()),
              HasSubstr("no user no-such-user-here"));
}

TEST(NamePolicyTest, BadRulesAreRefusedWithTheirLine) {
  struct Case {
    const char* text;
    const char* why;
  } cases[] = {
      {"org.example.echo\n", "names who may register"},
      {"org.*.echo uid=1\n", "'*' may only end a pattern"},
      {"bad!name uid=1\n", "a pattern is a service name"},
      {"org.x uid=abc\n", "is not uid=N"},
      {"org.x owner=1\n", "is not uid=N"},
      {"org.x uid=1\norg.x uid=2\n", "already has a rule on line 1"},
  };
  for (const Case& c : cases) {
    absl::Status status = ParseError(c.text);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_THAT(std::string(status.message()),
                AllOf(HasSubstr("test.policy, line"), HasSubstr(c.why)))
        << c.text;
  }
}

TEST(NamePolicyTest, MissingFileIsNotFound) {
  EXPECT_EQ(NamePolicy::Load("/nonexistent/broker.policy", kBroker).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace syslink::broker
