// A PassthroughFs over a fresh host directory, served to FsClients over each transport:
// memfs_testing.h's suite (MemFsTest: clients, ConnectAs, the one-call helpers) with the
// passthrough as its service.
//
//   TEST_P(PassthroughTest, MkdirMakesAHostDirectory) {
//     MakeDir(kRootIno, "d", 0750);
//     EXPECT_EQ(HostStat("d").st_mode, S_IFDIR | 0750);
//   }
//
// Each test serves a directory "served" of its own, mode 0755, beside a directory
// "outside" holding a file "secret" (for escape attempts), both in a new mkdtemp directory
// under $TEST_TMPDIR, removed when the test ends. The process's umask is 0 (as in the
// passthrough binary), so modes are made as the clients give them.
//
// The service acts as each caller (CallerAccess::kActAsCaller) unless a subclass asks it
// to check for each caller (kCheckAsServer), or gives other PassthroughOptions.

#ifndef SYSLINK_EXAMPLES_FS_PASSTHROUGH_PASSTHROUGH_TESTING_H_
#define SYSLINK_EXAMPLES_FS_PASSTHROUGH_PASSTHROUGH_TESTING_H_

#include <sys/stat.h>

#include <memory>
#include <string>

#include "examples/fs/memfs_testing.h"
#include "examples/fs/passthrough/passthrough_service.h"

namespace syslink::examples::fs {

class PassthroughTest : public MemFsTest {
 protected:
  explicit PassthroughTest(CallerAccess access = CallerAccess::kActAsCaller);
  // Served with `options` (its access included).
  explicit PassthroughTest(PassthroughOptions options);
  ~PassthroughTest() override;
  void SetUp() override;

  FileSystem* service() override { return passthrough_.get(); }
  PassthroughFs& passthrough() { return *passthrough_; }
  bool acts_as_caller() const { return access_ == CallerAccess::kActAsCaller; }

  // Host paths: in the served directory, and outside it.
  std::string HostPath(const std::string& relative) const { return served_ + "/" + relative; }
  const std::string& outside() const { return outside_; }
  // lstat(2) of a path in the served directory (zeros, and a failure, when it fails).
  struct stat HostStat(const std::string& relative) const;
  // The whole of a host file ("" when it cannot be read); writes one.
  static std::string HostRead(const std::string& path);
  static void HostWrite(const std::string& path, const std::string& contents);

 private:
  const CallerAccess access_;
  std::string scratch_;
  std::string served_;
  std::string outside_;
  std::unique_ptr<PassthroughFs> passthrough_;
};

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_PASSTHROUGH_PASSTHROUGH_TESTING_H_
