#include "syslink/broker/internal/control_codec.h"

#include <cstring>

#include "absl/strings/str_format.h"

namespace syslink::broker::internal {

void FieldWriter::Put(const void* data, size_t size) {
  const auto* p = static_cast<const std::byte*>(data);
  bytes_.insert(bytes_.end(), p, p + size);
}

bool FieldReader::Get(void* out, size_t size) {
  if (!ok_ || bytes_.size() - position_ < size) return ok_ = false;
  std::memcpy(out, bytes_.data() + position_, size);
  position_ += size;
  return true;
}

bool FieldReader::String(std::string* s, size_t max_length) {
  uint32_t length;
  if (!U32(&length)) return false;
  if (length > max_length || bytes_.size() - position_ < length) return ok_ = false;
  s->assign(reinterpret_cast<const char*>(bytes_.data() + position_), length);
  position_ += length;
  return true;
}

bool FieldReader::U32List(std::vector<uint32_t>* values, size_t max_count) {
  uint32_t count;
  if (!U32(&count)) return false;
  if (count > max_count || (bytes_.size() - position_) / sizeof(uint32_t) < count) {
    return ok_ = false;
  }
  values->resize(count);
  for (uint32_t& v : *values) {
    if (!U32(&v)) return false;
  }
  return true;
}

absl::Status FieldReader::Error(absl::string_view what) const {
  return absl::InvalidArgumentError(absl::StrFormat(
      "malformed %s message: %s at byte %d of %d", what,
      ok_ ? "unexpected bytes after the last field" : "a field is truncated or too long", position_,
      bytes_.size()));
}

}  // namespace syslink::broker::internal
