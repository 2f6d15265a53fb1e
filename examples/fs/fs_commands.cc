#include "examples/fs/fs_commands.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"

namespace syslink::examples::fs {

const char kFsCommandsHelp[] =
    "commands (server paths are from the server's root):\n"
    "  ls [-l] [PATH...]     list directories (default /); -l: mode, links, owner, size, time\n"
    "  stat PATH...          show an inode's attributes (a symlink's own, not its target's)\n"
    "  cat PATH...           write files to standard output\n"
    "  put LOCAL REMOTE      copy a local file to the server (into REMOTE if a directory),\n"
    "                        128 KiB per call, each sent as a zero-copy DMA attachment\n"
    "  get REMOTE LOCAL      copy a file from the server (into LOCAL if a directory)\n"
    "  mkdir PATH...         make directories (mode 0777 less the umask)\n"
    "  rm PATH...            remove files, symlinks and empty directories\n"
    "  mv FROM TO            rename (into TO if it is a directory)\n";

namespace {

using Args = std::vector<std::string>;

struct Streams {
  FsClient& fs;
  std::FILE* out;
  std::FILE* err;

  // Reports `status` when it failed; returns whether it succeeded.
  bool Check(const absl::Status& status) const {
    if (status.ok()) return true;
    std::fprintf(err, "fs: %s\n",
                 status.GetPayload(kErrnoPayloadUrl) ? std::string(status.message()).c_str()
                                                     : status.ToString().c_str());
    return false;
  }
  // Reports a failure; returns the exit code for it.
  int Fail(const absl::Status& status) const {
    Check(status);
    return 1;
  }
};

// The inode `path` names, its errors told as `command`'s.
absl::StatusOr<LookupRef> Resolve(const Streams& s, absl::string_view command,
                                  const std::string& path) {
  absl::StatusOr<LookupRef> ref = s.fs.Resolve(path);
  if (!ref.ok() && ref.status().GetPayload(kErrnoPayloadUrl).has_value()) {
    return ErrnoError(ErrnoOf(ref.status()), absl::StrCat(command, " ", path));
  }
  return ref;
}

std::string Basename(absl::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  return std::string(slash == path.npos ? path : path.substr(slash + 1));
}

std::string FormatTime(int64_t ns) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%E9S %z", absl::FromUnixNanos(ns), absl::LocalTimeZone());
}

const char* TypeName(uint32_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return "regular file";
    case S_IFDIR:
      return "directory";
    case S_IFLNK:
      return "symbolic link";
    case S_IFIFO:
      return "fifo";
    case S_IFSOCK:
      return "socket";
    case S_IFCHR:
      return "character special file";
    case S_IFBLK:
      return "block special file";
  }
  return "unknown";
}

// One `ls -l` line for `name`.
void PrintLong(const Streams& s, const Attr& attr, const std::string& name, uint64_t ino) {
  std::string target;
  if (S_ISLNK(attr.mode())) {
    absl::StatusOr<std::string> read = s.fs.ReadLink(ino);
    if (read.ok()) target = " -> " + *read;
  }
  std::fprintf(s.out, "%s %3u %6u %6u %10llu %s %s%s\n", ModeString(attr.mode()).c_str(),
               attr.nlink(), attr.uid(), attr.gid(), static_cast<unsigned long long>(attr.size()),
               absl::FormatTime("%Y-%m-%d %H:%M", absl::FromUnixNanos(attr.mtime_ns()),
                                absl::LocalTimeZone())
                   .c_str(),
               name.c_str(), target.c_str());
}

bool ListOne(const Streams& s, const std::string& path, bool long_format) {
  absl::StatusOr<LookupRef> ref = Resolve(s, "ls", path);
  if (!s.Check(ref.status())) return false;
  if (!S_ISDIR(ref->attr().mode())) {  // ls of a file shows the file
    if (long_format) {
      PrintLong(s, ref->attr(), path, ref->ino());
    } else {
      std::fprintf(s.out, "%s\n", path.c_str());
    }
    return true;
  }
  absl::StatusOr<std::vector<DirEntry>> entries = s.fs.List(path);
  if (!s.Check(entries.status())) return false;
  bool ok = true;
  for (const DirEntry& entry : *entries) {
    if (!long_format) {
      std::fprintf(s.out, "%s%s\n", entry.name.c_str(), entry.type == (S_IFDIR >> 12) ? "/" : "");
      continue;
    }
    absl::StatusOr<Entry> child = s.fs.Lookup(ref->ino(), entry.name);
    if (!s.Check(child.status())) {
      ok = false;
      continue;
    }
    LookupRef held(&s.fs, *child);
    PrintLong(s, child->attr(), entry.name, child->ino());
  }
  return ok;
}

int Ls(const Streams& s, Args args) {
  bool long_format = !args.empty() && args[0] == "-l";
  if (long_format) args.erase(args.begin());
  if (args.empty()) args.push_back("/");
  bool ok = true;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args.size() > 1) std::fprintf(s.out, "%s%s:\n", i > 0 ? "\n" : "", args[i].c_str());
    ok &= ListOne(s, args[i], long_format);
  }
  return ok ? 0 : 1;
}

int Stat(const Streams& s, const Args& args) {
  bool ok = true;
  for (const std::string& path : args) {
    absl::StatusOr<LookupRef> ref = Resolve(s, "stat", path);
    if (!s.Check(ref.status())) {
      ok = false;
      continue;
    }
    const Attr& a = ref->attr();
    std::string target;
    if (S_ISLNK(a.mode())) {
      absl::StatusOr<std::string> read = s.fs.ReadLink(a.ino());
      if (read.ok()) target = " -> " + *read;
    }
    std::fprintf(s.out,
                 "  File: %s%s\n  Size: %-12llu Blocks: %-10llu IO Block: %-6u %s\n"
                 " Inode: %-12llu Links: %u%s\n"
                 "Access: (%04o/%s)  Uid: %u  Gid: %u\n"
                 "Access: %s\nModify: %s\nChange: %s\n",
                 path.c_str(), target.c_str(), static_cast<unsigned long long>(a.size()),
                 static_cast<unsigned long long>(a.blocks()), a.blksize(), TypeName(a.mode()),
                 static_cast<unsigned long long>(a.ino()), a.nlink(),
                 S_ISCHR(a.mode()) || S_ISBLK(a.mode())
                     ? absl::StrFormat("  Device: %d,%d", a.rdev() >> 8, a.rdev() & 0xff).c_str()
                     : "",
                 a.mode() & 07777, ModeString(a.mode()).c_str(), a.uid(), a.gid(),
                 FormatTime(a.atime_ns()).c_str(), FormatTime(a.mtime_ns()).c_str(),
                 FormatTime(a.ctime_ns()).c_str());
  }
  return ok ? 0 : 1;
}

int Cat(const Streams& s, const Args& args) {
  bool ok = true;
  for (const std::string& path : args) {
    ok &= s.Check(s.fs.ReadFile(path, [&](std::span<const std::byte> piece) {
      if (std::fwrite(piece.data(), 1, piece.size(), s.out) != piece.size()) {
        const int error = errno;
        return ErrnoError(error, "cat: writing standard output");
      }
      return absl::OkStatus();
    }));
  }
  return ok ? 0 : 1;
}

// `to`, or `to`/basename(`from`) when `is_dir(to)`.
std::string Destination(const std::string& from, const std::string& to,
                        const std::function<bool(const std::string&)>& is_dir) {
  return is_dir(to) ? absl::StrCat(to, to.ends_with('/') ? "" : "/", Basename(from)) : to;
}

int Put(const Streams& s, const std::string& local, const std::string& remote) {
  UniqueFd fd(open(local.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st;
  if (!fd.valid() || fstat(fd.get(), &st) != 0) {
    const int error = errno;
    return s.Fail(ErrnoError(error, absl::StrCat("put: ", local)));
  }
  if (S_ISDIR(st.st_mode)) return s.Fail(ErrnoError(EISDIR, "put: " + local));
  std::string to = Destination(local, remote, [&](const std::string& path) {
    absl::StatusOr<Attr> attr = s.fs.Stat(path);
    return attr.ok() && S_ISDIR(attr->mode());
  });
  absl::Status status = s.fs.WriteFile(
      to, st.st_mode & 07777, [&](std::span<std::byte> buffer) -> absl::StatusOr<size_t> {
        size_t filled = 0;  // fill the whole buffer: fewer, fuller calls
        while (filled < buffer.size()) {
          ssize_t n = read(fd.get(), buffer.data() + filled, buffer.size() - filled);
          if (n < 0 && errno == EINTR) continue;
          if (n < 0) {
            const int error = errno;
            return ErrnoError(error, absl::StrCat("put: reading ", local));
          }
          if (n == 0) break;
          filled += n;
        }
        return filled;
      });
  return s.Check(status) ? 0 : 1;
}

int Get(const Streams& s, const std::string& remote, const std::string& local) {
  std::string to = Destination(remote, local, [](const std::string& path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  });
  absl::StatusOr<Attr> attr = s.fs.Stat(remote);
  if (!s.Check(attr.status())) return 1;
  if (S_ISDIR(attr->mode())) return s.Fail(ErrnoError(EISDIR, "get: " + remote));
  UniqueFd fd(open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666));
  if (!fd.valid()) {
    const int error = errno;
    return s.Fail(ErrnoError(error, absl::StrCat("get: ", to)));
  }
  absl::Status status = s.fs.ReadFile(remote, [&](std::span<const std::byte> piece) {
    size_t done = 0;
    while (done < piece.size()) {
      ssize_t n = write(fd.get(), piece.data() + done, piece.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int error = errno;
        return ErrnoError(error, absl::StrCat("get: writing ", to));
      }
      done += n;
    }
    return absl::OkStatus();
  });
  return s.Check(status) ? 0 : 1;
}

int Mkdir(const Streams& s, const Args& args) {
  const mode_t mask = umask(0);
  umask(mask);
  bool ok = true;
  for (const std::string& path : args) ok &= s.Check(s.fs.MakeDirectory(path, 0777 & ~mask));
  return ok ? 0 : 1;
}

int Rm(const Streams& s, const Args& args) {
  bool ok = true;
  for (const std::string& path : args) ok &= s.Check(s.fs.Remove(path));
  return ok ? 0 : 1;
}

int Mv(const Streams& s, const std::string& from, const std::string& to) {
  std::string destination = Destination(from, to, [&](const std::string& path) {
    absl::StatusOr<Attr> attr = s.fs.Stat(path);
    return attr.ok() && S_ISDIR(attr->mode());
  });
  return s.Check(s.fs.Move(from, destination)) ? 0 : 1;
}

int Usage(const Streams& s, const std::string& why) {
  std::fprintf(s.err, "fs: %s\n\n%s", why.c_str(), kFsCommandsHelp);
  return 2;
}

}  // namespace

std::string ModeString(uint32_t mode) {
  static const std::map<uint32_t, char> kTypes = {{S_IFDIR, 'd'}, {S_IFREG, '-'},  {S_IFLNK, 'l'},
                                                  {S_IFIFO, 'p'}, {S_IFSOCK, 's'}, {S_IFCHR, 'c'},
                                                  {S_IFBLK, 'b'}};
  auto type = kTypes.find(mode & S_IFMT);
  std::string out(1, type == kTypes.end() ? '?' : type->second);
  const char* kRwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i) out += (mode & (0400 >> i)) ? kRwx[i] : '-';
  if (mode & S_ISUID) out[3] = (mode & S_IXUSR) ? 's' : 'S';
  if (mode & S_ISGID) out[6] = (mode & S_IXGRP) ? 's' : 'S';
  if (mode & S_ISVTX) out[9] = (mode & S_IXOTH) ? 't' : 'T';
  return out;
}

int RunFsCommand(FsClient& fs, const std::vector<std::string>& args, std::FILE* out,
                 std::FILE* err) {
  Streams s{fs, out, err};
  if (args.empty()) return Usage(s, "no command");
  const std::string& command = args[0];
  const Args rest(args.begin() + 1, args.end());
  int code;
  if (command == "ls") {
    code = Ls(s, rest);
  } else if (command == "stat" || command == "cat" || command == "mkdir" || command == "rm") {
    if (rest.empty()) return Usage(s, command + ": no path given");
    code = command == "stat"    ? Stat(s, rest)
           : command == "cat"   ? Cat(s, rest)
           : command == "mkdir" ? Mkdir(s, rest)
                                : Rm(s, rest);
  } else if (command == "put" || command == "get" || command == "mv") {
    if (rest.size() != 2) return Usage(s, command + ": needs two paths");
    code = command == "put"   ? Put(s, rest[0], rest[1])
           : command == "get" ? Get(s, rest[0], rest[1])
                              : Mv(s, rest[0], rest[1]);
  } else {
    return Usage(s, "unknown command \"" + command + "\"");
  }
  std::fflush(out);
  return code;
}

}  // namespace syslink::examples::fs
