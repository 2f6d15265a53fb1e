// Answer(): how every rpc of the passthrough server ends. fs.proto's responses carry an
// errno in `error` and nothing else when it is not 0; the RPC status is OK because the
// server answered.
//
//   return Answer(response, error);

#ifndef SYSLINK_EXAMPLES_FS_PASSTHROUGH_ANSWER_H_
#define SYSLINK_EXAMPLES_FS_PASSTHROUGH_ANSWER_H_

#include "absl/status/status.h"

namespace syslink::examples::fs {

template <typename Response>
absl::Status Answer(Response* response, int error) {
  if (error != 0) response->Clear();
  response->set_error(error);
  return absl::OkStatus();
}

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_PASSTHROUGH_ANSWER_H_
