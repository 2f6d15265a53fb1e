// PosixOps: FileOps (file_ops.h) as system calls on files under a host directory: a FUSE
// mount of the file service, or tmpfs as the reference the model is checked against.
//
// Each operation opens, acts and closes, as separate tools would; errors are the errno of
// the failing call.
//
// Thread safety: as thread-safe as the filesystem below. Ownership: holds the root
// directory's path only.

#ifndef SYSLINK_EXAMPLES_FS_EXERCISE_POSIX_OPS_H_
#define SYSLINK_EXAMPLES_FS_EXERCISE_POSIX_OPS_H_

#include <string>
#include <vector>

#include "examples/fs/exercise/file_ops.h"

namespace syslink::examples::fs {

class PosixOps final : public FileOps {
 public:
  explicit PosixOps(std::string root) : root_(std::move(root)) {}

  std::string Name() const override { return "posix " + root_; }
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
  std::string HostPath(const std::string& path) const;

  std::string root_;
};

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_EXERCISE_POSIX_OPS_H_
