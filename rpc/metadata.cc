#include "rpc/metadata.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace syslink::rpc {
namespace {

bool IsKeyChar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '_' || c == '.' || c == '-';
}

}  // namespace

absl::Status CheckMetadataEntry(absl::string_view key, absl::string_view value) {
  if (key.empty() || key.size() > kMaxMetadataKeySize) {
    return absl::InvalidArgumentError(
        absl::StrFormat("metadata key \"%s\" has %d characters: a key has 1 to %d",
                        absl::CHexEscape(key), key.size(), kMaxMetadataKeySize));
  }
  for (char c : key) {
    if (!IsKeyChar(c)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "metadata key \"%s\" has '%s': a key is made of lowercase letters, digits, '_', "
          "'.' and '-'",
          absl::CHexEscape(key), absl::CHexEscape(absl::string_view(&c, 1))));
    }
  }
  if (absl::StartsWith(key, "grpc-") || absl::StartsWith(key, "syslink-")) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "metadata key \"%s\" is reserved: keys starting with \"grpc-\" or \"syslink-\" belong "
        "to the transports",
        key));
  }
  if (absl::EndsWith(key, "-bin")) return absl::OkStatus();
  for (char c : value) {
    if (c < 0x20 || c > 0x7e) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "the value of metadata key \"%s\" has byte 0x%02x: only printable ASCII, unless "
          "the key ends in \"-bin\"",
          key, static_cast<unsigned char>(c)));
    }
  }
  return absl::OkStatus();
}

size_t MetadataBytes(const Metadata& metadata) {
  size_t bytes = 0;
  for (const auto& [key, value] : metadata) {
    bytes += key.size() + value.size() + kMetadataEntryOverhead;
  }
  return bytes;
}

absl::Status CheckMetadata(const Metadata& metadata, absl::string_view what) {
  for (const auto& [key, value] : metadata) {
    if (absl::Status status = CheckMetadataEntry(key, value); !status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": ", status.message()));
    }
  }
  if (size_t bytes = MetadataBytes(metadata); bytes > kMaxMetadataBytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s takes %d bytes (keys and values, and %d an entry); at most %d are allowed", what, bytes,
        kMetadataEntryOverhead, kMaxMetadataBytes));
  }
  return absl::OkStatus();
}

}  // namespace syslink::rpc
