// EchoServer: the echo service's implementation, for the demo and the benchmark.
//
// Thread safety: stateless; its methods may run on several threads at once.

#ifndef SYSLINK_EXAMPLES_ECHO_ECHO_SERVER_H_
#define SYSLINK_EXAMPLES_ECHO_ECHO_SERVER_H_

#include "examples/echo/echo.syslink.h"

namespace syslink::examples::echo {

class EchoServer final : public Echo {
 public:
  // Returns the request's text and blob.
  absl::Status Say(rpc::ServerContext& context, const EchoRequest& request,
                   EchoResponse* response) override;
  // Returns the request's attachment reversed.
  absl::Status Reverse(rpc::ServerContext& context, const EchoRequest& request,
                       EchoResponse* response) override;
  // Waits until the caller's deadline has passed.
  absl::Status Hold(rpc::ServerContext& context, const EchoRequest& request,
                    EchoResponse* response) override;
  // Returns the request's attachment as it is.
  absl::Status Bounce(rpc::ServerContext& context, const EchoRequest& request,
                      EchoResponse* response) override;
};

}  // namespace syslink::examples::echo

#endif  // SYSLINK_EXAMPLES_ECHO_ECHO_SERVER_H_
