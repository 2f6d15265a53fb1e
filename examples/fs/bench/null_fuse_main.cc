// null_fuse: a FUSE filesystem with nothing behind it. It serves one read-only file whose
// bytes come from a constant buffer in this process, so a read through it costs what the
// kernel's FUSE path costs with a server that does no work: the /dev/fuse round trip, the
// copy of the reply into the page cache (or the reader's buffer) and the page cache itself.
// fs_benchmark reads through it beside the mount of memfs, as a reference for that path.
// It is not a bound: where the scheduler runs it, relative to the reader, can matter more
// than the server's work on a small VM.
//
//   null_fuse [--size=BYTES] MOUNTPOINT
//
// It mounts with fs_mount's I/O settings (128 KiB reads and writes, kept page cache, no
// writeback cache) but caches entries and attributes for an hour, runs in the foreground
// on libfuse's single-threaded loop, and unmounts on SIGINT/SIGTERM. Its root cannot be
// listed (readdir is ENOSYS): the one name in it is `file`.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "examples/fs/fs_format.h"
#include "examples/fs/fuse/serve_mounted.h"  // <fuse3/fuse_lowlevel.h>, FUSE_USE_VERSION 312

namespace syslink::examples::fs {
namespace {

constexpr char kUsage[] =
    "usage: null_fuse [--size=BYTES] MOUNTPOINT\n"
    "\n"
    "Mounts a FUSE filesystem with no server behind it at MOUNTPOINT: one read-only file,\n"
    "MOUNTPOINT/file, whose reads are answered from a constant buffer in this process.\n"
    "Reading it measures the kernel's FUSE path with a server that does no work.\n"
    "The root cannot be listed. Runs in the foreground; SIGINT or SIGTERM unmounts and\n"
    "exits.\n"
    "\n"
    "  --size=BYTES   the file's size, at most 2^63 - 1 (default 1073741824, 1 GiB)\n";

constexpr fuse_ino_t kFileIno = 2;
constexpr char kFileName[] = "file";

uint64_t file_size = uint64_t{1} << 30;

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
  if (ino == FUSE_ROOT_ID) {
    st->st_mode = S_IFDIR | 0755;
    st->st_nlink = 2;
  } else if (ino == kFileIno) {
    st->st_mode = S_IFREG | 0444;
    st->st_nlink = 1;
    st->st_size = static_cast<off_t>(file_size);
  } else {
    return false;
  }
  return true;
}

void Init(void*, fuse_conn_info* conn) {  // as fs_mount's bridge sets them
  conn->max_write = kMaxIoSize;
  conn->max_read = kMaxIoSize;
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
}

void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  if (parent != FUSE_ROOT_ID || std::strcmp(name, kFileName) != 0) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  fuse_entry_param entry{};
  entry.ino = kFileIno;
  Attributes(kFileIno, &entry.attr);
  entry.attr_timeout = entry.entry_timeout = 3600;
  fuse_reply_entry(req, &entry);
}

void GetAttr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  struct stat st;
  if (!Attributes(ino, &st)) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  fuse_reply_attr(req, &st, 3600);
}

void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  if (ino != kFileIno) {
    fuse_reply_err(req, EISDIR);
  } else if ((fi->flags & O_ACCMODE) != O_RDONLY) {
    fuse_reply_err(req, EACCES);
  } else {
    fi->keep_cache = 1;  // fs_mount's default, --cache=keep
    fuse_reply_open(req, fi);
  }
}

void Read(fuse_req_t req, fuse_ino_t, size_t size, off_t offset, fuse_file_info*) {
  const uint64_t at = static_cast<uint64_t>(offset);
  size_t n = at >= file_size ? 0 : std::min<uint64_t>(size, file_size - at);
  n = std::min<size_t>(n, kMaxIoSize);
  fuse_reply_buf(req, Bytes().data() + at % kMaxIoSize, n);
}

int Run(const std::string& mountpoint) {
  fuse_lowlevel_ops ops{};
  ops.init = Init;
  ops.lookup = Lookup;
  ops.getattr = GetAttr;
  ops.open = Open;
  ops.read = Read;
  std::string options =
      absl::StrCat("default_permissions,max_read=", kMaxIoSize, ",fsname=null_fuse,subtype=null");
  std::vector<char*> argv = {const_cast<char*>("null_fuse"), const_cast<char*>("-o"),
                             options.data()};
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
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (arg.rfind("--size=", 0) == 0) {
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
  return Run(mountpoint);
}
