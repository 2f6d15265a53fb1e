// Method tables in the control protocol: what CheckMethodTable lets through, and that a
// table, the names in a listing and a new link's client groups survive encoding. Hostile tables
// sent to a live broker are in tests/broker_malformed_message_test.cc.

#include "syslink/broker/control_messages.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace syslink::broker {
namespace {

using ::testing::HasSubstr;

TEST(MethodTableTest, AcceptsGeneratedNames) {
  std::vector<MethodName> methods = {
      {1, "kv.Store/Get"}, {2, "grpc.health.v1.Health/Check"}, {3, "Flat/Method_2"}};
  EXPECT_TRUE(CheckMethodTable(methods).ok());
}

TEST(MethodTableTest, AcceptsAnEmptyTable) { EXPECT_TRUE(CheckMethodTable({}).ok()); }

TEST(MethodTableTest, AcceptsTheLargestTable) {
  std::vector<MethodName> methods;
  for (size_t i = 0; i < kMaxMethods; ++i) {
    methods.push_back({static_cast<uint32_t>(i + 1), absl::StrCat("a.B/M", i)});
  }
  EXPECT_TRUE(CheckMethodTable(methods).ok());
}

TEST(MethodTableTest, RefusesOneEntryTooMany) {
  std::vector<MethodName> methods;
  for (size_t i = 0; i <= kMaxMethods; ++i) {
    methods.push_back({static_cast<uint32_t>(i + 1), absl::StrCat("a.B/M", i)});
  }
  absl::Status s = CheckMethodTable(methods);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("at most 1024 entries; this one has 1025"));
}

TEST(MethodTableTest, RefusesADotInTheMethodPart) {
  absl::Status s = CheckMethodTable(std::vector<MethodName>{{1, "a.B/M.x"}});
  EXPECT_THAT(s.message(), HasSubstr("entry 0: \"a.B/M.x\" is not a method name"));
}

TEST(MethodTableTest, RefusesASpaceInTheServicePart) {
  EXPECT_FALSE(CheckMethodTable(std::vector<MethodName>{{1, "a B/M"}}).ok());
}

TEST(MethodTableTest, NamesTheDuplicatedId) {
  absl::Status s = CheckMethodTable(std::vector<MethodName>{{9, "a.B/M"}, {9, "a.B/N"}});
  EXPECT_THAT(s.message(), HasSubstr("names id 9 more than once"));
}

TEST(MethodTableTest, SurvivesARegisterRoundTrip) {
  RegisterRequest request{.name = "kv", .methods = {{4, "kv.Store/Get"}, {5, "kv.Store/Put"}}};
  absl::StatusOr<RegisterRequest> decoded = DecodeRegister(EncodeRegister(request));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->methods.size(), 2u);
  EXPECT_EQ(decoded->methods[1].id, 5u);
  EXPECT_EQ(decoded->methods[1].name, "kv.Store/Put");
}

TEST(MethodTableTest, DecodeRegisterRefusesABadTableNamingTheService) {
  RegisterRequest request{.name = "kv", .methods = {{0, "kv.Store/Get"}}};
  absl::StatusOr<RegisterRequest> decoded = DecodeRegister(EncodeRegister(request));
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(decoded.status().message(), HasSubstr("service \"kv\": method table entry 0"));
}

TEST(ListingTest, CarriesAPendingRequestsMethodName) {
  Listing listing;
  LinkListing& link = listing.links.emplace_back();
  link.service = "kv";
  link.pending[0].push_back({.id = 7, .command = 4, .method = "kv.Store/Get"});
  link.pending[0].push_back({.id = 8, .command = 5});
  absl::StatusOr<Listing> decoded = DecodeListing(EncodeListing(listing));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->links.size(), 1u);
  ASSERT_EQ(decoded->links[0].pending[0].size(), 2u);
  EXPECT_EQ(decoded->links[0].pending[0][0].method, "kv.Store/Get");
  EXPECT_EQ(decoded->links[0].pending[0][1].method, "");
}

TEST(ListingTest, EncodedSizeIsTheSumOfItsParts) {
  Listing listing;
  EXPECT_EQ(EncodeListing(listing).size(), kEmptyListingBytes);
  ServiceListing& service = listing.services.emplace_back();
  service.name = "kv";
  service.policy = "same user";
  LinkListing& link = listing.links.emplace_back();
  link.service = "kv";
  link.pending[0].push_back({.id = 7, .command = 4, .method = "kv.Store/Get"});
  link.pending[1].push_back({.id = 8, .command = 5});
  listing.links.emplace_back().service = "other";
  uint64_t parts = kEmptyListingBytes + EncodedListingBytes(service);
  for (const LinkListing& l : listing.links) parts += EncodedListingBytes(l);
  EXPECT_EQ(EncodedListingBytes(listing), parts);
  EXPECT_EQ(EncodeListing(listing).size(), parts);
}

TEST(AnswerTest, RefusesAListingLargerThanTheLimit) {
  EXPECT_TRUE(DecodeAnswer(EncodeAnswer({.listing_bytes = kMaxListingBytes})).ok());
  EXPECT_EQ(DecodeAnswer(EncodeAnswer({.listing_bytes = kMaxListingBytes + 1})).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(NewLinkTest, CarriesTheClientsGroups) {
  NewLinkEvent event{.service = "kv", .client = {12, 1000, 100}, .client_groups = {4, 27, 1000}};
  absl::StatusOr<NewLinkEvent> decoded = DecodeNewLink(EncodeNewLink(event));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->client.uid, 1000u);
  EXPECT_THAT(decoded->client_groups, ::testing::ElementsAre(4, 27, 1000));
}

TEST(NewLinkTest, CarriesAtMostTheFirstMaxClientGroups) {
  NewLinkEvent event{.service = "kv"};
  for (gid_t gid = 0; gid < kMaxClientGroups + 10; ++gid) event.client_groups.push_back(gid);
  absl::StatusOr<NewLinkEvent> decoded = DecodeNewLink(EncodeNewLink(event));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->client_groups.size(), kMaxClientGroups);
  EXPECT_EQ(decoded->client_groups.back(), kMaxClientGroups - 1);
}

}  // namespace
}  // namespace syslink::broker
