// Whom a file server checks and makes files for: a direct client as the broker attested it
// (supplementary groups included), and the caller a trusted client names in `on_behalf_of`
// (fs.proto) — and a client that is not trusted and claims anyway, refused. Over links
// whose server side is given a PeerIdentity, as the broker would attest it.
//
// Built three times: against memfs (caller_permission_test), and against the passthrough
// acting as each caller (passthrough_caller_permission_test, CALLER_TEST_PASSTHROUGH) and
// checking for each caller (..._checked_..., PASSTHROUGH_TEST_CHECK_ACCESS too).
//
// Identities: kAlice (in group kStaff too), kBob, kCarol (no other group); 0 is root.

#include <fcntl.h>
#include <sys/stat.h>

#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"

#ifdef CALLER_TEST_PASSTHROUGH
#include "examples/fs/passthrough/passthrough_testing.h"
#else
#include "examples/fs/memfs_testing.h"
#endif

namespace syslink::examples::fs {
namespace {

constexpr uid_t kCarol = 4545;

#ifdef CALLER_TEST_PASSTHROUGH
#ifdef PASSTHROUGH_TEST_CHECK_ACCESS
constexpr CallerAccess kAccess = CallerAccess::kCheckAsServer;
#else
constexpr CallerAccess kAccess = CallerAccess::kActAsCaller;
#endif
class Base : public PassthroughTest {
 protected:
  Base() : PassthroughTest(kAccess) {}
  uint64_t Refused() { return passthrough().claims_refused(); }
  // Checking for each caller, the server makes files as itself, for every caller.
  bool OwnsForCaller() const { return acts_as_caller(); }
};
#else
class Base : public MemFsTest {
 protected:
  uint64_t Refused() { return memfs_->claims_refused(); }
  bool OwnsForCaller() const { return true; }
};
#endif

OnBehalfOf Claim(uid_t uid, gid_t gid, std::vector<gid_t> groups = {}) {
  OnBehalfOf claim;
  claim.set_uid(uid);
  claim.set_gid(gid);
  for (gid_t group : groups) claim.add_groups(group);
  claim.set_pid(12345);
  return claim;
}

class CallerPermissionTest : public Base {
 protected:
  void SetUp() override {
    Base::SetUp();
    if (in_process()) GTEST_SKIP() << "an in-process caller is always this process";
    root_ = ConnectAs(0, 0);
    alice_ = ConnectAs(kAlice, kAlice, {kStaff});
    carol_ = ConnectAs(kCarol, kCarol);
    shared_ = Ok(root_->Mkdir(kRootIno, "shared", 0777)).ino();
  }
  void TearDown() override {
    root_.reset();
    alice_.reset();
    carol_.reset();
    Base::TearDown();
  }

  // A file root makes in the shared directory and gives to `uid`:`gid` with `mode`.
  uint64_t GivenFile(const std::string& name, uid_t uid, gid_t gid, uint32_t mode) {
    FsClient::Created created = Ok(root_->Create(shared_, name, 0600, O_WRONLY | O_EXCL));
    EXPECT_TRUE(root_->Release(created.entry.ino(), created.fh).ok());
    SetAttrRequest chown;
    chown.set_ino(created.entry.ino());
    chown.set_valid(SET_ATTR_UID | SET_ATTR_GID);
    chown.set_uid(uid);
    chown.set_gid(gid);
    EXPECT_TRUE(root_->SetAttr(chown).ok());
    SetAttrRequest chmod;
    chmod.set_ino(created.entry.ino());
    chmod.set_valid(SET_ATTR_MODE);
    chmod.set_mode(mode);
    EXPECT_TRUE(root_->SetAttr(chmod).ok());
    return created.entry.ino();
  }

  // Opens `ino` for reading as `client` and closes it again.
  static std::string OpenForReading(FsClient& client, uint64_t ino) {
    absl::StatusOr<uint64_t> fh = client.Open(ino, O_RDONLY);
    if (fh.ok()) (void)client.Release(ino, *fh);
    return Errno(fh);
  }

  static absl::StatusOr<Attr> Chgrp(FsClient& client, uint64_t ino, gid_t gid) {
    SetAttrRequest request;
    request.set_ino(ino);
    request.set_valid(SET_ATTR_GID);
    request.set_gid(gid);
    return client.SetAttr(request);
  }

  static absl::StatusOr<Attr> Chown(FsClient& client, uint64_t ino, uid_t uid) {
    SetAttrRequest request;
    request.set_ino(ino);
    request.set_valid(SET_ATTR_UID);
    request.set_uid(uid);
    return client.SetAttr(request);
  }

  static absl::StatusOr<Attr> Chmod(FsClient& client, uint64_t ino, uint32_t mode) {
    SetAttrRequest request;
    request.set_ino(ino);
    request.set_valid(SET_ATTR_MODE);
    request.set_mode(mode);
    return client.SetAttr(request);
  }

  std::unique_ptr<FsClient> root_, alice_, carol_;
  uint64_t shared_ = 0;
};

TEST_P(CallerPermissionTest, ASupplementaryGroupGrantsGroupPermission) {
  const uint64_t file = GivenFile("g", kBob, kStaff, 0640);
  EXPECT_EQ(OpenForReading(*alice_, file), "OK");
  EXPECT_EQ(OpenForReading(*carol_, file), "EACCES");
}

TEST_P(CallerPermissionTest, AnOwnerMayGiveAFileToItsSupplementaryGroupOnly) {
  const uint64_t file = GivenFile("a", kAlice, kAlice, 0644);
  EXPECT_EQ(Ok(Chgrp(*alice_, file, kStaff)).gid(), kStaff);
  EXPECT_EQ(Errno(Chgrp(*alice_, file, 9999)), "EPERM");
  EXPECT_EQ(Ok(alice_->GetAttr(file)).gid(), kStaff);
}

TEST_P(CallerPermissionTest, OnlyRootGivesAFileToAnotherUser) {
  const uint64_t file = GivenFile("a", kAlice, kAlice, 0644);
  EXPECT_EQ(Errno(Chown(*alice_, file, kBob)), "EPERM");
  EXPECT_EQ(Ok(alice_->GetAttr(file)).uid(), kAlice);
  EXPECT_EQ(Ok(Chown(*alice_, file, kAlice)).uid(), kAlice);  // unchanged: hers to "change"
  EXPECT_EQ(Ok(Chown(*root_, file, kBob)).uid(), kBob);
}

TEST_P(CallerPermissionTest, OnlyTheOwnerChangesAFilesGroup) {
  const uint64_t file = GivenFile("a", kBob, kBob, 0666);
  EXPECT_EQ(Errno(Chgrp(*alice_, file, kStaff)), "EPERM");  // her group, not her file
  EXPECT_EQ(Errno(Chgrp(*alice_, file, kBob)), "EPERM");    // not even to the same group
  EXPECT_EQ(Ok(alice_->GetAttr(file)).gid(), kBob);
}

TEST_P(CallerPermissionTest, ChmodOutsideTheFilesGroupDropsSetGid) {
  const uint64_t file = GivenFile("a", kAlice, kCarol, 0644);  // a group she is not in
  EXPECT_EQ(Ok(Chmod(*alice_, file, 06755)).mode(), S_IFREG | 04755u);
  const uint64_t staff = GivenFile("b", kAlice, kStaff, 0644);  // a group she is in
  EXPECT_EQ(Ok(Chmod(*alice_, staff, 06755)).mode(), S_IFREG | 06755u);
  EXPECT_EQ(Ok(Chmod(*root_, file, 06755)).mode(), S_IFREG | 06755u);
}

TEST_P(CallerPermissionTest, ChownByTheOwnerDropsSetIdBits) {
  const uint64_t file = GivenFile("a", kAlice, kAlice, 06755);
  EXPECT_EQ(Ok(Chgrp(*alice_, file, kStaff)).mode(), S_IFREG | 0755u);
}

TEST_P(CallerPermissionTest, InitSaysWhetherTheServerBelievesThisClient) {
  EXPECT_TRUE(Ok(root_->Init()).acts_for_others());
  EXPECT_FALSE(Ok(alice_->Init()).acts_for_others());
}

TEST_P(CallerPermissionTest, NewFilesOfATrustedClientBelongToTheCallerItNames) {
  if (!OwnsForCaller()) GTEST_SKIP() << "new files belong to the server's user";
  root_->set_on_behalf_of(Claim(kCarol, kCarol));
  Entry dir = Ok(root_->Mkdir(shared_, "d", 0755));
  EXPECT_EQ(dir.attr().uid(), kCarol);
  EXPECT_EQ(dir.attr().gid(), kCarol);
  FsClient::Created file = Ok(root_->Create(dir.ino(), "f", 0644, O_WRONLY | O_EXCL));
  EXPECT_EQ(file.entry.attr().uid(), kCarol);
  ASSERT_TRUE(root_->Release(file.entry.ino(), file.fh).ok());
  Entry fifo = Ok(root_->Mknod(dir.ino(), "p", S_IFIFO | 0600));
  EXPECT_EQ(fifo.attr().uid(), kCarol);
  Entry link = Ok(root_->Symlink(dir.ino(), "s", "f"));
  EXPECT_EQ(link.attr().uid(), kCarol);
}

TEST_P(CallerPermissionTest, ATrustedClientIsCheckedAsTheCallerItNames) {
  const uint64_t bobs = GivenFile("bobs", kBob, kBob, 0644);
  root_->set_on_behalf_of(Claim(kCarol, kCarol));
  EXPECT_EQ(Errno(Chgrp(*root_, bobs, kCarol)), "EPERM");
  EXPECT_EQ(Errno(root_->Open(bobs, O_WRONLY)), "EACCES");
  SetAttrRequest truncate;
  truncate.set_ino(bobs);
  truncate.set_valid(SET_ATTR_SIZE);
  EXPECT_EQ(Errno(root_->SetAttr(truncate)), "EACCES");
  root_->set_on_behalf_of(Claim(kBob, kBob));
  EXPECT_EQ(Errno(root_->SetAttr(truncate)), "OK");
}

// Fallocate changes a file as a write does: the set-ID bits go for the caller named, not
// for the trusted client (root) that names it.
TEST_P(CallerPermissionTest, ATrustedClientsFallocateIsTheCallersItNames) {
  const uint64_t file = GivenFile("s", kBob, kBob, 06777);
  const uint64_t fh = Ok(root_->Open(file, O_RDWR));
  root_->set_on_behalf_of(Claim(kCarol, kCarol));
  ASSERT_EQ(Errno(root_->Fallocate(file, fh, FALLOCATE_KEEP_SIZE, 0, 8192)), "OK");
  EXPECT_EQ(Ok(root_->GetAttr(file)).mode(), S_IFREG | 0777u);
  root_->set_on_behalf_of(std::nullopt);
  EXPECT_TRUE(root_->Release(file, fh).ok());
}

TEST_P(CallerPermissionTest, AnUntrustedClientClaimingOnFallocateIsRefusedAndNothingIsDone) {
  const uint64_t file = GivenFile("s", kAlice, kAlice, 06777);
  const uint64_t fh = Ok(alice_->Open(file, O_RDWR));
  alice_->set_on_behalf_of(Claim(0, 0));
  EXPECT_EQ(alice_->Fallocate(file, fh, FALLOCATE_ALLOCATE, 0, 8192).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Refused(), 1u);
  alice_->set_on_behalf_of(std::nullopt);
  const Attr attr = Ok(alice_->GetAttr(file));
  EXPECT_EQ(attr.size(), 0u);
  EXPECT_EQ(attr.mode(), S_IFREG | 06777u);
  EXPECT_TRUE(alice_->Release(file, fh).ok());
}

TEST_P(CallerPermissionTest, AClaimedCallersSupplementaryGroupsCount) {
  const uint64_t file = GivenFile("g", kBob, kStaff, 0640);
  root_->set_on_behalf_of(Claim(kCarol, kCarol));
  EXPECT_EQ(OpenForReading(*root_, file), "EACCES");
  root_->set_on_behalf_of(Claim(kCarol, kCarol, {kStaff}));
  EXPECT_EQ(OpenForReading(*root_, file), "OK");
}

TEST_P(CallerPermissionTest, AnUntrustedClientThatClaimsIsRefusedAndNothingIsDone) {
  alice_->set_on_behalf_of(Claim(0, 0));
  absl::StatusOr<Entry> made = alice_->Mkdir(shared_, "x", 0755);
  EXPECT_EQ(made.status().code(), absl::StatusCode::kPermissionDenied) << made.status();
  EXPECT_EQ(alice_->Create(shared_, "y", 0644, O_RDWR).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Refused(), 2u);
  alice_->set_on_behalf_of(std::nullopt);
  EXPECT_EQ(Errno(alice_->Lookup(shared_, "x")), "ENOENT");
  EXPECT_EQ(Errno(alice_->Lookup(shared_, "y")), "ENOENT");
  // Its own calls, as itself, go on as before.
  Entry own = Ok(alice_->Mkdir(shared_, "own", 0755));
  if (OwnsForCaller()) {
    EXPECT_EQ(own.attr().uid(), kAlice);
  }
}

TEST_P(CallerPermissionTest, AnUntrustedClientClaimingItselfIsRefusedToo) {
  alice_->set_on_behalf_of(Claim(kAlice, kAlice, {kStaff}));
  EXPECT_EQ(alice_->Mkdir(shared_, "x", 0755).status().code(), absl::StatusCode::kPermissionDenied);
}

INSTANTIATE_TEST_SUITE_P(Transports, CallerPermissionTest,
                         ::testing::Values(Transport::kLink, Transport::kLinkWorkers),
                         TransportName);

}  // namespace
}  // namespace syslink::examples::fs
