// FuseBridge: libfuse's low-level operations answered by a file server (fs.proto) over
// syslink. fs_mount (fs_mount_main.cc) mounts it; this is the part between the kernel's
// requests and the server's rpcs.
//
//   std::unique_ptr<Upstream> upstream = Upstream::Start({.service_name = name});
//   FuseBridge bridge(upstream.get(), BridgeOptions{});
//   fuse_session* session = fuse_session_new(&args, &FuseBridge::Ops(), sizeof(fuse_lowlevel_ops),
//                                            &bridge);
//
// Mapping. Every rpc of fs.proto answers the fuse_lowlevel_ops operation of the same name
// (forget and forget_multi become Forget; write_buf becomes Write), but flush, which the
// bridge answers itself once it has checked the handle (writes are write-through: nothing
// is pending) unless the closing process took a POSIX lock on the file since its last
// close: then the server drops that owner's locks first. Locks are the server's: getlk,
// setlk and flock become requests of the mount's lock session (fs.proto's Locks,
// MountLocks), answered when the server answers, so that a waiting lock holds no libfuse
// thread and no link, and a kernel interrupt cancels it (EINTR); release of a handle that
// held a flock lock reaches the server before it is answered. readdirplus hands the kernel each
// entry's node and attributes from one ReadDirPlus (the kernel then needs no lookup per name for
// `ls -l`). fallocate and copy_file_range are done by the server (the copied bytes never reach the
// mount); extended attributes are the server's (fs.proto says which namespaces). The kernel's node
// ids are the bridge's own (NodeTable): each stands for (server ino, connection epoch); the root
// always stands for the current server's root. st_ino, and d_ino in directory listings, are the
// server's inode numbers. The kernel asks for security.capability before every write(2);
// the bridge answers that a node has none for the attribute timeout after the server said
// so (CapabilityCache), dropping it at a setxattr or removexattr through the mount.
//
// Data. Read answers the kernel with fuse_reply_buf straight from the server's response
// attachment (a DMA buffer read in place: no copy in the bridge). Write copies the
// kernel's bytes once, into a DMA buffer of the link's (reused request after request),
// which the server reads in place. ReadDir hands the server's packed entries (FUSE's own
// fuse_dirent layout) to the kernel as they are, after checking them. One call moves at
// most kMaxIoSize (128 KiB), and so does a kernel read: the mount must say max_read=131072
// (fs_mount does). A kernel write may be larger (kMountMaxWrite, 1 MiB: fewer requests for
// a large write(2) and for the writeback cache's flushes); Write sends it on in pieces.
//
// Errors. A server's errno goes to the kernel as it is. When the server is gone (died,
// killed, closed its links) every request fails with ENOTCONN: those in flight when it
// died, and every later one at once, until Upstream reconnects. A request on a node of an
// older epoch (one the kernel got from a server that has since been replaced) fails with
// ESTALE, and so does a file handle opened on such a server (HandleTable); the kernel looks
// a path up again, in the new server, once its cached entry is found stale. Forget, Release and
// ReleaseDir of a gone server succeed (there is nothing left to give back). A failure of
// the RPC layer that is not a death (a response that does not parse, ...) is EIO.
//
// Callers. The kernel gives each request its caller's uid, gid and pid (and libfuse the
// supplementary groups, from /proc). When the server says it believes this mount's claims
// (InitResponse.acts_for_others: the mount runs as root or as a uid the server trusts),
// every request that fs.proto lets carry one names that caller (`on_behalf_of`; the groups
// of a process are read once per attribute timeout, CallerGroups): the
// server checks permissions as the caller and new files belong to it, as on a local
// filesystem. Otherwise the server sees every call as the mount's own user. The kernel
// checks permissions too (default_permissions) before a request reaches the bridge.
//
// Caching. Entries and attributes are cached by the kernel for BridgeOptions'
// entry_timeout and attr_timeout (1 s by default): another client's change to the server
// shows through the mount within that time. File data (DataCache::kKeep, the default)
// stays in the page cache from one open to the next, and the kernel drops it when it
// refreshes the attributes (at most attr_timeout after the last time) and finds the
// server's mtime or size changed (FUSE_CAP_AUTO_INVAL_DATA): so another client's writes
// show within attr_timeout too. Writes are write-through by default: write(2) returns once
// the server has the bytes, with the server's errno. With BridgeOptions::writeback the
// kernel keeps written pages and sends them later, in pieces up to max_write: write(2)
// returns once the page cache holds the bytes, the server's errors show at fsync(2) and
// close(2), and the kernel trusts its own size and times of a file it caches (so it suits
// a server that no other client writes to meanwhile). The kernel may then read through a
// handle opened for writing only, so files are opened read-write when the caller may
// (write-only otherwise), and never O_APPEND (the kernel places appended bytes itself).
// Negative lookups are not cached.
//
// Thread safety: every operation may run on any libfuse worker thread at once (each
// request takes its own Upstream lease). Ownership: the upstream must outlive the bridge,
// and the bridge the session.

#ifndef SYSLINK_EXAMPLES_FS_FUSE_FUSE_BRIDGE_H_
#define SYSLINK_EXAMPLES_FS_FUSE_FUSE_BRIDGE_H_

#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 312
#endif
#include <fuse3/fuse_lowlevel.h>
#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <span>

#include "absl/status/status.h"
#include "examples/fs/fs.pb.h"
#include "examples/fs/fuse/caller_groups.h"
#include "examples/fs/fuse/capability_cache.h"
#include "examples/fs/fuse/handle_table.h"
#include "examples/fs/fuse/mount_locks.h"
#include "examples/fs/fuse/node_table.h"
#include "examples/fs/fuse/upstream.h"

namespace syslink::examples::fs {

// How the kernel caches file data (see "Caching" above).
enum class DataCache {
  kKeep,     // page cache kept across opens, dropped when the server's mtime or size changes
  kPerOpen,  // page cache dropped at every open(2)
  kDirect,   // no page cache (FOPEN_DIRECT_IO): every read(2) and write(2) goes to the
             // server as it is; shared writable mmap fails (ENODEV)
};

struct BridgeOptions {
  double entry_timeout_seconds = 1.0;  // how long the kernel trusts a name -> node
  double attr_timeout_seconds = 1.0;   // how long the kernel trusts attributes
  DataCache cache = DataCache::kKeep;
  // FUSE's writeback cache ("Caching" above): not with kDirect.
  bool writeback = false;
};

// The struct stat a server's Attr stands for.
[[nodiscard]] struct stat ToStat(const Attr& attr);

// The errno a failed call gives the kernel: the server's, ENOTCONN for a dead server,
// EIO for anything that is not an errno of 1..511.
[[nodiscard]] int KernelErrno(const absl::Status& status);

class FuseBridge {
 public:
  FuseBridge(Upstream* upstream, BridgeOptions options);
  FuseBridge(const FuseBridge&) = delete;
  FuseBridge& operator=(const FuseBridge&) = delete;

  // The operations, each calling the bridge given as the session's userdata.
  static const fuse_lowlevel_ops& Ops();

  NodeTable& nodes() { return nodes_; }
  HandleTable& handles() { return handles_; }

  // --- The operations (fuse_lowlevel.h says what each gets and must answer). ---
  void Init(fuse_conn_info* conn);
  // The session ends: lock requests still waiting are answered (ENOTCONN) while their
  // FUSE session is still there.
  void Destroy();
  void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name);
  void Forget(fuse_req_t req, std::span<const fuse_forget_data> forgets);
  void GetAttr(fuse_req_t req, fuse_ino_t node, fuse_file_info* fi);
  void SetAttr(fuse_req_t req, fuse_ino_t node, const struct stat* attr, int to_set,
               fuse_file_info* fi);
  void Statfs(fuse_req_t req, fuse_ino_t node);
  // fuse_bridge_names.cc
  void ReadLink(fuse_req_t req, fuse_ino_t node);
  void Mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev);
  void Mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode);
  void Symlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name);
  void Link(fuse_req_t req, fuse_ino_t node, fuse_ino_t new_parent, const char* new_name);
  void Unlink(fuse_req_t req, fuse_ino_t parent, const char* name);
  void Rmdir(fuse_req_t req, fuse_ino_t parent, const char* name);
  void Rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t new_parent,
              const char* new_name, unsigned int flags);
  // fuse_bridge_io.cc
  void Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi);
  void Open(fuse_req_t req, fuse_ino_t node, fuse_file_info* fi);
  void Read(fuse_req_t req, fuse_ino_t node, size_t size, off_t offset, fuse_file_info* fi);
  void Write(fuse_req_t req, fuse_ino_t node, fuse_bufvec* data, off_t offset, fuse_file_info* fi);
  void Release(fuse_req_t req, fuse_ino_t node, fuse_file_info* fi);
  void Fsync(fuse_req_t req, fuse_ino_t node, int datasync, fuse_file_info* fi);
  void OpenDir(fuse_req_t req, fuse_ino_t node, fuse_file_info* fi);
  void ReadDir(fuse_req_t req, fuse_ino_t node, size_t size, off_t offset, fuse_file_info* fi);
  void ReleaseDir(fuse_req_t req, fuse_ino_t node, fuse_file_info* fi);
  // fuse_bridge_listing.cc
  void ReadDirPlus(fuse_req_t req, fuse_ino_t node, size_t size, off_t offset, fuse_file_info* fi);
  // fuse_bridge_space.cc
  void Fallocate(fuse_req_t req, fuse_ino_t node, int mode, off_t offset, off_t length,
                 fuse_file_info* fi);
  void CopyFileRange(fuse_req_t req, fuse_ino_t node_in, off_t offset_in, fuse_file_info* fi_in,
                     fuse_ino_t node_out, off_t offset_out, fuse_file_info* fi_out, size_t length,
                     int flags);
  // fuse_bridge_xattr.cc
  void SetXattr(fuse_req_t req, fuse_ino_t node, const char* name, const char* value, size_t size,
                int flags);
  void GetXattr(fuse_req_t req, fuse_ino_t node, const char* name, size_t size);
  void ListXattr(fuse_req_t req, fuse_ino_t node, size_t size);
  void RemoveXattr(fuse_req_t req, fuse_ino_t node, const char* name);
  // fuse_bridge_locks.cc
  void GetLk(fuse_req_t req, fuse_ino_t node, fuse_file_info* fi, struct flock* lock);
  void SetLk(fuse_req_t req, fuse_ino_t node, fuse_file_info* fi, struct flock* lock, int sleep);
  void Flock(fuse_req_t req, fuse_ino_t node, fuse_file_info* fi, int op);
  void Flush(fuse_req_t req, fuse_ino_t node, fuse_file_info* fi);

 private:
  // Sends `request` (its op and lock; the server's ino and fh are set here) on the mount's
  // lock session; `done` answers `req` when the server does. With `interruptible`, the
  // kernel's interrupt of `req` cancels it. False when `req` was answered already (stale
  // node or handle, no server).
  bool StartLock(fuse_req_t req, fuse_ino_t node, fuse_file_info* fi, LockRequest request,
                 bool interruptible, LockSession::Done done);
  // libfuse's interrupt callback of a lock request; `data` is its LockSession id.
  static void OnLockInterrupt(fuse_req_t req, void* data);

  // A lease of the epoch `node` belongs to and the server's inode for it; when there is
  // none, replies to `req` (ESTALE, ENOTCONN) and returns nullopt.
  std::optional<Upstream::Lease> Begin(fuse_req_t req, fuse_ino_t node, uint64_t* ino);
  // The server's inode for a second node of the same request; replies ESTALE and returns
  // false when it is not of the lease's epoch.
  bool SameEpoch(fuse_req_t req, const Upstream::Lease& lease, fuse_ino_t node, uint64_t* ino);
  // The server's handle behind the kernel's `fi->fh`; replies ESTALE and returns false when
  // it is not a handle of the lease's epoch.
  bool ServerHandle(fuse_req_t req, const Upstream::Lease& lease, const fuse_file_info* fi,
                    uint64_t* fh);
  // Whether a SETATTR of `mode` from `req`'s caller is the kernel dropping the set-ID bits
  // of a file the caller writes or truncates but does not own: the file's mode with just
  // those bits cleared. The kernel asks so (FUSE has no other way to say it), and a server
  // refuses a mode change from a caller who is not the owner.
  bool KillsSetIdOnly(fuse_req_t req, Upstream::Lease& lease, uint64_t ino, mode_t mode);
  // Gives a handle back: to the server when it is the current epoch's (Release,
  // ReleaseDir, and a handle the kernel never took), through `lease` when the caller holds
  // one (null: takes one).
  void ReleaseHandle(uint64_t id, bool directory, Upstream::Lease* lease = nullptr);
  // Replies with the errno of a failed call (and lets the lease see a dead server).
  void ReplyError(fuse_req_t req, Upstream::Lease& lease, const absl::Status& status);
  // Replies with `entry` as a node of the lease's epoch; gives the lookup back to the
  // server when the kernel did not take it. For Create, `fi` carries the open handle.
  void ReplyEntry(fuse_req_t req, Upstream::Lease& lease, const Entry& entry,
                  fuse_file_info* fi = nullptr);
  // The caller of `req` (fs.proto's on_behalf_of): the kernel's uid, gid and pid, and the
  // supplementary groups, kept for the attribute timeout (CallerGroups).
  OnBehalfOf RequestCaller(fuse_req_t req);
  // Sets fi's caching flags for an open file, as options_.cache says.
  void SetCaching(fuse_file_info* fi) const;
  // Hands the kernel's lookups of the server's nodes on to the server.
  void ForgetOnServer(Upstream::Lease& lease, std::span<const ForgetRequest::Item> items);

  Upstream* const upstream_;
  const BridgeOptions options_;
  NodeTable nodes_;
  HandleTable handles_;
  CallerGroups caller_groups_;
  CapabilityCache capabilities_;
  MountLocks locks_;
};

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_FUSE_FUSE_BRIDGE_H_
