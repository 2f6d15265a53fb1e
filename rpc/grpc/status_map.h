// Statuses, deadlines and metadata between absl/syslink and gRPC.
//
//   grpc::Status wire = ToGrpcStatus(status);        // a method's status, to a gRPC caller
//   absl::Status status = FromGrpcStatus(wire);      // a gRPC server's, to a syslink caller
//   AddFromGrpcMetadata(grpc_context.GetServerTrailingMetadata(), &metadata);
//
// The canonical codes are the same numbers in both (absl::StatusCode and grpc::StatusCode
// follow google.rpc.Code); the message travels as it is. absl payloads (syslink's
// PEER_DIED marker) do not cross: a peer that died is UNAVAILABLE on the far side, with
// its message.
//
// Metadata: syslink's (rpc/metadata.h) follows gRPC's rules, so it goes to gRPC as it is.
// What comes from gRPC keeps only the entries that follow syslink's rules
// (CheckMetadataEntry): gRPC's own (grpc-*), the bridge's (syslink-*, message_frame.h) and
// any other a syslink context would refuse are dropped.
//
// Thread safety: pure functions.

#ifndef SYSLINK_RPC_GRPC_STATUS_MAP_H_
#define SYSLINK_RPC_GRPC_STATUS_MAP_H_

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpc/support/time.h"
#include "grpcpp/support/status.h"
#include "grpcpp/support/string_ref.h"
#include "rpc/metadata.h"

namespace syslink::rpc::grpc_internal {

// The metadata gRPC accepts in one batch of headers (GRPC_ARG_MAX_METADATA_SIZE), on both
// ends of the bridge (CreateGrpcChannel, GrpcServer). gRPC counts 32 bytes an entry beside
// its key and value, and its own headers too, where rpc/metadata.h counts
// kMetadataEntryOverhead: gRPC's default of 8 KiB refuses metadata syslink allows. 64 KiB
// holds kMaxMetadataBytes of the smallest entries (910 of them, about 30 KB by gRPC's count),
// with room for gRPC's own headers and a long status message.
inline constexpr int kMaxGrpcMetadataBytes = 64 << 10;

inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

inline absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

// A gRPC deadline as an absl::Time: InfiniteFuture for none.
inline absl::Time FromGrpcDeadline(gpr_timespec deadline) {
  if (gpr_time_cmp(deadline, gpr_inf_future(deadline.clock_type)) == 0) {
    return absl::InfiniteFuture();
  }
  gpr_timespec real = gpr_convert_clock_type(deadline, GPR_CLOCK_REALTIME);
  return absl::FromUnixSeconds(real.tv_sec) + absl::Nanoseconds(real.tv_nsec);
}

// Adds to `out` the entries of `metadata` (as gRPC received them) that follow syslink's
// rules; drops the others.
inline void AddFromGrpcMetadata(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
                                Metadata* out) {
  for (const auto& [key, value] : metadata) {
    const absl::string_view k(key.data(), key.size());
    const absl::string_view v(value.data(), value.size());
    if (CheckMetadataEntry(k, v).ok()) out->emplace(std::string(k), std::string(v));
  }
}

inline Metadata FromGrpcMetadata(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
  Metadata out;
  AddFromGrpcMetadata(metadata, &out);
  return out;
}

}  // namespace syslink::rpc::grpc_internal

#endif  // SYSLINK_RPC_GRPC_STATUS_MAP_H_
