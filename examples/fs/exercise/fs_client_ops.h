// FsClientOps: FileOps (file_ops.h) through an FsClient, the file service called directly.
//
// Each operation resolves its path from the root, as the path layer of FsClient does, and
// holds no lookup or handle after it returns. Errors are ErrnoOf() of the client's status:
// the server's errno, or ENOTCONN / EIO when the call failed in the RPC layer.
//
// Thread safety: as FsClient. Ownership: borrows the client, which must outlive it.

#ifndef SYSLINK_EXAMPLES_FS_EXERCISE_FS_CLIENT_OPS_H_
#define SYSLINK_EXAMPLES_FS_EXERCISE_FS_CLIENT_OPS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "examples/fs/exercise/file_ops.h"
#include "examples/fs/fs_client.h"

namespace syslink::examples::fs {

class FsClientOps final : public FileOps {
 public:
  explicit FsClientOps(FsClient* client) : client_(client) {}

  std::string Name() const override { return "fs client"; }
  int Create(const std::string& path) override;
  int MakeDirectory(const std::string& path) override;
  int Write(const std::string& path, int64_t offset, std::span<const std::byte> data) override;
  int Read(const std::string& path, int64_t offset, size_t size, std::string* out) override;
  int Truncate(const std::string& path, int64_t size) override;
  int Rename(const std::string& from, const std::string& to) override;
  int Unlink(const std::string& path) override;
  int Size(const std::string& path, int64_t* size) override;
  int List(const std::string& path, std::vector<std::string>* names) override;

 private:
  // Opens the file at `path` with `flags` and runs `body` on (ino, fh); releases the handle.
  template <typename Body>
  int WithHandle(const std::string& path, uint32_t flags, Body body);

  FsClient* client_;
};

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_EXERCISE_FS_CLIENT_OPS_H_
