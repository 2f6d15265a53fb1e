// Metadata: string key/value pairs sent beside a call, each way.
//
//   // Client
//   context.AddMetadata("x-request-id", "7f3a");
//   absl::StatusOr<Reply> reply = stub.Get(request, &context);
//   auto it = context.GetServerTrailingMetadata().find("x-served-by");
//
//   // Server, inside a method
//   auto it = context.client_metadata().find("x-request-id");
//   context.AddTrailingMetadata("x-served-by", "kv-3");
//
// The rules are gRPC's, so that metadata crosses the gRPC bridge (rpc/grpc) unchanged:
// - a key is 1 to 255 characters of [0-9a-z_.-], and does not start with "grpc-" (gRPC's
//   own) or "syslink-" (kept for this runtime);
// - a value is printable ASCII (0x20 to 0x7e), unless its key ends in "-bin": then any bytes;
// - a call's metadata, each way, is at most kMaxMetadataBytes: its keys and values plus 8
//   bytes an entry.
// A call whose context breaks a rule fails with INVALID_ARGUMENT naming the key, before
// anything is sent; a method whose trailing metadata breaks one answers INVALID_ARGUMENT.
// A peer that sends metadata breaking them sent a malformed call (docs/wire-format.md).
//
// Thread safety: functions of their arguments.

#ifndef SYSLINK_RPC_METADATA_H_
#define SYSLINK_RPC_METADATA_H_

#include <cstddef>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace syslink::rpc {

// Keys in order, several values per key in the order they were added.
using Metadata = std::multimap<std::string, std::string>;

inline constexpr size_t kMaxMetadataBytes = 8 * 1024;
inline constexpr size_t kMaxMetadataKeySize = 255;
// What one entry costs toward kMaxMetadataBytes beside its key and value.
inline constexpr size_t kMetadataEntryOverhead = 8;

// OK, or INVALID_ARGUMENT saying which rule `key` or its `value` breaks.
[[nodiscard]] absl::Status CheckMetadataEntry(absl::string_view key, absl::string_view value);

// OK when every entry follows the rules and the whole fits kMaxMetadataBytes;
// INVALID_ARGUMENT naming the first entry that does not, or the size and the limit.
// `what` names the metadata in the error ("the call's metadata").
[[nodiscard]] absl::Status CheckMetadata(const Metadata& metadata, absl::string_view what);

// The bytes `metadata` counts toward kMaxMetadataBytes.
size_t MetadataBytes(const Metadata& metadata);

}  // namespace syslink::rpc

#endif  // SYSLINK_RPC_METADATA_H_
