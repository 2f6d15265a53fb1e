// The limits and byte formats of the file service that fs.proto's messages do not carry:
// the I/O size limit and the packing of ReadDir's entries. Used by servers and clients.
//
//   // Server: fill a ReadDir attachment.
//   size_t used = 0;
//   while (more && EncodeDirEntry({ino, next, DT_REG, name}, out.subspan(used), &used)) ...
//
//   // Client: read one back.
//   absl::StatusOr<std::vector<DirEntry>> entries = DecodeDirEntries(attachment.data());
//
// The record layout is written out in fs.proto (ReadDirRequest): FUSE's struct fuse_dirent,
// little-endian, each record padded to 8 bytes.

#ifndef SYSLINK_EXAMPLES_FS_FS_FORMAT_H_
#define SYSLINK_EXAMPLES_FS_FS_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace syslink::examples::fs {

inline constexpr uint32_t kProtocolVersion = 1;
// The root directory's inode (FUSE_ROOT_ID).
inline constexpr uint64_t kRootIno = 1;
// The most one Read, Write or ReadDir moves: the link's default DMA limit.
inline constexpr uint32_t kMaxIoSize = 128 * 1024;
// The largest write a FUSE mount of a server takes from the kernel in one request (FUSE's
// limit: 256 pages); fs_mount sends it on in calls of at most kMaxIoSize.
inline constexpr uint32_t kMountMaxWrite = 1024 * 1024;
// Extended attributes: the longest name and value (XATTR_NAME_MAX, XATTR_SIZE_MAX).
inline constexpr size_t kMaxXattrName = 255;
inline constexpr size_t kMaxXattrValue = 64 * 1024;
// What one ReadDirPlus entry of a `name_length`-byte name costs of its `size`: FUSE's
// struct fuse_direntplus (fuse_entry_out, 128 bytes, and fuse_dirent, 24) with the name,
// 8-byte aligned.
constexpr size_t DirEntryPlusSize(size_t name_length) {
  return (152 + name_length + 7) & ~size_t{7};
}
// The most one CopyFileRange copies (inside the server: nothing crosses the link).
inline constexpr uint64_t kMaxCopySize = uint64_t{64} << 20;
// The longest name of one path component (NAME_MAX), and of a symlink target (PATH_MAX - 1).
// Locks (fs.proto's Locks): the last byte a lock range may name, standing for "to the end
// of the file" (FUSE's OFFSET_MAX); what one lock session may hold and wait for at once.
inline constexpr uint64_t kLockEof = uint64_t{INT64_MAX};
inline constexpr size_t kMaxLocksPerSession = 4096;
inline constexpr size_t kMaxWaitsPerSession = 64;
inline constexpr size_t kMaxNameLength = 255;
inline constexpr size_t kMaxSymlinkLength = 4095;

// One directory entry, as ReadDir packs it.
struct DirEntry {
  uint64_t ino = 0;
  uint64_t next = 0;  // the ReadDir offset that continues after this entry
  uint32_t type = 0;  // DT_* (mode >> 12)
  std::string name;

  bool operator==(const DirEntry&) const = default;
};

// The fixed part of a record, before the name.
inline constexpr size_t kDirEntryHeaderSize = 24;

// The bytes a record for a name of `name_length` bytes takes, padding included.
constexpr size_t DirEntrySize(size_t name_length) {
  return (kDirEntryHeaderSize + name_length + 7) / 8 * 8;
}

// Appends `entry` to `out` at `*used` and advances `*used`; false (nothing written) when the
// record does not fit in what is left of `out`.
[[nodiscard]] bool EncodeDirEntry(uint64_t ino, uint64_t next, uint32_t type,
                                  absl::string_view name, std::span<std::byte> out, size_t* used);

// The records of a ReadDir attachment. INVALID_ARGUMENT (naming the offset) for bytes that
// are not whole, well-formed records: a record cut short, a name length of 0 or over 255,
// a name holding '/' or NUL, non-zero padding.
[[nodiscard]] absl::StatusOr<std::vector<DirEntry>> DecodeDirEntries(
    std::span<const std::byte> bytes);

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_FS_FORMAT_H_
