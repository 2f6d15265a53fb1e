// A call's metadata (rpc/metadata.h) on a link: the block that follows the call header when
// the header's flags have kCallMetadata (call_format.h; docs/wire-format.md, "Metadata").
//
//   u32 size                      bytes of the entries that follow
//   entries, until `size` is used up:
//     u32 key_size, u32 value_size, the key's bytes, the value's bytes
//
// Integers are little-endian, nothing is padded. The block's `size` is
// MetadataBytes(metadata), so the limit of metadata.h bounds it.
//
// Thread safety: functions of their arguments.

#ifndef SYSLINK_RPC_INTERNAL_METADATA_CODEC_H_
#define SYSLINK_RPC_INTERNAL_METADATA_CODEC_H_

#include <cstddef>
#include <optional>
#include <span>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rpc/context.h"
#include "rpc/metadata.h"

namespace syslink::rpc::internal {

// The one reserved key ("syslink-") a call on a link may carry, sent by the runtime for
// ClientContext::set_send_method_path(): the path of the method the caller means. Its
// value is a method path (method.h's ParseMethodPath); a call has at most one. The
// server takes it out of the metadata before the method sees it (LinkSession).
inline constexpr char kMethodPathKey[] = "syslink-method-path";

// The block's bytes, its `size` field included.
inline size_t MetadataBlockSize(const Metadata& metadata) { return 4 + MetadataBytes(metadata); }

// Writes the block of `metadata` (checked already) into `out`, MetadataBlockSize() bytes.
void EncodeMetadata(const Metadata& metadata, std::byte* out);

// The metadata a call sends for `context` (may be null): null when none; else the
// context's metadata, checked (INVALID_ARGUMENT saying which rule it breaks, `what` naming
// it), and, when the context asks (ClientContext::set_send_method_path), with `path` added
// as kMethodPathKey in `storage`, whose address is then returned.
[[nodiscard]] absl::StatusOr<const Metadata*> OutgoingMetadata(const ClientContext* context,
                                                               absl::string_view path,
                                                               std::optional<Metadata>& storage,
                                                               absl::string_view what);

// Splits `data`, which starts with a block, into the block's entries and what follows it.
// INVALID_ARGUMENT (a malformed call) when its size does not fit `data` or the limit.
struct MetadataSplit {
  std::span<const std::byte> entries;
  std::span<const std::byte> rest;
};
[[nodiscard]] absl::StatusOr<MetadataSplit> SplitMetadata(std::span<const std::byte> data);

// The metadata in `entries` (MetadataSplit::entries). Trusts nothing: INVALID_ARGUMENT
// (a malformed call, naming the problem) for sizes that do not add up, an entry that
// breaks a rule of metadata.h, or a kMethodPathKey entry that is not one method path.
[[nodiscard]] absl::StatusOr<Metadata> DecodeMetadata(std::span<const std::byte> entries);

}  // namespace syslink::rpc::internal

#endif  // SYSLINK_RPC_INTERNAL_METADATA_CODEC_H_
