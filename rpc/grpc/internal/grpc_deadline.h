// SetGrpcDeadline(): a call's deadline (ClientContext::deadline) as gRPC's.
//
//   SetGrpcDeadline(context->deadline(), grpc_context);
//
// absl::InfiniteFuture() sets none. A time before 1970 (absl::InfinitePast(): over
// already) is given as 1970 itself: gRPC reads a negative time as no deadline at all,
// which would leave a call meant to fail at once waiting for ever.
//
// Thread safety: as `context`'s.

#ifndef SYSLINK_RPC_GRPC_INTERNAL_GRPC_DEADLINE_H_
#define SYSLINK_RPC_GRPC_INTERNAL_GRPC_DEADLINE_H_

#include <algorithm>

#include "absl/time/time.h"
#include "grpcpp/client_context.h"

namespace syslink::rpc::grpc_internal {

inline void SetGrpcDeadline(absl::Time deadline, grpc::ClientContext& context) {
  if (deadline == absl::InfiniteFuture()) return;
  context.set_deadline(absl::ToChronoTime(std::max(deadline, absl::UnixEpoch())));
}

}  // namespace syslink::rpc::grpc_internal

#endif  // SYSLINK_RPC_GRPC_INTERNAL_GRPC_DEADLINE_H_
