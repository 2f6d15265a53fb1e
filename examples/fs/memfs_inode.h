// The pieces of memfs's inodes: a file's bytes (FileData, sparse, in fixed blocks), the
// inode itself (Inode), and the kernel's permission rules (MayAccess, MayDelete) for a
// Caller (caller.h).
//
//   BlockPool pool(/*total_blocks=*/1024);
//   FileData data;
//   if (int error = data.Write(0, bytes, pool, max_size); error != 0) return error;  // ENOSPC
//   size_t n = data.Read(0, out);
//
// Thread safety: none; MemTree (memfs_tree.h) holds its lock around every use.
// Errors are errno values (0 for success), as fs.proto's responses carry them.

#ifndef SYSLINK_EXAMPLES_FS_MEMFS_INODE_H_
#define SYSLINK_EXAMPLES_FS_MEMFS_INODE_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "examples/fs/caller.h"
#include "examples/fs/fs.pb.h"

namespace syslink::examples::fs {

// The data blocks every file of one filesystem draws from: its capacity.
class BlockPool {
 public:
  explicit BlockPool(uint64_t total_blocks) : total_(total_blocks) {}
  // Takes `count` blocks; false (nothing taken) when fewer are free.
  [[nodiscard]] bool Take(uint64_t count);
  void Give(uint64_t count) { used_ -= count; }
  uint64_t total() const { return total_; }
  uint64_t used() const { return used_; }

 private:
  uint64_t total_;
  uint64_t used_ = 0;
};

// A regular file's bytes: blocks of kBlockSize, allocated on first write, so a file
// extended by truncation or written at a far offset holds holes that read as zeros.
// Invariant: the bytes of the last block past size() are zero.
class FileData {
 public:
  static constexpr size_t kBlockSize = 64 * 1024;

  FileData() = default;
  // A moved-from FileData is empty, with a generation of its own.
  FileData(FileData&& other) noexcept { *this = std::move(other); }
  FileData& operator=(FileData&& other) noexcept {
    if (this != &other) {
      blocks_ = std::exchange(other.blocks_, {});
      size_ = std::exchange(other.size_, 0);
      generation_ = std::exchange(other.generation_, NextGeneration());
    }
    return *this;
  }

  uint64_t size() const { return size_; }
  uint64_t allocated_blocks() const { return blocks_.size(); }
  // Changes whenever the bytes or the size may have: equal generations mean equal contents.
  // Unique across every FileData of the process (moves keep it, with the bytes).
  uint64_t generation() const { return generation_; }

  // Copies the bytes at `offset` into `out`: out.size() of them, fewer at the end of the
  // file, none at or past it. Returns how many.
  size_t Read(uint64_t offset, std::span<std::byte> out) const;

  // Writes `in` at `offset`, growing the file as needed. EFBIG when it would end past
  // `max_size`; ENOSPC (nothing written) when `pool` has too few blocks.
  [[nodiscard]] int Write(uint64_t offset, std::span<const std::byte> in, BlockPool& pool,
                          uint64_t max_size);

  // Sets the size: the blocks past it go back to `pool`, the new part reads as zeros.
  void Truncate(uint64_t size, BlockPool& pool);

  // fallocate(2) modes 0 and FALLOC_FL_KEEP_SIZE: a block for every byte of
  // [offset, offset + length) (zeros where there was none), and the size grown to the end
  // of the range unless `keep_size`. EFBIG past `max_size`; ENOSPC (nothing changed) when
  // `pool` has too few blocks. Blocks past the size are kept until a truncation drops them.
  [[nodiscard]] int Allocate(uint64_t offset, uint64_t length, bool keep_size, BlockPool& pool,
                             uint64_t max_size);
  // FALLOC_FL_PUNCH_HOLE: [offset, offset + length) reads as zeros; the blocks wholly in it
  // go back to `pool`. The size stays.
  void PunchHole(uint64_t offset, uint64_t length, BlockPool& pool);

  // Gives every block back.
  void Clear(BlockPool& pool) { Truncate(0, pool); }

 private:
  static uint64_t NextGeneration();

  std::map<uint64_t, std::unique_ptr<std::byte[]>> blocks_;  // by block index
  uint64_t size_ = 0;
  uint64_t generation_ = NextGeneration();
};

// A directory's name for one of its children, and the child's position in listings.
struct DirSlot {
  uint64_t ino = 0;
  uint64_t cookie = 0;  // ReadDir position; never reused within the directory
};

struct Inode {
  uint64_t ino = 0;
  uint32_t mode = 0;  // S_IFMT type bits and 07777 permission bits
  uint32_t nlink = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  uint64_t rdev = 0;
  int64_t atime_ns = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  // What keeps an unlinked inode alive: lookups a client holds, handles open on it.
  uint64_t lookups = 0;
  uint64_t open_handles = 0;

  // Directories: the parent (".."; the root's is itself), the children by name and by
  // position. Positions 0 and 1 are "." and ".."; children's start at kFirstCookie.
  static constexpr uint64_t kFirstCookie = 2;
  uint64_t parent = 0;
  std::map<std::string, DirSlot, std::less<>> entries;
  std::map<uint64_t, std::string> by_cookie;
  uint64_t next_cookie = kFirstCookie;

  // Extended attributes, by name ("user.x"): their values.
  std::map<std::string, std::string, std::less<>> xattrs;

  // Symlinks: the target.
  std::string target;
  // Regular files: the bytes.
  FileData data;

  bool is_dir() const;
  bool is_regular() const;
  bool is_symlink() const;

  // What writing the file's bytes does to its powers, as the kernel's file_remove_privs:
  // drops its file capability (security.capability), whoever writes, and unless the writer
  // is root its set-user-ID bit and (when group-executable) its set-group-ID bit. The
  // kernel does this itself before a write through its page cache; a direct write
  // (fs_mount's write-only opens) and a copy inside the server leave it to the server.
  void RemovePrivileges(const Caller& writer);

  // Adds child `name` at the end of the listing order; removes one.
  void AddEntry(std::string name, uint64_t child);
  void RemoveEntry(std::map<std::string, DirSlot, std::less<>>::iterator entry);

  // stat(2)'s view of this inode.
  void FillAttr(Attr* attr) const;
};

// Access bits for MayAccess, as the kernel's MAY_READ, MAY_WRITE, MAY_EXEC.
inline constexpr int kMayRead = 4;
inline constexpr int kMayWrite = 2;
inline constexpr int kMayExec = 1;

// Whether `caller` may access `inode` for every bit of `mask`, by its owner, group and
// other permission bits (the kernel's generic_permission, without ACLs). Root may read and
// write anything and search any directory, and execute a file with any execute bit set.
bool MayAccess(const Inode& inode, const Caller& caller, int mask);

// The sticky-directory rule: in a directory with S_ISVTX, only root, the directory's owner
// and `victim`'s owner may remove or rename `victim`.
bool MayDelete(const Inode& dir, const Inode& victim, const Caller& caller);

// chown(2)'s rule: whether `caller` may give `inode` owner `uid` and group `gid` (its
// present ones where a change leaves them): root may; the owner may keep the owner and
// give the file its present group or one the caller is in.
bool MayChown(const Inode& inode, const Caller& caller, uid_t uid, gid_t gid);

// The permission bits (07777) a chmod(2) of `inode` to `mode` by `caller` sets: without
// S_ISGID for a caller other than root outside the file's group, as the kernel does.
mode_t ChmodBits(const Inode& inode, const Caller& caller, mode_t mode);

// Whether `caller` may get (`write` false) or set and remove extended attribute `name` of
// `inode` by fs.proto's rules: 0, EOPNOTSUPP (not "user.", "trusted." or "security."),
// ERANGE (an empty or too long name), EINVAL (a NUL in it, or a namespace alone), EPERM (trusted or
// security for others than root; setting a user name on a file that is neither regular nor a
// directory), ENODATA (getting a user name of such a file), or EACCES (no read or write permission
// for a user name; only when `check_mode`: a host kernel that checks for itself need not be asked
// twice).
int MayXattr(const Inode& inode, const Caller& caller, std::string_view name, bool write,
             bool check_mode = true);
// Whether `name` is listed for `caller`: trusted names are root's alone.
bool ListsXattr(const Caller& caller, std::string_view name);

// Now, in nanoseconds since the Unix epoch.
int64_t NowNanos();

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_MEMFS_INODE_H_
