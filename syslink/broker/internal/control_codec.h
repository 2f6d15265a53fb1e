// Encoding of the fields in broker control messages: fixed-width little-endian integers,
// length-prefixed strings and counted lists, read back with bounds checks.
//
//   FieldWriter w;  w.U32(7);  w.String("echo");
//   FieldReader r(w.bytes());
//   uint32_t n;  std::string name;
//   if (!r.U32(&n) || !r.String(&name, kMaxNameLength)) return r.Error("register");
//
// Every read checks that the bytes are there; a string longer than its limit, a list with
// more items than its limit or than bytes left, or bytes left over (Done()) are errors.
// Readers never trust a length they were given.
//
// Thread safety: value types.

#ifndef SYSLINK_SYSLINK_BROKER_INTERNAL_CONTROL_CODEC_H_
#define SYSLINK_SYSLINK_BROKER_INTERNAL_CONTROL_CODEC_H_

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace syslink::broker::internal {

class FieldWriter {
 public:
  void U32(uint32_t v) { Put(&v, sizeof(v)); }
  void U64(uint64_t v) { Put(&v, sizeof(v)); }
  void I64(int64_t v) { Put(&v, sizeof(v)); }
  void String(absl::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    Put(s.data(), s.size());
  }
  void U32List(std::span<const uint32_t> values) {
    U32(static_cast<uint32_t>(values.size()));
    for (uint32_t v : values) U32(v);
  }
  // Makes room for `size` bytes in all, so that writing them allocates once.
  void Reserve(size_t size) { bytes_.reserve(size); }
  const std::vector<std::byte>& bytes() const { return bytes_; }
  // The bytes written, without a copy; the writer is empty afterwards.
  std::vector<std::byte> TakeBytes() { return std::move(bytes_); }

 private:
  void Put(const void* data, size_t size);
  std::vector<std::byte> bytes_;
};

class FieldReader {
 public:
  explicit FieldReader(std::span<const std::byte> bytes) : bytes_(bytes) {}

  [[nodiscard]] bool U32(uint32_t* v) { return Get(v, sizeof(*v)); }
  [[nodiscard]] bool U64(uint64_t* v) { return Get(v, sizeof(*v)); }
  [[nodiscard]] bool I64(int64_t* v) { return Get(v, sizeof(*v)); }
  [[nodiscard]] bool String(std::string* s, size_t max_length);
  [[nodiscard]] bool U32List(std::vector<uint32_t>* values, size_t max_count);
  // True when every byte was read.
  [[nodiscard]] bool Done() const { return ok_ && position_ == bytes_.size(); }

  // INVALID_ARGUMENT naming `what` and where reading failed.
  absl::Status Error(absl::string_view what) const;

 private:
  bool Get(void* out, size_t size);
  std::span<const std::byte> bytes_;
  size_t position_ = 0;
  bool ok_ = true;
};

}  // namespace syslink::broker::internal

#endif  // SYSLINK_SYSLINK_BROKER_INTERNAL_CONTROL_CODEC_H_
