// A MemFs served to FsClients over each transport, for the memfs tests: in process, over a
// link served on the link's thread, and over a link served by a worker pool. Every test of
// a TEST_P(MemFsTest, ...) suite runs on all three.
//
//   TEST_P(MemFsTest, MkdirMakesADirectory) {
//     EXPECT_EQ(Errno(fs().Mkdir(kRootIno, "d", 0755)), "OK");
//   }
//
// Callers: fs() is this process's identity (its uid and gid: the root directory's owner).
// ConnectAs() gives a client with another identity, over a link (the server sees the
// PeerIdentity given to ServeLink). An in-process caller is always this process, so tests
// that need another identity GTEST_SKIP() when in_process().
//
// Another server of the file service reuses the suite by overriding service().

#ifndef SYSLINK_EXAMPLES_FS_MEMFS_TESTING_H_
#define SYSLINK_EXAMPLES_FS_MEMFS_TESTING_H_

#include <sys/types.h>

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "examples/fs/fs_client.h"
#include "examples/fs/memfs_service.h"
#include "gtest/gtest.h"
#include "rpc/server.h"

namespace syslink::examples::fs {

enum class Transport { kInProcess, kLink, kLinkWorkers };

// Every transport, for INSTANTIATE_TEST_SUITE_P(..., ::testing::ValuesIn(kAllTransports), ...).
inline constexpr Transport kAllTransports[] = {Transport::kInProcess, Transport::kLink,
                                               Transport::kLinkWorkers};

std::string TransportName(const ::testing::TestParamInfo<Transport>& info);
// For GoogleTest's messages: "Link" rather than "4-byte object <01-00 00-00>".
void PrintTo(Transport transport, std::ostream* out);

// Uids and gids of other users: not this process's, whoever runs the tests.
inline constexpr uid_t kAlice = 4242;
inline constexpr uid_t kBob = 4343;
inline constexpr gid_t kStaff = 4444;

class MemFsTest : public ::testing::TestWithParam<Transport> {
 protected:
  MemFsTest();
  void SetUp() override;
  void TearDown() override;

  // A new client calling as `uid`/`gid` (0/0: root), over a link; null (and a failure)
  // in process.
  std::unique_ptr<FsClient> ConnectAs(uid_t uid, gid_t gid);
  // The same with supplementary groups too.
  std::unique_ptr<FsClient> ConnectAs(uid_t uid, gid_t gid, std::vector<gid_t> groups);
  // A new client over a link whose server sees `peer` (its pid included: ConnectAs gives
  // this process's).
  std::unique_ptr<FsClient> ConnectAs(rpc::PeerIdentity peer);
  // A client as this process, on a new channel of the test's transport.
  std::unique_ptr<FsClient> Connect();

  // The service the clients call: the MemFs, unless a subclass serves another.
  virtual FileSystem* service() { return memfs_.get(); }

  FsClient& fs() { return *client_; }
  MemTree& tree() { return memfs_->tree(); }
  bool in_process() const { return GetParam() == Transport::kInProcess; }

  // One-call helpers that fail the test (and return an empty value) on error.
  Entry MakeDir(uint64_t parent, const std::string& name, uint32_t mode = 0755);
  Entry MakeFile(uint64_t parent, const std::string& name, const std::string& contents = "",
                 uint32_t mode = 0644);
  std::string Contents(uint64_t ino);
  // The names in directory `ino`, "." and ".." left out, through ReadDir pages of `size`.
  std::vector<std::string> Names(uint64_t ino, uint32_t size = kMaxIoSize);

  std::unique_ptr<MemFs> memfs_;
  std::unique_ptr<rpc::Server> server_;
  std::unique_ptr<FsClient> client_;
};

// "OK", or the name of the errno a status stands for ("ENOENT"): readable in failures.
std::string Errno(const absl::Status& status);
template <typename T>
std::string Errno(const absl::StatusOr<T>& value) {
  return Errno(value.status());
}

// The value, or a test failure and T().
template <typename T>
T Ok(absl::StatusOr<T> value) {
  EXPECT_TRUE(value.ok()) << value.status();
  return value.ok() ? *std::move(value) : T();
}

// Bytes that differ from one offset to the next: (i * 131 + seed) mod 251.
std::string Pattern(size_t size, int seed = 0);

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_MEMFS_TESTING_H_
