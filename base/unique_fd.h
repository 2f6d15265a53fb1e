// UniqueFd: sole ownership of a file descriptor, closed when the owner goes away.
//
//   UniqueFd fd(memfd_create("x", MFD_CLOEXEC));
//   if (!fd.valid()) return ErrnoStatus("memfd_create");
//   Use(fd.get());
//
// Thread safety: like any value type; one UniqueFd must not be used from two threads at once.
// Ownership: the object owns the descriptor; Release() hands it back to the caller.

#ifndef SYSLINK_BASE_UNIQUE_FD_H_
#define SYSLINK_BASE_UNIQUE_FD_H_

#include <unistd.h>

#include <utility>

namespace syslink {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) Reset(other.Release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  bool valid() const { return fd_ >= 0; }
  int get() const { return fd_; }

  // Gives up ownership without closing.
  [[nodiscard]] int Release() { return std::exchange(fd_, -1); }

  // Closes the current descriptor, if any, and owns `fd` instead.
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace syslink

#endif  // SYSLINK_BASE_UNIQUE_FD_H_
