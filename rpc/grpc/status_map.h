// Statuses and deadlines between absl/syslink and gRPC, one to one.
//
//   grpc::Status wire = ToGrpcStatus(status);        // a method's status, to a gRPC caller
//   absl::Status status = FromGrpcStatus(wire);      // a gRPC server's, to a syslink caller
//
// The canonical codes are the same numbers in both (absl::StatusCode and grpc::StatusCode
// follow google.rpc.Code); the message travels as it is. absl payloads (syslink's
// PEER_DIED marker) do not cross: a peer that died is UNAVAILABLE on the far side, with
// its message.
//
// Thread safety: pure functions.

#ifndef SYSLINK_RPC_GRPC_STATUS_MAP_H_
#define SYSLINK_RPC_GRPC_STATUS_MAP_H_

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "grpc/support/time.h"
#include "grpcpp/support/status.h"

namespace syslink::rpc::grpc_internal {

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

}  // namespace syslink::rpc::grpc_internal

#endif  // SYSLINK_RPC_GRPC_STATUS_MAP_H_
