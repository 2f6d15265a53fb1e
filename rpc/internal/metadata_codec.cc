#include "rpc/internal/metadata_codec.h"

#include <cstdint>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "rpc/internal/call_format.h"
#include "rpc/method.h"

namespace syslink::rpc::internal {
namespace {

absl::Status Malformed(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("malformed call from the peer: ", why));
}

}  // namespace

void EncodeMetadata(const Metadata& metadata, std::byte* out) {
  StoreU32(out, static_cast<uint32_t>(MetadataBytes(metadata)));
  out += 4;
  for (const auto& [key, value] : metadata) {
    StoreU32(out, static_cast<uint32_t>(key.size()));
    StoreU32(out + 4, static_cast<uint32_t>(value.size()));
    out += kMetadataEntryOverhead;
    std::memcpy(out, key.data(), key.size());
    out += key.size();
    std::memcpy(out, value.data(), value.size());
    out += value.size();
  }
}

absl::StatusOr<MetadataSplit> SplitMetadata(std::span<const std::byte> data) {
  if (data.size() < 4) {
    return Malformed(
        absl::StrFormat("metadata flagged but only %d bytes follow the header", data.size()));
  }
  const uint32_t size = LoadU32(data.data());
  if (size > kMaxMetadataBytes || size > data.size() - 4) {
    return Malformed(
        absl::StrFormat("a metadata block of %d bytes (at most %d, and %d bytes follow its size)",
                        size, kMaxMetadataBytes, data.size() - 4));
  }
  return MetadataSplit{data.subspan(4, size), data.subspan(4 + size)};
}

absl::StatusOr<const Metadata*> OutgoingMetadata(const ClientContext* context,
                                                 absl::string_view path,
                                                 std::optional<Metadata>& storage,
                                                 absl::string_view what) {
  if (context == nullptr) return nullptr;
  const Metadata* metadata = context->metadata().empty() ? nullptr : &context->metadata();
  if (metadata != nullptr) {
    if (absl::Status s = CheckMetadata(*metadata, what); !s.ok()) return s;
  }
  if (!context->send_method_path()) return metadata;
  if (!ParseMethodPath(path).has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", absl::CHexEscape(path.substr(0, 200)), "\" is not a method path"));
  }
  storage = context->metadata();
  storage->emplace(kMethodPathKey, std::string(path));
  if (MetadataBytes(*storage) > kMaxMetadataBytes) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s and the method's path come to %d bytes, over the limit of %d", what,
                        MetadataBytes(*storage), kMaxMetadataBytes));
  }
  return &*storage;
}

absl::StatusOr<Metadata> DecodeMetadata(std::span<const std::byte> entries) {
  Metadata metadata;
  while (!entries.empty()) {
    if (entries.size() < kMetadataEntryOverhead) {
      return Malformed(
          absl::StrFormat("%d stray bytes at the end of the metadata", entries.size()));
    }
    const uint64_t key_size = LoadU32(entries.data());
    const uint64_t value_size = LoadU32(entries.data() + 4);
    entries = entries.subspan(kMetadataEntryOverhead);
    if (key_size + value_size > entries.size()) {
      return Malformed(
          absl::StrFormat("a metadata entry of %d + %d bytes with %d left in the block", key_size,
                          value_size, entries.size()));
    }
    std::string key(reinterpret_cast<const char*>(entries.data()), key_size);
    std::string value(reinterpret_cast<const char*>(entries.data() + key_size), value_size);
    entries = entries.subspan(key_size + value_size);
    if (key == kMethodPathKey) {
      if (!ParseMethodPath(value).has_value() || metadata.contains(key)) {
        return Malformed(absl::StrFormat("a bad or second %s entry", kMethodPathKey));
      }
    } else if (absl::Status status = CheckMetadataEntry(key, value); !status.ok()) {
      return Malformed(status.message());
    }
    metadata.emplace(std::move(key), std::move(value));
  }
  return metadata;
}

}  // namespace syslink::rpc::internal
