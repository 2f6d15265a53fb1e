// FsClient: a C++ client of the file service (fs.proto) over any syslink::rpc::Channel.
//
//   absl::StatusOr<std::shared_ptr<syslink::rpc::Channel>> channel =
//       syslink::rpc::ConnectChannel("syslink.examples.fs.memfs");
//   FsClient fs(*channel);
//   absl::StatusOr<Attr> attr = fs.Stat("/docs/notes.txt");
//   if (ErrnoOf(attr.status()) == ENOENT) ...                        // fs_status.h
//   absl::Status s = fs.ReadFile("/docs/notes.txt", [](std::span<const std::byte> piece) {
//     return Consume(piece);  // each piece read in place from the server's DMA buffer
//   });
//
// Two layers. The inode layer is one rpc per method, as fs.proto has them: lookups it
// returns are the caller's to Forget. The path layer (Stat, List, ReadFile, ...) resolves
// '/'-separated paths from the root by successive Lookups (empty components are skipped;
// symlinks are not followed: a symlink in the middle of a path is ENOTDIR) and forgets
// every lookup it made before it returns.
//
// Errors: a server's errno comes back as ErrnoError(errno, what) (fs_status.h): a canonical
// code, a message naming the operation and the errno, and the errno as a payload;
// ErrnoOf() gets it back. A call that failed in the RPC layer returns that status as it
// is (UNAVAILABLE with syslink::IsPeerDied when the server died: ErrnoOf gives ENOTCONN;
// DEADLINE_EXCEEDED: ETIMEDOUT; others: EIO).
//
// Data: Read returns the server's response attachment, read in place (zero-copy over a
// link); Write sends an attachment, zero-copy when it came from AllocateAttachment() of
// the same channel. Each moves at most kMaxIoSize bytes; the *Fully and path helpers loop.
//
// Thread safety: as thread-safe as the channel (LinkChannel carries one call at a time;
// use a client per thread for parallel calls). Ownership: shares the channel; a
// LookupRef must not outlive the client that made it.

#ifndef SYSLINK_EXAMPLES_FS_FS_CLIENT_H_
#define SYSLINK_EXAMPLES_FS_FS_CLIENT_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "examples/fs/fs.pb.h"
#include "examples/fs/fs.syslink.h"
#include "examples/fs/fs_format.h"
#include "examples/fs/fs_status.h"
#include "rpc/attachment.h"
#include "rpc/channel.h"

namespace syslink::examples::fs {

class FsClient;

// One lookup of an inode held by this client, forgotten (Forget, one count) when
// destroyed or Release()d. The root holds none. Move-only.
class LookupRef {
 public:
  LookupRef() = default;
  LookupRef(FsClient* client, Entry entry) : client_(client), entry_(std::move(entry)) {}
  LookupRef(LookupRef&& other) noexcept;
  LookupRef& operator=(LookupRef&& other) noexcept;
  ~LookupRef() { Release(); }

  uint64_t ino() const { return entry_.ino(); }
  const Attr& attr() const { return entry_.attr(); }
  // Forgets the lookup now (errors ignored: the server may be gone).
  void Release();

 private:
  FsClient* client_ = nullptr;  // null: nothing to forget
  Entry entry_;
};

class FsClient {
 public:
  explicit FsClient(std::shared_ptr<rpc::Channel> channel);
  FsClient(const FsClient&) = delete;
  FsClient& operator=(const FsClient&) = delete;

  rpc::Channel& channel() { return stub_.channel(); }
  // The channel, shared: what a LockSession (lock_session.h) of this client opens on.
  const std::shared_ptr<rpc::Channel>& shared_channel() const { return channel_; }
  FileSystemStub& stub() { return stub_; }

  // Whom the calls that follow are for: every request that has fs.proto's `on_behalf_of`
  // carries `caller` (SetAttr's, unless it names one itself). For a client that serves
  // others, such as fs_mount; the server believes it only from a peer it trusts
  // (InitResponse.acts_for_others) and refuses the calls of any other with
  // PERMISSION_DENIED. nullopt (the default): the calls are this process's own.
  void set_on_behalf_of(std::optional<OnBehalfOf> caller) { on_behalf_of_ = std::move(caller); }
  const std::optional<OnBehalfOf>& on_behalf_of() const { return on_behalf_of_; }

  // --- The inode layer: one rpc each (fs.proto says what each does and its errnos). ---

  [[nodiscard]] absl::StatusOr<InitResponse> Init();
  [[nodiscard]] absl::StatusOr<StatfsResponse> Statfs();
  [[nodiscard]] absl::StatusOr<Entry> Lookup(uint64_t parent, absl::string_view name);
  [[nodiscard]] absl::Status Forget(uint64_t ino, uint64_t nlookup = 1);
  [[nodiscard]] absl::StatusOr<Attr> GetAttr(uint64_t ino);
  [[nodiscard]] absl::StatusOr<Attr> SetAttr(const SetAttrRequest& request);
  [[nodiscard]] absl::StatusOr<Entry> Mkdir(uint64_t parent, absl::string_view name, uint32_t mode);
  [[nodiscard]] absl::StatusOr<Entry> Mknod(uint64_t parent, absl::string_view name, uint32_t mode,
                                            uint64_t rdev = 0);
  [[nodiscard]] absl::StatusOr<Entry> Symlink(uint64_t parent, absl::string_view name,
                                              absl::string_view target);
  [[nodiscard]] absl::StatusOr<Entry> Link(uint64_t ino, uint64_t new_parent,
                                           absl::string_view new_name);
  [[nodiscard]] absl::Status Unlink(uint64_t parent, absl::string_view name);
  [[nodiscard]] absl::Status Rmdir(uint64_t parent, absl::string_view name);
  // `flags`: an OR of RenameFlag.
  [[nodiscard]] absl::Status Rename(uint64_t parent, absl::string_view name, uint64_t new_parent,
                                    absl::string_view new_name, uint32_t flags = 0);
  [[nodiscard]] absl::StatusOr<std::string> ReadLink(uint64_t ino);

  struct Created {
    Entry entry;
    uint64_t fh = 0;
  };
  // `flags`: open(2)'s (O_EXCL: EEXIST if the name exists).
  [[nodiscard]] absl::StatusOr<Created> Create(uint64_t parent, absl::string_view name,
                                               uint32_t mode, uint32_t flags);
  [[nodiscard]] absl::StatusOr<uint64_t> Open(uint64_t ino, uint32_t flags);

  // Up to `size` bytes (at most kMaxIoSize) at `offset`: the server's attachment, to read
  // in place; empty at the end of the file.
  [[nodiscard]] absl::StatusOr<rpc::Attachment> Read(uint64_t ino, uint64_t fh, int64_t offset,
                                                     uint32_t size);
  // Read as an async call, for reading ahead (FileReader). `call` holds the request, the
  // response and the context until `done` runs (on the thread that drives the channel);
  // then ReadOutcome(status, *call) is Read's result, the bytes being
  // call->context.response_attachment().
  struct ReadCall {
    ReadCall(uint64_t ino, uint64_t fh, int64_t offset, uint32_t size);
    ReadRequest request;
    ReadResponse response;
    rpc::ClientContext context;
  };
  void ReadAsync(ReadCall* call, rpc::DoneCallback done);
  static absl::Status ReadOutcome(const absl::Status& rpc, const ReadCall& call);
  // Fills `out` from `offset` in calls of kMaxIoSize; returns how many bytes (fewer only at
  // the end of the file).
  [[nodiscard]] absl::StatusOr<size_t> ReadFully(uint64_t ino, uint64_t fh, int64_t offset,
                                                 std::span<std::byte> out);
  // Writes `data` (at most kMaxIoSize bytes) at `offset` in one call and returns how many
  // bytes the server wrote. The buffer comes back in `data` when the channel returns it
  // (a LinkChannel does for its own DMA buffers), ready to fill again; otherwise `data` is
  // left empty.
  [[nodiscard]] absl::StatusOr<uint32_t> Write(uint64_t ino, uint64_t fh, int64_t offset,
                                               rpc::Attachment& data);
  // Writes all of `data` at `offset`, in calls of kMaxIoSize through channel buffers.
  [[nodiscard]] absl::Status WriteFully(uint64_t ino, uint64_t fh, int64_t offset,
                                        std::span<const std::byte> data);
  [[nodiscard]] absl::Status Flush(uint64_t ino, uint64_t fh);
  [[nodiscard]] absl::Status Release(uint64_t ino, uint64_t fh);
  [[nodiscard]] absl::Status Fsync(uint64_t ino, uint64_t fh, bool datasync = false);
  [[nodiscard]] absl::StatusOr<uint64_t> OpenDir(uint64_t ino);
  // The entries from position `offset`, at most `size` bytes of them packed (fs.proto);
  // empty at the end. The next call's offset is the last entry's `next`.
  [[nodiscard]] absl::StatusOr<std::vector<DirEntry>> ReadDir(uint64_t ino, uint64_t fh,
                                                              uint64_t offset,
                                                              uint32_t size = kMaxIoSize);
  [[nodiscard]] absl::Status ReleaseDir(uint64_t ino, uint64_t fh);
  // ReadDir with each entry's Entry (fs.proto's ReadDirPlus): every entry that has one
  // (all but "." and "..", when the caller may search the directory) holds a lookup that
  // is the caller's to Forget.
  [[nodiscard]] absl::StatusOr<ReadDirPlusResponse> ReadDirPlus(uint64_t ino, uint64_t fh,
                                                                uint64_t offset,
                                                                uint32_t size = kMaxIoSize);
  // fallocate(2) through a handle open for writing; `mode` an OR of FallocateFlag.
  [[nodiscard]] absl::Status Fallocate(uint64_t ino, uint64_t fh, uint32_t mode, int64_t offset,
                                       int64_t length);
  // copy_file_range(2) inside the server; how many bytes it copied (at most kMaxCopySize,
  // fewer at the end of the input, 0 past it).
  [[nodiscard]] absl::StatusOr<uint64_t> CopyFileRange(uint64_t ino_in, uint64_t fh_in,
                                                       int64_t offset_in, uint64_t ino_out,
                                                       uint64_t fh_out, int64_t offset_out,
                                                       uint64_t length);

  // Extended attributes (fs.proto). `flags`: an OR of XattrFlag.
  [[nodiscard]] absl::Status SetXattr(uint64_t ino, absl::string_view name, absl::string_view value,
                                      uint32_t flags = 0);
  // The value (response.value()) and its size; with `size` 0 only the size, as
  // getxattr(2) with size 0.
  [[nodiscard]] absl::StatusOr<GetXattrResponse> GetXattr(uint64_t ino, absl::string_view name,
                                                          uint32_t size = kMaxXattrValue);
  // The names, each followed by a NUL (`size` as GetXattr's).
  [[nodiscard]] absl::StatusOr<ListXattrResponse> ListXattr(uint64_t ino,
                                                            uint32_t size = kMaxXattrValue);
  [[nodiscard]] absl::Status RemoveXattr(uint64_t ino, absl::string_view name);

  // --- The path layer. Errors name the operation and the path. ---

  // The inode `path` names, with one lookup held (none for the root).
  [[nodiscard]] absl::StatusOr<LookupRef> Resolve(absl::string_view path);
  // stat(2), not following a final symlink (lstat).
  [[nodiscard]] absl::StatusOr<Attr> Stat(absl::string_view path);
  // The entries of a directory, without "." and "..", in the server's order.
  [[nodiscard]] absl::StatusOr<std::vector<DirEntry>> List(absl::string_view path);
  [[nodiscard]] absl::Status MakeDirectory(absl::string_view path, uint32_t mode = 0755);
  // Removes a file, symlink or empty directory.
  [[nodiscard]] absl::Status Remove(absl::string_view path);
  // rename(2) (renameat2 with `flags`).
  [[nodiscard]] absl::Status Move(absl::string_view from, absl::string_view to, uint32_t flags = 0);
  // Hands the file's bytes to `sink` piece by piece (each at most kMaxIoSize, read in place
  // from the server's buffer); stops at the first error `sink` returns.
  [[nodiscard]] absl::Status ReadFile(
      absl::string_view path, absl::FunctionRef<absl::Status(std::span<const std::byte>)> sink);
  [[nodiscard]] absl::StatusOr<std::string> ReadFileToString(absl::string_view path);
  // Creates the file (or truncates an existing one) and writes what `source` gives: each
  // call fills a buffer of kMaxIoSize bytes (a DMA buffer of the channel's, sent without a
  // copy) and returns how many bytes it put there, 0 at the end.
  [[nodiscard]] absl::Status WriteFile(
      absl::string_view path, uint32_t mode,
      absl::FunctionRef<absl::StatusOr<size_t>(std::span<std::byte>)> source);
  [[nodiscard]] absl::Status WriteFileFromString(absl::string_view path, absl::string_view contents,
                                                 uint32_t mode = 0644);

 private:
  // The directory that holds the last component of `path`, and that component.
  absl::Status ResolveParent(absl::string_view path, LookupRef* parent, std::string* name);
  // A buffer of kMaxIoSize bytes for Write, from the channel.
  absl::StatusOr<rpc::Attachment> WriteBuffer();

  // Puts on_behalf_of_, when set, into `request`.
  template <typename Request>
  void Stamp(Request* request) const {
    if (on_behalf_of_.has_value()) *request->mutable_on_behalf_of() = *on_behalf_of_;
  }

  std::shared_ptr<rpc::Channel> channel_;
  FileSystemStub stub_;
  std::optional<OnBehalfOf> on_behalf_of_;
};

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_FS_CLIENT_H_
