#include "ring/shared_region.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/errno_status.h"

namespace syslink::ring {
namespace {

// Maps `size` bytes of `fd` shared, its first `populate_bytes` pre-faulted, excluded from
// fork().
absl::StatusOr<std::byte*> MapShared(int fd, size_t size, size_t populate_bytes) {
  bool all = populate_bytes >= size;
  void* address =
      mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | (all ? MAP_POPULATE : 0), fd, 0);
  if (address == MAP_FAILED) return ErrnoStatus("mmap of shared region");
  if (!all && populate_bytes > 0) {
    // Best effort: without it (a kernel before 5.14) the prefix faults in on first use.
    (void)madvise(address, populate_bytes, MADV_POPULATE_WRITE);
  }
  if (madvise(address, size, MADV_DONTFORK) != 0) {
    absl::Status status = ErrnoStatus("madvise(MADV_DONTFORK) of shared region");
    munmap(address, size);
    return status;
  }
  return static_cast<std::byte*>(address);
}

std::string DescribeSeals(int seals) {
  std::string names;
  auto add = [&](int seal, const char* name) {
    if ((seals & seal) == 0) return;
    absl::StrAppend(&names, names.empty() ? "" : "|", name);
  };
  add(F_SEAL_SEAL, "SEAL");
  add(F_SEAL_SHRINK, "SHRINK");
  add(F_SEAL_GROW, "GROW");
  add(F_SEAL_WRITE, "WRITE");
  return names.empty() ? "none" : names;
}

}  // namespace

int RequiredSeals() { return F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL; }

absl::StatusOr<SharedRegion> SharedRegion::Create(const std::string& name, size_t size,
                                                  size_t populate_bytes) {
  if (size == 0) return absl::InvalidArgumentError("shared region size must not be 0");
  UniqueFd fd(memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd.valid()) return ErrnoStatus("memfd_create");
  if (ftruncate(fd.get(), static_cast<off_t>(size)) != 0) {
    return ErrnoStatus(absl::StrCat("ftruncate of shared region to ", size, " bytes"));
  }
  if (fchmod(fd.get(), 0600) != 0) return ErrnoStatus("fchmod of shared region");
  if (fcntl(fd.get(), F_ADD_SEALS, RequiredSeals()) != 0) {
    return ErrnoStatus("fcntl(F_ADD_SEALS) on shared region");
  }
  absl::StatusOr<std::byte*> data = MapShared(fd.get(), size, populate_bytes);
  if (!data.ok()) return data.status();
  return SharedRegion(std::move(fd), *data, size);
}

absl::StatusOr<SharedRegion> SharedRegion::Map(UniqueFd fd, size_t expected_size,
                                               size_t populate_bytes) {
  if (expected_size == 0) return absl::InvalidArgumentError("shared region size must not be 0");
  int seals = fcntl(fd.get(), F_GET_SEALS);
  if (seals < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "refusing to map descriptor ", fd.get(),
        ": it does not support seals (not a memfd?): ", ErrnoStatus("F_GET_SEALS").message()));
  }
  if ((seals & RequiredSeals()) != RequiredSeals()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "refusing to map shared region: it must be sealed SEAL|SHRINK|GROW but has seals %s; "
        "an unsealed region could be truncated under this process",
        DescribeSeals(seals)));
  }
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return ErrnoStatus("fstat of shared region");
  if (static_cast<uint64_t>(st.st_size) != expected_size) {
    return absl::InvalidArgumentError(
        absl::StrFormat("refusing to map shared region: it holds %d bytes, expected exactly %d",
                        st.st_size, expected_size));
  }
  absl::StatusOr<std::byte*> data = MapShared(fd.get(), expected_size, populate_bytes);
  if (!data.ok()) return data.status();
  return SharedRegion(std::move(fd), *data, expected_size);
}

SharedRegion::SharedRegion(UniqueFd fd, std::byte* data, size_t size)
    : fd_(std::move(fd)), data_(data), size_(size), mapped_by_(getpid()) {}

SharedRegion::SharedRegion(SharedRegion&& other) noexcept
    : fd_(std::move(other.fd_)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapped_by_(other.mapped_by_) {}

SharedRegion& SharedRegion::operator=(SharedRegion&& other) noexcept {
  if (this != &other) {
    Unmap();
    fd_ = std::move(other.fd_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapped_by_ = other.mapped_by_;
  }
  return *this;
}

SharedRegion::~SharedRegion() { Unmap(); }

void SharedRegion::Unmap() {
  // In a forked child the mapping was not inherited (MADV_DONTFORK) and its address range
  // may since hold something else: leave it alone.
  if (data_ != nullptr && mapped_by_ == getpid()) munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace syslink::ring
