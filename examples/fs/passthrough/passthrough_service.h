// PassthroughFs: a host directory served as fs.proto's FileSystem service.
//
//   absl::StatusOr<std::unique_ptr<PassthroughFs>> fs = PassthroughFs::Open("/srv/share");
//   if (!fs.ok()) return fs.status();   // NOT_FOUND, or FAILED_PRECONDITION: not a directory
//   syslink::rpc::Server server;
//   absl::Status s = server.ServeBroker(fs->get(), {.name = "syslink.examples.fs.passthrough",
//                                             .policy = policy});
//
// Inodes. The served directory is kRootIno. Every inode is a host file held open as an
// O_PATH descriptor (HostInodes, host_inodes.h), one number per host file. Names are
// resolved one component at a time with *at() calls relative to the parent's descriptor,
// never following a symlink (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW): a symlink is an inode of
// its own whose target ReadLink returns and nothing follows. ".." of the root is the root;
// "." and ".." are never created, removed or renamed. So no name a client sends reaches
// outside the served directory. (Files the host itself moves out of it while a client
// holds their inodes stay reachable through those inodes.) A file is opened through its
// inode's descriptor by /proc/self/fd/N: /proc must be mounted.
//
// Permissions: see caller_access.h. The caller is the peer the broker attested (uid, gid
// and supplementary groups), or whom a trusted peer names in `on_behalf_of` (CallerTrust,
// caller.h: a claim from any other peer is refused with PERMISSION_DENIED). With
// CallerAccess::kActAsCaller (the default for a server running as root) each rpc runs with the
// caller's fsuid and fsgid, so the host kernel checks it and new files belong to the caller; with
// kCheckAsServer (the default otherwise) the server checks memfs's rules against the host's stat
// and acts as itself. Modes are created as the caller gives them, less the process's umask (the
// passthrough binary runs with umask 0). Under kCheckAsServer the server also applies the kernel's
// set-ID rules for the caller, which the host applies for the server: a caller other than root
// and the server's user makes no set-ID file, and its writes, truncations, fallocates and copies
// drop a file's set-ID bits; only root gives a file away, an owner gives it only a group of its
// own, and its chmod outside the file's group drops S_ISGID (CallerScope, caller_access.h).
// Create opens a name that exists without O_CREAT (through /proc/self/fd), so the server
// applies fs.protected_regular and fs.protected_fifos itself, in both ways, as the kernel
// would for the caller's O_CREAT open (protected_creates.h: EACCES for another user's file
// in a world-writable sticky directory such as /tmp).
//
// Data. Read preads into a response attachment from ServerContext::AllocateAttachment
// (the link's DMA arena without a worker pool); Write pwrites the request's attachment in
// place. ReadDir packs getdents64's entries (fs_format.h); an entry's position is the host
// directory's own d_off (ext4's hash, tmpfs's counter), stable as fs.proto asks when the
// host filesystem's are. An entry's ino is the server's number when a client holds a
// lookup of it, otherwise the host's inode number (informational, as in FUSE's readdir:
// Lookup gives the inode).
//
// Errors: each rpc answers fs.proto's `error` (an OK RPC status): host errno values pass
// through as they are; a name, inode or handle that is wrong answers as fs.proto lists.
// SetAttr applies mode, owner, size and times in that order and stops at the first
// failure, keeping what it applied before it. Setting times other than both to "now"
// needs the owner (EPERM), as utimensat(2) does. Hard links to symlinks need a root caller
// (EPERM otherwise).
//
// Clients that end: each open handle and each lookup holds a host descriptor, so what a
// client process still holds when it ends (exits, is killed) is given back as Release,
// ReleaseDir and Forget would (ClientProcesses, client_processes.h): handles and lookups
// belong to the process the broker attested for the link they came through, and any link
// of that process may use them. A process that closes its links and lives on keeps them;
// so does a caller with no process of its own (an InProcessChannel, a remote caller). A
// call still in flight from a process that has ended answers ENOTCONN and keeps nothing; its
// Forget forgets nothing, and its Release of a handle given back answers EBADF, so nothing
// is given back twice. A followed process forgets no more lookups than it holds.
//
// Locks: fs.proto's Locks sessions against a LockTable of the server's own
// (lock_service.h), on host files ({st_dev, st_ino} of the handle's descriptor, so that a
// lock holds whatever inode number a client reached the file by); Release of a handle
// drops its flock lock. They are the server's alone: the host kernel's locks on the files (of
// processes on the host) neither see them nor are seen.
//
// Thread safety: thread-safe; serves any number of links and workers at once. The inode
// and handle tables each hold one lock, never across a system call. Ownership: owns its
// descriptors; must outlive the Server serving it.

#ifndef SYSLINK_EXAMPLES_FS_PASSTHROUGH_PASSTHROUGH_SERVICE_H_
#define SYSLINK_EXAMPLES_FS_PASSTHROUGH_PASSTHROUGH_SERVICE_H_

#include <sys/stat.h>

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/unique_fd.h"
#include "examples/fs/caller.h"
#include "examples/fs/client_processes.h"
#include "examples/fs/fs.syslink.h"
#include "examples/fs/lock_service.h"
#include "examples/fs/lock_table.h"
#include "examples/fs/passthrough/caller_access.h"
#include "examples/fs/passthrough/host_handles.h"
#include "examples/fs/passthrough/host_inodes.h"
#include "examples/fs/passthrough/protected_creates.h"

namespace syslink::examples::fs {

struct PassthroughOptions {
  // Whether the server acts as each caller or checks for it (caller_access.h).
  CallerAccess access = DefaultCallerAccess();
  // Who besides root may call on behalf of others (CallerTrust, caller.h).
  std::vector<uid_t> trusted_uids;
  // Where fs.protected_regular and fs.protected_fifos are (protected_creates.h): opened by
  // Open(), read at each Create they could decide.
  std::string sysctl_dir = kFsSysctlDir;
};

class PassthroughFs final : public FileSystem {
 public:
  // The name the passthrough binary registers with the broker by default.
  static constexpr absl::string_view kDefaultName = "syslink.examples.fs.passthrough";

  // Serves directory `dir`. Errors as ErrnoError (fs_status.h): NOT_FOUND (ENOENT) when
  // it does not exist, FAILED_PRECONDITION (ENOTDIR) when it is not a directory (a symlink
  // to one is followed here, only here), others from open(2).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<PassthroughFs>> Open(
      const std::string& dir, PassthroughOptions options = {});

  CallerAccess access() const { return access_; }
  // For tests and tools: inodes held (the root included), open handles, and the client
  // processes followed (ClientProcesses).
  size_t inode_count() const { return inodes_.size(); }
  size_t handle_count() const { return handles_.size(); }
  size_t client_process_count() const { return clients_.size(); }
  // Claims to act for others refused since the start.
  uint64_t claims_refused() const { return trust_.refused(); }

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
  absl::Status ReadDirPlus(Context& context, const ReadDirPlusRequest& request,
                           ReadDirPlusResponse* response) override;
  // passthrough_space.cc
  absl::Status Fallocate(Context& context, const FallocateRequest& request,
                         Result* response) override;
  absl::Status CopyFileRange(Context& context, const CopyFileRangeRequest& request,
                             CopyFileRangeResponse* response) override;
  // passthrough_xattr.cc
  absl::Status SetXattr(Context& context, const SetXattrRequest& request,
                        Result* response) override;
  absl::Status GetXattr(Context& context, const GetXattrRequest& request,
                        GetXattrResponse* response) override;
  absl::Status ListXattr(Context& context, const ListXattrRequest& request,
                         ListXattrResponse* response) override;
  absl::Status RemoveXattr(Context& context, const RemoveXattrRequest& request,
                           Result* response) override;
  // passthrough_files.cc
  absl::Status Locks(Context& context, LockStream* stream) override;

  // The locks held and waited for (lock_table.h), for tests.
  const LockTable& locks() const { return locks_; }

 private:
  using InodeRef = std::shared_ptr<const HostInode>;

  PassthroughFs(UniqueFd root, PassthroughOptions options);

  // `caller` (CallerTrust::For of the rpc), acted as or checked for until the scope ends.
  CallerScope Enter(const Caller& caller) const;

  // The inode `ino` (ENOENT); a directory (ENOTDIR too), with its stat when `st` is given.
  int Find(uint64_t ino, InodeRef* inode) const;
  int FindDir(uint64_t ino, InodeRef* dir, struct stat* st = nullptr) const;
  // Whether `name` may be made in directory `dir`: CheckName's errors, EACCES (no search),
  // EEXIST for "." and ".."; under kCheckAsServer also EEXIST for an existing name and
  // EACCES (no write).
  int CheckNewName(const CallerScope& scope, const HostInode& dir, const struct stat& dir_st,
                   absl::string_view name) const;
  // An O_PATH descriptor of `name` in `dir` ("." and ".." too; ".." of the root is the
  // root), not following a symlink.
  int OpenChild(const HostInode& dir, absl::string_view name, UniqueFd* out) const;
  // Counts a lookup on the file `fd` names, held by `client` (ClientProcesses::Join of the
  // rpc's peer), and describes it in `out`. ENOTCONN (and no lookup) when the client's
  // process has ended meanwhile.
  int AddEntry(uint64_t client, UniqueFd fd, Entry* out);
  // `name` in `dir` as an Entry (after a make): one lookup more, held by `client`.
  int AddChildEntry(uint64_t client, const HostInode& dir, absl::string_view name, Entry* out);
  // Takes up to `nlookup` of `client`'s lookups off `ino`: all `nlookup` for a caller not
  // followed, none for a process that has ended (ClientProcesses::Forget: its lookups were
  // given back).
  void ForgetFor(uint64_t client, uint64_t ino, uint64_t nlookup);
  // Files `fd` as a handle `client` opened on `ino`, numbered `*fh`. ENOTCONN (and the
  // descriptor closed) when the client's process has ended meanwhile.
  int AddHandle(uint64_t client, uint64_t ino, UniqueFd fd, uint32_t flags, bool dir, uint64_t* fh);
  // Closes handle `fh` of `ino` and drops a file's flock lock: false (EBADF) when there is
  // no such handle.
  [[nodiscard]] bool ReleaseHandle(uint64_t ino, uint64_t fh, bool dir);
  // Gives back what a client process that ended still held (ClientProcesses' `ended`).
  void GiveBack(ClientProcesses::Holdings left);
  // Opens a regular file or directory inode with `flags` through /proc/self/fd.
  int Reopen(const HostInode& inode, int flags, UniqueFd* out) const;
  // Mkdir, Mknod and Symlink; `make` makes `name` in the directory descriptor it is given.
  template <typename Make>
  int MakeNode(const Caller& caller, uint64_t client, uint64_t parent, absl::string_view name,
               Make make, Entry* out);
  int OpenFile(const CallerScope& scope, uint64_t client, const HostInode& inode, uint32_t flags,
               uint64_t* fh);
  // Whether Create may open `inode`, found existing in the directory `dir_st` describes, for
  // the caller: the kernel's rule for O_CREAT in sticky directories (protected_creates.h):
  // EACCES, or fstat's errno.
  int MayCreateExisting(const CallerScope& scope, const struct stat& dir_st,
                        const HostInode& inode) const;
  int DoCreate(const CallerScope& scope, uint64_t client, const CreateRequest& request,
               CreateResponse* out);
  int DoSetAttr(const CallerScope& scope, const SetAttrRequest& request, Attr* out);
  int DoRename(const CallerScope& scope, const RenameRequest& request);
  int DoRemove(const CallerScope& scope, const UnlinkRequest& request, bool dir);
  // The /proc path of inode `ino` for an extended attribute call on `name` ("" for a
  // listing), once the caller may make it (CallerScope::CheckXattr): ENOENT, its errors,
  // and a symlink's EPERM (write) or ENODATA.
  int XattrTarget(const Context& context, const CallerScope& scope, uint64_t ino,
                  std::string_view name, bool write, std::string* path) const;
  int DoReadDir(const ReadDirRequest& request, std::span<std::byte> out, size_t* used,
                uint32_t* count) const;

  const CallerAccess access_;
  const std::vector<gid_t> server_groups_;
  const CallerTrust trust_;
  const ProtectedCreates protected_creates_;
  HostInodes inodes_;
  HostHandles handles_;
  LockTable locks_;
  // Last: its thread gives back into the tables above, and stops before they go.
  ClientProcesses clients_;
};

// stat(2)'s view of a host file, numbered `ino`.
void FillAttr(uint64_t ino, const struct stat& st, Attr* out);

// "/proc/self/fd/N": a path that opens the file descriptor `fd` names.
std::string ProcFdPath(int fd);

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_PASSTHROUGH_PASSTHROUGH_SERVICE_H_
