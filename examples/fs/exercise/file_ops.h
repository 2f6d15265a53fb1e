// FileOps: the few file operations the exerciser (exerciser.h) makes, on some filesystem.
//
// Paths are relative to the filesystem's root, '/'-separated, without a leading '/'
// ("a", "sub/b"). Each operation returns 0 or the errno a POSIX caller would get, so that
// one run can be held against another filesystem or a model.
//
// Implementations: FsClientOps (fs_client_ops.h: the file service through FsClient) and
// PosixOps (posix_ops.h: system calls under a host directory, e.g. a FUSE mount or tmpfs).
//
// Thread safety: implementations need not be thread-safe.

#ifndef SYSLINK_EXAMPLES_FS_EXERCISE_FILE_OPS_H_
#define SYSLINK_EXAMPLES_FS_EXERCISE_FILE_OPS_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace syslink::examples::fs {

class FileOps {
 public:
  virtual ~FileOps() = default;

  // A short name for messages ("fs client", "posix /mnt/x").
  virtual std::string Name() const = 0;

  // Creates an empty regular file, mode 0644; EEXIST when `path` exists.
  virtual int Create(const std::string& path) = 0;
  // Makes a directory, mode 0755.
  virtual int MakeDirectory(const std::string& path) = 0;
  // Writes all of `data` at `offset` of an existing file (never creates it).
  virtual int Write(const std::string& path, int64_t offset, std::span<const std::byte> data) = 0;
  // Reads up to `size` bytes at `offset` into `out` (shorter at the end of the file).
  virtual int Read(const std::string& path, int64_t offset, size_t size, std::string* out) = 0;
  virtual int Truncate(const std::string& path, int64_t size) = 0;
  // rename(2): replaces a file at `to`.
  virtual int Rename(const std::string& from, const std::string& to) = 0;
  virtual int Unlink(const std::string& path) = 0;
  // The size of the file, as stat(2) reports it.
  virtual int Size(const std::string& path, int64_t* size) = 0;
  // The names in directory `path` ("" for the root), without "." and "..", any order.
  virtual int List(const std::string& path, std::vector<std::string>* names) = 0;
};

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_EXERCISE_FILE_OPS_H_
