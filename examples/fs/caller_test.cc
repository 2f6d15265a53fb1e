// CallerTrust: whom a file server believes when a client says it calls for another user.

#include "examples/fs/caller.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc/server.h"

namespace syslink::examples::fs {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

rpc::PeerIdentity Peer(uid_t uid, gid_t gid, std::vector<gid_t> groups = {}) {
  return {.pid = 77,
          .uid = uid,
          .gid = gid,
          .groups = std::make_shared<const std::vector<gid_t>>(std::move(groups))};
}

OnBehalfOf Claim(uid_t uid, gid_t gid, std::vector<gid_t> groups = {}) {
  OnBehalfOf claim;
  claim.set_uid(uid);
  claim.set_gid(gid);
  for (gid_t group : groups) claim.add_groups(group);
  claim.set_pid(99);
  return claim;
}

TEST(CallerTest, InGroupCountsThePrimaryAndSupplementaryGroups) {
  const Caller caller{.uid = 10, .gid = 20, .groups = {30, 40}};
  EXPECT_TRUE(caller.InGroup(20));
  EXPECT_TRUE(caller.InGroup(40));
  EXPECT_FALSE(caller.InGroup(10));
}

TEST(CallerTrustTest, WithoutAClaimTheCallerIsThePeerWithItsGroups) {
  CallerTrust trust;
  absl::StatusOr<Caller> caller = trust.Resolve(Peer(1000, 100, {7, 8}), nullptr);
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->uid, 1000u);
  EXPECT_EQ(caller->gid, 100u);
  EXPECT_THAT(caller->groups, ElementsAre(7, 8));
}

TEST(CallerTrustTest, APeerWithoutKnownGroupsHasNone) {
  CallerTrust trust;
  absl::StatusOr<Caller> caller = trust.Resolve({.pid = 1, .uid = 5, .gid = 6}, nullptr);
  ASSERT_TRUE(caller.ok());
  EXPECT_TRUE(caller->groups.empty());
}

TEST(CallerTrustTest, RootIsBelievedWhenItCallsForAnother) {
  CallerTrust trust;
  const OnBehalfOf claim = Claim(1000, 100, {27});
  absl::StatusOr<Caller> caller = trust.Resolve(Peer(0, 0), &claim);
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->uid, 1000u);
  EXPECT_EQ(caller->gid, 100u);
  EXPECT_THAT(caller->groups, ElementsAre(27));
  EXPECT_EQ(trust.refused(), 0u);
}

TEST(CallerTrustTest, ATrustedUidIsBelieved) {
  CallerTrust trust({1000});
  const OnBehalfOf claim = Claim(2000, 200);
  absl::StatusOr<Caller> caller = trust.Resolve(Peer(1000, 100), &claim);
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->uid, 2000u);
  EXPECT_TRUE(trust.Trusts(Peer(1000, 100)));
}

TEST(CallerTrustTest, AnUntrustedClaimIsPermissionDeniedAndCounted) {
  CallerTrust trust({1000}, "memfs");
  const OnBehalfOf claim = Claim(0, 0);
  absl::StatusOr<Caller> caller = trust.Resolve(Peer(2000, 200), &claim);
  EXPECT_EQ(caller.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(caller.status().message(), HasSubstr("uid 2000"));
  EXPECT_EQ(trust.refused(), 1u);
}

TEST(CallerTrustTest, AnUntrustedPeerClaimingItselfIsRefusedToo) {
  CallerTrust trust;
  const OnBehalfOf claim = Claim(2000, 200);
  EXPECT_EQ(trust.Resolve(Peer(2000, 200), &claim).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(CallerTrustTest, ARemotePeerIsNeverTrusted) {
  CallerTrust trust({rpc::kNoUid});
  const OnBehalfOf claim = Claim(0, 0);
  EXPECT_FALSE(trust.Trusts(rpc::RemotePeer()));
  EXPECT_EQ(trust.Resolve(rpc::RemotePeer(), &claim).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(CallerTrustTest, EveryRefusalIsCountedEvenWhenNotLogged) {
  CallerTrust trust;
  const OnBehalfOf claim = Claim(0, 0);
  for (int i = 0; i < 100; ++i) (void)trust.Resolve(Peer(3000, 300), &claim);
  EXPECT_EQ(trust.refused(), 100u);
}

}  // namespace
}  // namespace syslink::examples::fs
