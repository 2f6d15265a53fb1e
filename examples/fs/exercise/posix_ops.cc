#include "examples/fs/exercise/posix_ops.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/unique_fd.h"

namespace syslink::examples::fs {
namespace {

// 0, or errno after a call that returned -1.
int Outcome(long result) { return result < 0 ? errno : 0; }

}  // namespace

std::string PosixOps::HostPath(const std::string& path) const {
  return path.empty() ? root_ : root_ + "/" + path;
}

int PosixOps::Create(const std::string& path) {
  UniqueFd fd(open(HostPath(path).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  return Outcome(fd.get());
}

int PosixOps::MakeDirectory(const std::string& path) {
  return Outcome(mkdir(HostPath(path).c_str(), 0755));
}

int PosixOps::Write(const std::string& path, int64_t offset, std::span<const std::byte> data) {
  UniqueFd fd(open(HostPath(path).c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return errno;
  while (!data.empty()) {
    ssize_t n = pwrite(fd.get(), data.data(), data.size(), offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return EIO;  // no progress: would loop forever
    data = data.subspan(n);
    offset += n;
  }
  return Outcome(close(fd.Release()));  // close reports what a flush found
}

int PosixOps::Read(const std::string& path, int64_t offset, size_t size, std::string* out) {
  out->clear();
  UniqueFd fd(open(HostPath(path).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno;
  out->resize(size);
  size_t done = 0;
  while (done < size) {
    ssize_t n = pread(fd.get(), out->data() + done, size - done, offset + done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) break;
    done += n;
  }
  out->resize(done);
  return 0;
}

int PosixOps::Truncate(const std::string& path, int64_t size) {
  return Outcome(truncate(HostPath(path).c_str(), size));
}

int PosixOps::Rename(const std::string& from, const std::string& to) {
  return Outcome(rename(HostPath(from).c_str(), HostPath(to).c_str()));
}

int PosixOps::Unlink(const std::string& path) { return Outcome(unlink(HostPath(path).c_str())); }

int PosixOps::Size(const std::string& path, int64_t* size) {
  struct stat st;
  if (lstat(HostPath(path).c_str(), &st) != 0) return errno;
  *size = st.st_size;
  return 0;
}

int PosixOps::List(const std::string& path, std::vector<std::string>* names) {
  names->clear();
  DIR* dir = opendir(HostPath(path).c_str());
  if (dir == nullptr) return errno;
  int error = 0;
  for (;;) {
    errno = 0;
    struct dirent* entry = readdir(dir);
    if (entry == nullptr) {
      error = errno;
      break;
    }
    if (std::strcmp(entry->d_name, ".") == 0 || std::strcmp(entry->d_name, "..") == 0) continue;
    names->push_back(entry->d_name);
  }
  closedir(dir);
  return error;
}

}  // namespace syslink::examples::fs
