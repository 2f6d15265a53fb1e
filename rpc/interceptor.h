// Interceptors: code that runs around every call of a channel or a service, for logging,
// auth, metrics: it looks at the call, may change its context (metadata, deadline), may
// refuse it, and may change its outcome.
//
//   // Client: every call through `channel` passes the interceptors, in order.
//   absl::StatusOr<std::shared_ptr<Channel>> link = ConnectChannel("kv.Store");
//   if (!link.ok()) return link.status();
//   std::shared_ptr<Channel> channel =
//       InterceptChannel(*link, {std::make_shared<AddToken>(token), logger});
//   kv::StoreStub stub(channel);
//
//   // Server: every call to every service the server serves.
//   Server server(ServerOptions{.interceptors = {std::make_shared<CheckToken>(), logger}});
//
// Order: BeforeCall runs in the order given, AfterCall in the reverse order, and only for
// the interceptors whose BeforeCall returned OK: like nested scopes. A BeforeCall that
// returns an error ends the call with it: the calls after it, the channel (client) or the
// method (server), do not run; the earlier interceptors' AfterCall do, with that error.
//
// When AfterCall runs:
// - client: once the call completed (Call returned, an async call's `done` is about to
//   run), or, for a stream, when Finish() returned (or the stream was destroyed without
//   it: CANCELLED). The status it leaves is what the caller gets.
// - server: when the method returned (a streaming method: once it returned), before the
//   reply goes: the status it leaves is the answer, and trailing metadata it adds goes with
//   it. A response the method set goes out only if the status stays OK.
//
// A call made with a null ClientContext gets one the interceptors see (and that the
// channel uses). logging_interceptor.h has one interceptor of each side that logs method
// names, statuses and latencies.
//
// Thread safety: an interceptor serves every call of its channel or server, from many
// threads at once: its hooks must be thread-safe. Ownership: the channel and service that
// intercept share the interceptors.

#ifndef SYSLINK_RPC_INTERCEPTOR_H_
#define SYSLINK_RPC_INTERCEPTOR_H_

#include <memory>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "rpc/channel.h"
#include "rpc/context.h"
#include "rpc/method.h"
#include "rpc/service.h"

namespace syslink::rpc {

// The call an interceptor sees.
struct CallInfo {
  const Method& method;  // its path names it: "/kv.Store/Get"
  absl::Time start;      // when the first interceptor saw it
};

class ClientInterceptor {
 public:
  virtual ~ClientInterceptor() = default;
  virtual absl::Status BeforeCall(const CallInfo& call, ClientContext& context) {
    return absl::OkStatus();
  }
  virtual void AfterCall(const CallInfo& call, ClientContext& context, absl::Status& status) {}
};

class ServerInterceptor {
 public:
  virtual ~ServerInterceptor() = default;
  virtual absl::Status BeforeCall(const CallInfo& call, ServerContext& context) {
    return absl::OkStatus();
  }
  virtual void AfterCall(const CallInfo& call, ServerContext& context, absl::Status& status) {}
};

using ClientInterceptors = std::vector<std::shared_ptr<ClientInterceptor>>;
using ServerInterceptors = std::vector<std::shared_ptr<ServerInterceptor>>;

// A channel that passes each call, async call and stream of `channel` through
// `interceptors`. `channel` itself when there are none.
std::shared_ptr<Channel> InterceptChannel(std::shared_ptr<Channel> channel,
                                          ClientInterceptors interceptors);

// A service that passes each call to `service` through `interceptors`: what a Server
// with ServerOptions::interceptors serves, and what to give ServeGrpc (rpc/grpc) or an
// InProcessChannel to intercept there. `service` is not owned and must outlive it. A
// call's response is held until the interceptors are done (a copy of its bytes), so an
// intercepted method cannot answer straight into the ring.
class InterceptedService final : public Service {
 public:
  InterceptedService(Service* service, ServerInterceptors interceptors);

  absl::string_view service_name() const override { return service_->service_name(); }
  std::span<const Method> methods() const override { return service_->methods(); }
  absl::Status Dispatch(ServerCall& call) override;

 private:
  Service* service_;
  ServerInterceptors interceptors_;
};

}  // namespace syslink::rpc

#endif  // SYSLINK_RPC_INTERCEPTOR_H_
