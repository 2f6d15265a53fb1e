// PassthroughFs's handles and data: Create, Open, Read, Write, Flush, Release, Fsync, the
// directory handles, OpenDir, ReadDir, ReleaseDir, and the lock sessions (Locks).

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "examples/fs/fs_format.h"
#include "examples/fs/memfs_tree.h"
#include "examples/fs/passthrough/answer.h"
#include "examples/fs/passthrough/passthrough_service.h"

namespace syslink::examples::fs {
namespace {

// The open(2) flags a client's are passed on as: fs.proto honours these, ignores others.
constexpr uint32_t kPassedFlags = O_ACCMODE | O_TRUNC | O_APPEND;

// Bytes of getdents64 records read at once.
constexpr size_t kDirentBufferSize = 32 * 1024;

// One record of getdents64's output (struct linux_dirent64), read field by field.
struct HostDirent {
  uint64_t ino;
  int64_t next;
  uint16_t size;
  uint8_t type;
  absl::string_view name;
};

HostDirent ParseDirent(const std::byte* record) {
  HostDirent entry;
  std::memcpy(&entry.ino, record + offsetof(struct dirent64, d_ino), sizeof(entry.ino));
  std::memcpy(&entry.next, record + offsetof(struct dirent64, d_off), sizeof(entry.next));
  std::memcpy(&entry.size, record + offsetof(struct dirent64, d_reclen), sizeof(entry.size));
  std::memcpy(&entry.type, record + offsetof(struct dirent64, d_type), sizeof(entry.type));
  entry.name = reinterpret_cast<const char*>(record + offsetof(struct dirent64, d_name));
  return entry;
}

}  // namespace

int PassthroughFs::OpenFile(const CallerScope& scope, uint64_t client, const HostInode& inode,
                            uint32_t flags, uint64_t* fh) {
  if (inode.is_dir()) return EISDIR;
  if (inode.type == S_IFLNK) return ELOOP;
  if (inode.type != S_IFREG) return ENXIO;  // never opened: a FIFO or device would act
  if ((flags & O_ACCMODE) == O_ACCMODE) return EINVAL;
  if (scope.checks()) {
    struct stat st;
    if (fstatat(inode.fd.get(), "", &st, AT_EMPTY_PATH) != 0) return errno;
    const int mask = ((flags & O_ACCMODE) != O_WRONLY ? kMayRead : 0) |
                     ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC) ? kMayWrite : 0);
    if (int error = scope.Check(st, mask); error != 0) return error;
  }
  UniqueFd fd;
  if (int error = Reopen(inode, flags & kPassedFlags, &fd); error != 0) return error;
  if (flags & O_TRUNC) {  // a truncate, as SetAttr's
    if (int error = scope.RemovePrivileges(fd.get()); error != 0) return error;
  }
  return AddHandle(client, inode.ino, std::move(fd), flags, /*dir=*/false, fh);
}

int PassthroughFs::AddHandle(uint64_t client, uint64_t ino, UniqueFd fd, uint32_t flags, bool dir,
                             uint64_t* fh) {
  const uint64_t added = handles_.Add(ino, std::move(fd), flags, dir, client);
  if (!clients_.AddHandle(client, added, ino, dir)) {
    (void)ReleaseHandle(ino, added, dir);
    return ENOTCONN;  // its process has ended meanwhile
  }
  *fh = added;
  return 0;
}

int PassthroughFs::MayCreateExisting(const CallerScope& scope, const struct stat& dir_st,
                                     const HostInode& inode) const {
  struct stat st;
  if (fstatat(inode.fd.get(), "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) return errno;
  return protected_creates_.MayCreate(dir_st, st, scope.caller().uid);
}

int PassthroughFs::DoCreate(const CallerScope& scope, uint64_t client, const CreateRequest& request,
                            CreateResponse* out) {
  const uint32_t flags = request.flags();
  InodeRef dir;
  struct stat dir_st;
  if (int error = FindDir(request.parent(), &dir, &dir_st); error != 0) return error;
  const std::string& name = request.name();
  if (int error = CheckName(name); error != 0) return error;
  if (int error = scope.Check(dir_st, kMayExec); error != 0) return error;
  if ((flags & O_ACCMODE) == O_ACCMODE) return EINVAL;
  if (name == "." || name == "..") return (flags & O_EXCL) ? EEXIST : EISDIR;
  struct stat existing;
  const bool exists =
      scope.checks() && fstatat(dir->fd.get(), name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0;
  if (exists && (flags & O_EXCL)) return EEXIST;
  if (!exists) {
    if (int error = scope.CheckChange(dir_st); error != 0) return error;
    // Made here, or found made: an existing name is opened as Open does, below, never by
    // open(2) itself, which would open a FIFO or device.
    UniqueFd fd(openat(dir->fd.get(), name.c_str(),
                       (flags & (O_ACCMODE | O_APPEND)) | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                       scope.NewFileMode(request.mode())));
    if (fd.valid()) {
      UniqueFd path(open(ProcFdPath(fd.get()).c_str(), O_PATH | O_CLOEXEC));
      if (!path.valid()) return errno;
      if (int error = AddEntry(client, std::move(path), out->mutable_entry()); error != 0) {
        return error;
      }
      uint64_t fh = 0;
      if (int error =
              AddHandle(client, out->entry().ino(), std::move(fd), flags, /*dir=*/false, &fh);
          error != 0) {
        return error;
      }
      out->set_fh(fh);
      return 0;
    }
    if (errno != EEXIST || (flags & O_EXCL)) return errno;
  }
  if (int error = AddChildEntry(client, *dir, name, out->mutable_entry()); error != 0) {
    return error;
  }
  InodeRef inode = inodes_.Find(out->entry().ino());
  uint64_t fh = 0;
  int error = inode == nullptr ? ENOENT : MayCreateExisting(scope, dir_st, *inode);
  if (error == 0) error = OpenFile(scope, client, *inode, flags, &fh);
  if (error != 0) {
    ForgetFor(client, out->entry().ino(), 1);  // the lookup AddChildEntry counted
    return error;
  }
  out->set_fh(fh);
  return 0;
}

absl::Status PassthroughFs::Create(Context& context, const CreateRequest& request,
                                   CreateResponse* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  const uint64_t client = clients_.Join(context.peer());  // as the server, before the scope
  CallerScope scope = Enter(*caller);
  if (scope.error() != 0) return Answer(response, scope.error());
  return Answer(response, DoCreate(scope, client, request, response));
}

absl::Status PassthroughFs::Open(Context& context, const OpenRequest& request,
                                 OpenResponse* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  const uint64_t client = clients_.Join(context.peer());
  CallerScope scope = Enter(*caller);
  if (scope.error() != 0) return Answer(response, scope.error());
  InodeRef inode;
  if (int error = Find(request.ino(), &inode); error != 0) return Answer(response, error);
  uint64_t fh = 0;
  int error = OpenFile(scope, client, *inode, request.flags(), &fh);
  response->set_fh(fh);
  return Answer(response, error);
}

absl::Status PassthroughFs::Read(Context& context, const ReadRequest& request,
                                 ReadResponse* response) {
  std::shared_ptr<HostHandle> handle = handles_.Find(request.ino(), request.fh(), false);
  if (handle == nullptr || !handle->readable()) return Answer(response, EBADF);
  if (request.offset() < 0) return Answer(response, EINVAL);
  // No offset past the largest one: nothing there to read.
  const size_t size = static_cast<size_t>(
      std::min<uint64_t>(std::min(request.size(), kMaxIoSize), INT64_MAX - request.offset()));
  if (size == 0) return Answer(response, 0);
  absl::StatusOr<rpc::Attachment> out = context.AllocateAttachment(size);
  if (!out.ok()) return Answer(response, ENOMEM);  // the caller holds too many buffers
  std::span<std::byte> buffer = out->data().first(size);
  size_t done = 0;
  while (done < size) {
    const ssize_t n = pread(handle->fd.get(), buffer.data() + done, size - done,
                            request.offset() + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Answer(response, errno);
    if (n == 0) break;  // the end of the file
    done += static_cast<size_t>(n);
  }
  if (done > 0) {
    out->resize(done);
    context.set_response_attachment(*std::move(out));
  }
  return Answer(response, 0);
}

absl::Status PassthroughFs::Write(Context& context, const WriteRequest& request,
                                  WriteResponse* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  std::shared_ptr<HostHandle> handle = handles_.Find(request.ino(), request.fh(), false);
  if (handle == nullptr || !handle->writable()) return Answer(response, EBADF);
  if (request.offset() < 0) return Answer(response, EINVAL);
  // As the caller: the kernel drops set-ID bits on a write by a caller who is not root.
  CallerScope scope = Enter(*caller);
  if (scope.error() != 0) return Answer(response, scope.error());
  std::span<const std::byte> in = context.request_attachment().data();
  if (in.size() > static_cast<uint64_t>(INT64_MAX - request.offset())) {
    return Answer(response, EFBIG);
  }
  // Checking for the caller, the server drops them itself, before the bytes land.
  if (!in.empty()) {
    if (int error = scope.RemovePrivileges(handle->fd.get()); error != 0) {
      return Answer(response, error);
    }
  }
  size_t done = 0;
  while (done < in.size()) {  // O_APPEND: the kernel writes at the end whatever the offset
    const ssize_t n = pwrite(handle->fd.get(), in.data() + done, in.size() - done,
                             request.offset() + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Answer(response, errno);
    done += static_cast<size_t>(n);
  }
  response->set_size(static_cast<uint32_t>(done));
  return Answer(response, 0);
}

absl::Status PassthroughFs::Flush(Context&, const HandleRequest& request, Result* response) {
  const bool found = handles_.Find(request.ino(), request.fh(), false) != nullptr;
  return Answer(response, found ? 0 : EBADF);
}

namespace {

// The host's name of the file `handle` is open on: {st_dev, st_ino}, which stay while the
// file exists however it is reached (the server's numbers change after a Forget).
int LockFileOf(const HostHandle& handle, LockFile* file) {
  struct stat st;
  if (fstat(handle.fd.get(), &st) != 0) return errno;
  *file = {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
  return 0;
}

}  // namespace

bool PassthroughFs::ReleaseHandle(uint64_t ino, uint64_t fh, bool dir) {
  std::shared_ptr<HostHandle> handle = handles_.Find(ino, fh, dir);
  if (handle == nullptr || !handles_.Remove(ino, fh, dir)) return false;
  clients_.RemoveHandle(handle->client, fh);
  LockFile file;
  if (!dir && LockFileOf(*handle, &file) == 0) locks_.DropHandle(file, fh);
  return true;
}

absl::Status PassthroughFs::Release(Context&, const HandleRequest& request, Result* response) {
  return Answer(response, ReleaseHandle(request.ino(), request.fh(), /*dir=*/false) ? 0 : EBADF);
}

absl::Status PassthroughFs::Locks(Context&, LockStream* stream) {
  return ServeLockSession(stream, locks_,
                          [this](uint64_t ino, uint64_t fh, uint32_t* flags, LockFile* file) {
                            std::shared_ptr<HostHandle> handle = handles_.Find(ino, fh, false);
                            if (handle == nullptr || LockFileOf(*handle, file) != 0) return EBADF;
                            *flags = handle->flags;
                            return 0;
                          });
}

absl::Status PassthroughFs::Fsync(Context&, const HandleRequest& request, Result* response) {
  std::shared_ptr<HostHandle> handle = handles_.Find(request.ino(), request.fh(), false);
  if (handle == nullptr) return Answer(response, EBADF);
  const int fd = handle->fd.get();
  if ((request.datasync() ? fdatasync(fd) : fsync(fd)) != 0) return Answer(response, errno);
  return Answer(response, 0);
}

absl::Status PassthroughFs::OpenDir(Context& context, const OpenDirRequest& request,
                                    OpenResponse* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  const uint64_t client = clients_.Join(context.peer());
  CallerScope scope = Enter(*caller);
  if (scope.error() != 0) return Answer(response, scope.error());
  InodeRef dir;
  struct stat st;
  if (int error = FindDir(request.ino(), &dir, &st); error != 0) return Answer(response, error);
  if (int error = scope.Check(st, kMayRead); error != 0) return Answer(response, error);
  UniqueFd fd;
  if (int error = Reopen(*dir, O_RDONLY | O_DIRECTORY, &fd); error != 0) {
    return Answer(response, error);
  }
  uint64_t fh = 0;
  if (int error = AddHandle(client, dir->ino, std::move(fd), O_RDONLY, /*dir=*/true, &fh);
      error != 0) {
    return Answer(response, error);
  }
  response->set_fh(fh);
  return Answer(response, 0);
}

int PassthroughFs::DoReadDir(const ReadDirRequest& request, std::span<std::byte> out, size_t* used,
                             uint32_t* count) const {
  std::shared_ptr<HostHandle> handle = handles_.Find(request.ino(), request.fh(), true);
  if (handle == nullptr) return EBADF;
  if (out.empty()) return EINVAL;  // no room for one entry
  struct stat dir_st;
  if (fstat(handle->fd.get(), &dir_st) != 0) return errno;
  absl::MutexLock lock(&handle->dir_mutex);
  if (lseek(handle->fd.get(), static_cast<off_t>(request.offset()), SEEK_SET) < 0) return errno;
  std::vector<std::byte> records(kDirentBufferSize);
  while (true) {
    const long length = syscall(SYS_getdents64, handle->fd.get(), records.data(), records.size());
    if (length < 0) return errno;
    if (length == 0) return 0;  // the end
    for (long at = 0; at < length;) {
      const HostDirent entry = ParseDirent(records.data() + at);
      at += entry.size;
      uint64_t ino = inodes_.Known(dir_st.st_dev, entry.ino);
      if (entry.name == ".") ino = request.ino();
      if (entry.name == ".." && request.ino() == kRootIno) ino = kRootIno;
      if (ino == 0) ino = entry.ino;  // a file no client holds: the host's number
      if (!EncodeDirEntry(ino, static_cast<uint64_t>(entry.next), entry.type, entry.name, out,
                          used)) {
        return *count == 0 ? EINVAL : 0;  // full: the next call goes on from the last `next`
      }
      ++*count;
    }
  }
}

absl::Status PassthroughFs::ReadDir(Context& context, const ReadDirRequest& request,
                                    ReadDirResponse* response) {
  const size_t size = std::min(request.size(), kMaxIoSize);
  rpc::Attachment attachment;
  std::span<std::byte> out;
  if (size > 0) {
    absl::StatusOr<rpc::Attachment> allocated = context.AllocateAttachment(size);
    if (!allocated.ok()) return Answer(response, ENOMEM);
    attachment = *std::move(allocated);
    out = attachment.data().first(size);
  }
  size_t used = 0;
  uint32_t count = 0;
  if (int error = DoReadDir(request, out, &used, &count); error != 0) {
    return Answer(response, error);
  }
  if (used > 0) {
    attachment.resize(used);
    context.set_response_attachment(std::move(attachment));
  }
  response->set_entries(count);
  return Answer(response, 0);
}

absl::Status PassthroughFs::ReadDirPlus(Context& context, const ReadDirPlusRequest& request,
                                        ReadDirPlusResponse* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  const uint64_t client = clients_.Join(context.peer());
  CallerScope scope = Enter(*caller);
  if (scope.error() != 0) return Answer(response, scope.error());
  InodeRef dir;
  struct stat dir_st;
  if (int error = FindDir(request.ino(), &dir, &dir_st); error != 0) {
    return Answer(response, error);
  }
  // The entries as ReadDir packs them: never more bytes than ReadDirPlus's packing.
  const size_t budget = std::min(request.size(), kMaxIoSize);
  std::vector<std::byte> packed(budget);
  size_t used = 0;
  uint32_t count = 0;
  ReadDirRequest plain;
  plain.set_ino(request.ino());
  plain.set_fh(request.fh());
  plain.set_offset(request.offset());
  plain.set_size(static_cast<uint32_t>(budget));
  if (int error = DoReadDir(plain, packed, &used, &count); error != 0) {
    return Answer(response, error);
  }
  absl::StatusOr<std::vector<DirEntry>> entries = DecodeDirEntries(std::span(packed).first(used));
  if (!entries.ok()) return Answer(response, EIO);
  const bool search = scope.Check(dir_st, kMayExec) == 0;
  size_t spent = 0;
  for (const DirEntry& entry : *entries) {
    spent += DirEntryPlusSize(entry.name.size());
    if (spent > budget) break;
    DirEntryPlus* plus = response->add_entries();
    plus->set_name(entry.name);
    plus->set_ino(entry.ino);
    plus->set_next(entry.next);
    plus->set_type(entry.type);
    if (!search || entry.name == "." || entry.name == "..") continue;
    UniqueFd child;  // a name gone meanwhile, or not searchable as the caller: no Entry
    if (OpenChild(*dir, entry.name, &child) != 0 ||
        AddEntry(client, std::move(child), plus->mutable_entry()) != 0) {
      plus->clear_entry();
    }
  }
  if (response->entries_size() == 0 && !entries->empty()) return Answer(response, EINVAL);
  return Answer(response, 0);
}

absl::Status PassthroughFs::ReleaseDir(Context&, const HandleRequest& request, Result* response) {
  return Answer(response, ReleaseHandle(request.ino(), request.fh(), /*dir=*/true) ? 0 : EBADF);
}

}  // namespace syslink::examples::fs
