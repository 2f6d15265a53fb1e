// MemFs: an in-memory filesystem served as fs.proto's FileSystem service.
//
//   MemFs fs;                                   // an empty root, 0755, owned by root
//   syslink::rpc::Server server;
//   absl::Status s = server.ServeBroker(&fs, {.name = "syslink.examples.fs.memfs", .policy =
//   policy});
//
// Each rpc answers with fs.proto's `error` field (an errno) and an OK RPC status; the
// errors of each rpc are listed in fs.proto. The caller is the link's PeerIdentity (uid,
// gid and supplementary groups, attested by the broker; a link made without one calls as
// root), or whom a trusted peer names in a request's `on_behalf_of` (CallerTrust,
// caller.h: a claim from any other peer is refused with PERMISSION_DENIED). Read and
// ReadDir answer in a response attachment from ServerContext::AllocateAttachment (the
// link's DMA arena when served without a worker pool); Write takes the request's
// attachment in place. Served without a worker pool, a Read that continues the link's
// last one is followed, once answered, by a read of the next piece into the link's arena
// (one piece per link), which answers the next Read without a copy while the file is
// unchanged.
//
// Locks: fs.proto's Locks sessions against one LockTable (lock_service.h); Release of a
// handle drops its flock lock. Locks are on inodes ({0, ino}): memfs never reuses a number,
// and a file keeps its number while it exists.
//
// Clients that end: what a client process still holds when it ends (exits, is killed) is
// given back as Release, ReleaseDir and Forget would (ClientProcesses,
// client_processes.h), so that a file unlinked while a dead client held it open or looked
// up does not keep its memory until memfs exits. Handles and lookups belong to the process
// the broker attested for the link they came through, and any link of that process may
// use them. A process that closes its links and lives on keeps them; so does a caller
// with no process of its own (an InProcessChannel, a remote caller). A call still in
// flight from a process that has ended answers ENOTCONN and keeps nothing; its Forget
// forgets nothing, and its Release of a handle given back answers EBADF, so nothing is
// given back twice. A followed process forgets no more lookups than it holds.
//
// Thread safety: thread-safe; serves any number of links and workers at once (MemTree
// holds one lock). Ownership: owns its MemTree, and the thread that follows client
// processes; must outlive the Server serving it.

#ifndef SYSLINK_EXAMPLES_FS_MEMFS_SERVICE_H_
#define SYSLINK_EXAMPLES_FS_MEMFS_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <utility>
#include <vector>

#include "examples/fs/caller.h"
#include "examples/fs/client_processes.h"
#include "examples/fs/fs.syslink.h"
#include "examples/fs/lock_service.h"
#include "examples/fs/lock_table.h"
#include "examples/fs/memfs_tree.h"

namespace syslink::examples::fs {

class MemFs final : public FileSystem {
 public:
  // The name memfs_main registers with the broker by default.
  static constexpr absl::string_view kDefaultName = "syslink.examples.fs.memfs";

  // `trusted_uids`: who besides root may call on behalf of others (CallerTrust).
  explicit MemFs(const MemTreeOptions& options = {}, std::vector<uid_t> trusted_uids = {});

  // The state behind the service, for tests and tools.
  MemTree& tree() { return tree_; }
  // Claims to act for others refused since the start.
  uint64_t claims_refused() const { return trust_.refused(); }
  // Reads answered with a piece read ahead, since the start.
  uint64_t read_ahead_hits() const { return read_ahead_hits_.load(std::memory_order_relaxed); }
  // The client processes followed (ClientProcesses), for tests.
  size_t client_process_count() const { return clients_.size(); }

  using Context = ::syslink::rpc::ServerContext;
  absl::Status Init(Context& context, const InitRequest& request, InitResponse* response) override;
  absl::Status Statfs(Context& context, const StatfsRequest& request,
                      StatfsResponse* response) override;
  absl::Status Lookup(Context& context, const LookupRequest& request,
                      EntryResponse* response) override;
  absl::Status Forget(Context& context, const ForgetRequest& request, Result* response) override;
  absl::Status GetAttr(Context& context, const GetAttrRequest& request,
                       AttrResponse* response) override;
  absl::Status SetAttr(Context& context, const SetAttrRequest& request,
                       AttrResponse* response) override;
  absl::Status Mkdir(Context& context, const MkdirRequest& request,
                     EntryResponse* response) override;
  absl::Status Mknod(Context& context, const MknodRequest& request,
                     EntryResponse* response) override;
  absl::Status Symlink(Context& context, const SymlinkRequest& request,
                       EntryResponse* response) override;
  absl::Status Link(Context& context, const LinkRequest& request, EntryResponse* response) override;
  absl::Status Unlink(Context& context, const UnlinkRequest& request, Result* response) override;
  absl::Status Rmdir(Context& context, const UnlinkRequest& request, Result* response) override;
  absl::Status Rename(Context& context, const RenameRequest& request, Result* response) override;
  absl::Status ReadLink(Context& context, const ReadLinkRequest& request,
                        ReadLinkResponse* response) override;
  absl::Status Create(Context& context, const CreateRequest& request,
                      CreateResponse* response) override;
  absl::Status Open(Context& context, const OpenRequest& request, OpenResponse* response) override;
  absl::Status Read(Context& context, const ReadRequest& request, ReadResponse* response) override;
  absl::Status Write(Context& context, const WriteRequest& request,
                     WriteResponse* response) override;
  absl::Status Flush(Context& context, const HandleRequest& request, Result* response) override;
  absl::Status Release(Context& context, const HandleRequest& request, Result* response) override;
  absl::Status Fsync(Context& context, const HandleRequest& request, Result* response) override;
  absl::Status OpenDir(Context& context, const OpenDirRequest& request,
                       OpenResponse* response) override;
  absl::Status ReadDir(Context& context, const ReadDirRequest& request,
                       ReadDirResponse* response) override;
  absl::Status ReleaseDir(Context& context, const HandleRequest& request,
                          Result* response) override;
  absl::Status Fallocate(Context& context, const FallocateRequest& request,
                         Result* response) override;
  absl::Status CopyFileRange(Context& context, const CopyFileRangeRequest& request,
                             CopyFileRangeResponse* response) override;
  absl::Status SetXattr(Context& context, const SetXattrRequest& request,
                        Result* response) override;
  absl::Status GetXattr(Context& context, const GetXattrRequest& request,
                        GetXattrResponse* response) override;
  absl::Status ListXattr(Context& context, const ListXattrRequest& request,
                         ListXattrResponse* response) override;
  absl::Status RemoveXattr(Context& context, const RemoveXattrRequest& request,
                           Result* response) override;
  absl::Status ReadDirPlus(Context& context, const ReadDirPlusRequest& request,
                           ReadDirPlusResponse* response) override;
  absl::Status Locks(Context& context, LockStream* stream) override;

  // The locks held and waited for (lock_table.h), for tests.
  const LockTable& locks() const { return locks_; }

 private:
  // Files the lookup the tree counted in `entry` (after an rpc that answered `error`)
  // under `client` (ClientProcesses::Join of the rpc's peer): `error`, or ENOTCONN (and
  // the lookup forgotten) when the client's process has ended meanwhile.
  int KeepLookup(uint64_t client, int error, const Entry& entry);
  // Files handle `fh` of `ino`, opened by the tree for `client`, under it: ENOTCONN (and
  // the handle released) when the client's process has ended meanwhile.
  int KeepHandle(uint64_t client, uint64_t ino, uint64_t fh, bool dir);
  // Closes handle `fh` of `ino`, drops a file's flock lock and takes the handle off its
  // owner's record: EBADF when there is no such handle.
  int ReleaseHandle(uint64_t ino, uint64_t fh, bool dir);
  // Gives back what a client process that ended still held (ClientProcesses' `ended`).
  void GiveBack(ClientProcesses::Holdings left);

  MemTree tree_;
  LockTable locks_;
  CallerTrust trust_;
  std::atomic<uint64_t> read_ahead_hits_{0};
  ClientProcesses clients_;  // last: its thread gives back into the members above
};

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_MEMFS_SERVICE_H_
