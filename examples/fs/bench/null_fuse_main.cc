// null_fuse: a FUSE filesystem with nothing behind it, the reference fs_benchmark measures
// the mount of memfs against: what the kernel's FUSE path costs with a server that does no
// work. It serves
//   - one read-only file, `file`, whose bytes come from a constant buffer in this process:
//     a read through it costs the /dev/fuse round trip, the copy of the reply into the page
//     cache (or the reader's buffer) and the page cache itself;
//   - a writable root: creating any other name (open with O_CREAT|O_WRONLY) makes an empty
//     file held in a table in this process, which lookup, stat, open, flush, release,
//     unlink and forget handle. It opens for writing only: writes to it are taken out of
//     the request and dropped, its size kept.
// It is not a bound: where the scheduler runs it, relative to the caller, can matter more
// than the server's work on a small VM.
//
//   null_fuse [--size=BYTES] [--debug] MOUNTPOINT
//
// It mounts with fs_mount's settings (default_permissions, 128 KiB reads, 1 MiB writes, kept
// page cache but direct I/O for write-only opens, no writeback cache, atomic O_TRUNC,
// entries and attributes cached for 1 s)
// but caches `file`'s entry and attributes for an hour. It answers every getxattr "no such
// attribute", as fs_mount does for a file without any, so that each write(2) sends the
// kernel's security.capability query here too. It runs in the foreground on libfuse's
// single-threaded loop (so its table needs no lock) and unmounts on SIGINT/SIGTERM. Its
// root cannot be listed (readdir is ENOSYS).

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "examples/fs/fs_format.h"
#include "examples/fs/fuse/serve_mounted.h"  // <fuse3/fuse_lowlevel.h>, FUSE_USE_VERSION 312

namespace syslink::examples::fs {
namespace {

constexpr char kUsage[] =
    "usage: null_fuse [--size=BYTES] [--debug] MOUNTPOINT\n"
    "\n"
    "Mounts a FUSE filesystem with no server behind it at MOUNTPOINT, to measure the\n"
    "kernel's FUSE path with a server that does no work:\n"
    "  MOUNTPOINT/file   read-only; its reads are answered from a constant buffer\n"
    "  MOUNTPOINT/NAME   any other name can be created (open with O_CREAT|O_WRONLY):\n"
    "                    an empty file kept in this process until unlinked, written\n"
    "                    only; writes to it are accepted and dropped, its size kept\n"
    "The root cannot be listed. Runs in the foreground; SIGINT or SIGTERM unmounts and\n"
    "exits.\n"
    "\n"
    "  --size=BYTES   the size of MOUNTPOINT/file, at most 2^63 - 1 (default 1073741824,\n"
    "                 1 GiB)\n"
    "  --debug        print every request to stderr (libfuse's -d)\n";

constexpr fuse_ino_t kFileIno = 2;
constexpr char kFileName[] = "file";
constexpr double kFileTimeout = 3600;  // `file` never changes
constexpr double kTimeout = 1;         // fs_mount's default --entry-timeout and --attr-timeout

uint64_t file_size = uint64_t{1} << 30;
uid_t owner_uid = 0;  // the root's and `file`'s: whoever runs null_fuse
gid_t owner_gid = 0;

// A file made by create. Its node lives while it has a name or the kernel holds it.
struct CreatedFile {
  mode_t mode = 0;  // permission bits
  uid_t uid = 0;    // the creator's
  gid_t gid = 0;
  uint64_t size = 0;     // one past the last byte written, or as truncated
  uint64_t lookups = 0;  // entries the kernel took, less those it forgot
  bool linked = true;    // false once unlinked
};

// The created files: their names in the root and their nodes. Only libfuse's one loop
// thread touches them.
std::map<std::string, fuse_ino_t, std::less<>> names;
std::unordered_map<fuse_ino_t, CreatedFile> created;
fuse_ino_t next_ino = kFileIno + 1;  // node ids are never reused

// The file's byte at offset o is Pattern(o % kMaxIoSize): not zeros, as a real file's
// would not be. Two periods of it, so that a read of up to kMaxIoSize at any offset is one
// slice.
char Pattern(size_t i) { return static_cast<char>(i * 131 % 251 + 1); }
const std::vector<char>& Bytes() {
  static const std::vector<char>* bytes = [] {
    auto* b = new std::vector<char>(2 * kMaxIoSize);
    for (size_t i = 0; i < b->size(); ++i) (*b)[i] = Pattern(i % kMaxIoSize);
    return b;
  }();
  return *bytes;
}

bool Attributes(fuse_ino_t ino, struct stat* st) {
  *st = {};
  st->st_ino = ino;
  st->st_uid = owner_uid;
  st->st_gid = owner_gid;
  if (ino == FUSE_ROOT_ID) {
    st->st_mode = S_IFDIR | 0755;
    st->st_nlink = 2;
  } else if (ino == kFileIno) {
    st->st_mode = S_IFREG | 0444;
    st->st_nlink = 1;
    st->st_size = static_cast<off_t>(file_size);
  } else if (auto it = created.find(ino); it != created.end()) {
    st->st_mode = S_IFREG | it->second.mode;
    st->st_nlink = it->second.linked ? 1 : 0;
    st->st_size = static_cast<off_t>(it->second.size);
    st->st_uid = it->second.uid;
    st->st_gid = it->second.gid;
  } else {
    return false;
  }
  return true;
}

double Timeout(fuse_ino_t ino) { return ino == kFileIno ? kFileTimeout : kTimeout; }

// The node `name` in the root names, or 0.
fuse_ino_t Find(fuse_ino_t parent, const char* name) {
  if (parent != FUSE_ROOT_ID) return 0;
  if (std::strcmp(name, kFileName) == 0) return kFileIno;
  auto it = names.find(std::string_view(name));
  return it == names.end() ? 0 : it->second;
}

// Takes `n` of the kernel's lookups off a created node; drops it when that was the last
// and it has no name.
void Forget(fuse_ino_t ino, uint64_t n) {
  auto it = created.find(ino);
  if (it == created.end()) return;
  it->second.lookups -= std::min(n, it->second.lookups);
  if (it->second.lookups == 0 && !it->second.linked) created.erase(it);
}

// Answers with `ino`'s entry (and the open file `fi`, for create); a created node counts
// the lookup the kernel takes with it.
void ReplyEntry(fuse_req_t req, fuse_ino_t ino, const fuse_file_info* fi) {
  fuse_entry_param entry{};
  entry.ino = ino;
  Attributes(ino, &entry.attr);
  entry.attr_timeout = entry.entry_timeout = Timeout(ino);
  const int sent =
      fi != nullptr ? fuse_reply_create(req, &entry, fi) : fuse_reply_entry(req, &entry);
  if (auto it = created.find(ino); sent == 0 && it != created.end()) ++it->second.lookups;
}

void Init(void*, fuse_conn_info* conn) {  // as fs_mount's bridge sets them, locks aside
  conn->max_write = kMountMaxWrite;
  conn->max_read = kMaxIoSize;
  if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC) conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
  if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA) conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  conn->time_gran = 1;
#if defined(__SANITIZE_THREAD__)
  // As in fs_mount: ThreadSanitizer runs a signal's handler only at a call it intercepts,
  // and splice(2), which write_buf makes libfuse read requests with, is not one.
  conn->want &= ~FUSE_CAP_SPLICE_READ;
#endif
}

void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  if (fuse_ino_t ino = Find(parent, name); ino != 0) return ReplyEntry(req, ino, nullptr);
  fuse_reply_err(req, ENOENT);
}

void ForgetOne(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  Forget(ino, nlookup);
  fuse_reply_none(req);
}

void ForgetMany(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  for (size_t i = 0; i < count; ++i) Forget(forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}

void GetAttr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  struct stat st;
  if (!Attributes(ino, &st)) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  fuse_reply_attr(req, &st, Timeout(ino));
}

// A created file's size and mode can change; it keeps no times, so setting them changes
// nothing. The root, `file` and every owner are fixed (EPERM).
void SetAttr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info*) {
  auto it = created.find(ino);
  if (it == created.end() || (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) != 0) {
    fuse_reply_err(req, EPERM);
    return;
  }
  if (to_set & FUSE_SET_ATTR_SIZE) it->second.size = static_cast<uint64_t>(attr->st_size);
  if (to_set & FUSE_SET_ATTR_MODE) it->second.mode = attr->st_mode & 07777;
  GetAttr(req, ino, nullptr);
}

void Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi) {
  int error = 0;
  if (parent != FUSE_ROOT_ID) {
    error = ENOENT;  // the root is the one directory
  } else if (Find(parent, name) != 0) {
    error = EEXIST;
  } else if ((fi->flags & O_ACCMODE) != O_WRONLY) {
    error = EACCES;  // a created file is written only
  }
  if (error != 0) {
    fuse_reply_err(req, error);
    return;
  }
  const fuse_ctx* caller = fuse_req_ctx(req);
  const fuse_ino_t ino = next_ino++;
  created[ino] = {.mode = mode & 07777, .uid = caller->uid, .gid = caller->gid};
  names.emplace(name, ino);
  fi->keep_cache = 1;  // fs_mount's default, --cache=keep
  fi->direct_io = 1;   // as fs_mount writes a file opened write-only
  ReplyEntry(req, ino, fi);
}

void Unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  const fuse_ino_t ino = Find(parent, name);
  if (ino == 0 || ino == kFileIno) {
    fuse_reply_err(req, ino == 0 ? ENOENT : EPERM);
    return;
  }
  names.erase(names.find(std::string_view(name)));
  created[ino].linked = false;
  Forget(ino, 0);  // dropped now if the kernel holds none of it
  fuse_reply_err(req, 0);
}

// `file` opens for reading only, a created file (whose bytes are dropped) for writing only.
int OpenError(fuse_ino_t ino, int flags) {
  if (ino == FUSE_ROOT_ID) return EISDIR;
  if (ino != kFileIno && !created.contains(ino)) return ENOENT;
  return (flags & O_ACCMODE) == (ino == kFileIno ? O_RDONLY : O_WRONLY) ? 0 : EACCES;
}

void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  if (int error = OpenError(ino, fi->flags); error != 0) {
    fuse_reply_err(req, error);
    return;
  }
  if (fi->flags & O_TRUNC) created[ino].size = 0;       // the kernel opens `file` read-only
  fi->keep_cache = 1;                                   // fs_mount's default, --cache=keep
  fi->direct_io = (fi->flags & O_ACCMODE) == O_WRONLY;  // as fs_mount
  fuse_reply_open(req, fi);
}

void Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info*) {
  if (ino != kFileIno) {  // created files are not opened for reading
    fuse_reply_err(req, EBADF);
    return;
  }
  const uint64_t at = static_cast<uint64_t>(offset);
  size_t n = at >= file_size ? 0 : std::min<uint64_t>(size, file_size - at);
  n = std::min<size_t>(n, kMaxIoSize);
  fuse_reply_buf(req, Bytes().data() + at % kMaxIoSize, n);
}

// Takes the bytes out of the request into a scratch buffer, as any server must to have
// them, and drops them.
void WriteBuf(fuse_req_t req, fuse_ino_t ino, fuse_bufvec* data, off_t offset, fuse_file_info*) {
  auto it = created.find(ino);
  if (it == created.end()) {  // `file` is opened read-only only
    fuse_reply_err(req, EBADF);
    return;
  }
  static std::vector<char>* scratch = new std::vector<char>(kMountMaxWrite);
  fuse_bufvec into = FUSE_BUFVEC_INIT(std::min<size_t>(fuse_buf_size(data), kMountMaxWrite));
  into.buf[0].mem = scratch->data();
  const ssize_t copied = fuse_buf_copy(&into, data, static_cast<fuse_buf_copy_flags>(0));
  if (copied < 0) {
    fuse_reply_err(req, static_cast<int>(-copied));
    return;
  }
  it->second.size = std::max(it->second.size, static_cast<uint64_t>(offset) + copied);
  fuse_reply_write(req, static_cast<size_t>(copied));
}

void Done(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); }

void GetXattr(fuse_req_t req, fuse_ino_t, const char*, size_t) { fuse_reply_err(req, ENODATA); }

int Run(const std::string& mountpoint, bool debug) {
  fuse_lowlevel_ops ops{};
  ops.init = Init;
  ops.lookup = Lookup;
  ops.forget = ForgetOne;
  ops.forget_multi = ForgetMany;
  ops.getattr = GetAttr;
  ops.setattr = SetAttr;
  ops.create = Create;
  ops.unlink = Unlink;
  ops.open = Open;
  ops.read = Read;
  ops.write_buf = WriteBuf;
  ops.flush = Done;
  ops.release = Done;
  ops.getxattr = GetXattr;
  std::string options =
      absl::StrCat("default_permissions,max_read=", kMaxIoSize, ",fsname=null_fuse,subtype=null");
  std::vector<char*> argv = {const_cast<char*>("null_fuse"), const_cast<char*>("-o"),
                             options.data()};
  if (debug) argv.push_back(const_cast<char*>("-d"));
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  fuse_session* session = fuse_session_new(&args, &ops, sizeof(ops), nullptr);
  fuse_opt_free_args(&args);
  if (session == nullptr) return 1;
  return ServeMounted(session, mountpoint, {.program = "null_fuse"});
}

}  // namespace
}  // namespace syslink::examples::fs

int main(int argc, char** argv) {
  using namespace syslink::examples::fs;
  std::string mountpoint;
  bool debug = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (arg == "--debug") {
      debug = true;
    } else if (arg.rfind("--size=", 0) == 0) {
      if (!absl::SimpleAtoi(arg.substr(7), &file_size) ||
          file_size > static_cast<uint64_t>(INT64_MAX)) {
        std::fprintf(stderr, "null_fuse: --size wants a number of bytes, not %s\n\n%s",
                     arg.c_str() + 7, kUsage);
        return 2;
      }
    } else if (arg.rfind("-", 0) == 0 || !mountpoint.empty()) {
      std::fprintf(stderr, "null_fuse: unexpected argument %s\n\n%s", arg.c_str(), kUsage);
      return 2;
    } else {
      mountpoint = arg;
    }
  }
  if (mountpoint.empty()) {
    std::fprintf(stderr, "null_fuse: no mount point given\n\n%s", kUsage);
    return 2;
  }
  owner_uid = getuid();
  owner_gid = getgid();
  return Run(mountpoint, debug);
}
