#include "examples/fs/fs_format.h"

#include <cstring>

#include "absl/strings/str_format.h"

namespace syslink::examples::fs {
namespace {

static_assert(DirEntrySize(1) == 32);
static_assert(DirEntrySize(8) == 32);
static_assert(DirEntrySize(9) == 40);
static_assert(DirEntrySize(kMaxNameLength) <= kMaxIoSize);

// Little-endian stores and loads, whatever the host.
void Store(std::byte* out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out[i] = static_cast<std::byte>(value >> (8 * i));
}

uint64_t Load(const std::byte* in, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value |= static_cast<uint64_t>(in[i]) << (8 * i);
  return value;
}

absl::Status Malformed(size_t at, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrFormat("malformed directory entry at byte %d: %s", at, why));
}

}  // namespace

bool EncodeDirEntry(uint64_t ino, uint64_t next, uint32_t type, absl::string_view name,
                    std::span<std::byte> out, size_t* used) {
  const size_t size = DirEntrySize(name.size());
  if (*used > out.size() || out.size() - *used < size) return false;
  std::byte* record = out.data() + *used;
  Store(record, ino, 8);
  Store(record + 8, next, 8);
  Store(record + 16, name.size(), 4);
  Store(record + 20, type, 4);
  std::memcpy(record + kDirEntryHeaderSize, name.data(), name.size());
  std::memset(record + kDirEntryHeaderSize + name.size(), 0,
              size - kDirEntryHeaderSize - name.size());
  *used += size;
  return true;
}

absl::StatusOr<std::vector<DirEntry>> DecodeDirEntries(std::span<const std::byte> bytes) {
  std::vector<DirEntry> entries;
  size_t at = 0;
  while (at < bytes.size()) {
    const size_t left = bytes.size() - at;
    if (left < kDirEntryHeaderSize) return Malformed(at, "a header cut short");
    const std::byte* record = bytes.data() + at;
    const uint64_t name_length = Load(record + 16, 4);
    if (name_length == 0 || name_length > kMaxNameLength) {
      return Malformed(at, absl::StrFormat("a name of %d bytes", name_length));
    }
    const size_t size = DirEntrySize(name_length);
    if (left < size) return Malformed(at, "a record cut short");
    DirEntry entry;
    entry.ino = Load(record, 8);
    entry.next = Load(record + 8, 8);
    entry.type = static_cast<uint32_t>(Load(record + 20, 4));
    entry.name.assign(reinterpret_cast<const char*>(record + kDirEntryHeaderSize), name_length);
    if (entry.name.find_first_of(std::string("/\0", 2)) != std::string::npos) {
      return Malformed(at, "a name holding '/' or NUL");
    }
    for (size_t i = kDirEntryHeaderSize + name_length; i < size; ++i) {
      if (record[i] != std::byte{0}) return Malformed(at, "non-zero padding");
    }
    entries.push_back(std::move(entry));
    at += size;
  }
  return entries;
}

}  // namespace syslink::examples::fs
