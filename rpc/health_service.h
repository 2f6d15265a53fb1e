// HealthService: grpc.health.v1.Health (rpc/health/health.proto), as every Server serves it.
//
//   // Client, on any channel to a server:
//   grpc::health::v1::HealthStub health(channel);
//   grpc::health::v1::HealthCheckRequest request;
//   request.set_service("kv.Store");           // empty: the server as a whole
//   absl::StatusOr<grpc::health::v1::HealthCheckResponse> status = health.Check(request);
//
// A Server registers each service it serves as SERVING (and "" for itself), serves this
// service beside each of them on every link (WithHealth), and sets everything NOT_SERVING
// when it shuts down, which also ends every Watch. Server::SetServingStatus() changes a
// status by hand (a service that lost its database, say).
//
// Check answers NOT_FOUND for a name it does not know; Watch answers SERVICE_UNKNOWN, then
// the status each time it changes. A Watch ends as soon as its caller leaves (cancels, ends
// the stream, closes its link or dies) or its deadline passes.
//
// Thread safety: thread-safe.

#ifndef SYSLINK_RPC_HEALTH_SERVICE_H_
#define SYSLINK_RPC_HEALTH_SERVICE_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "rpc/health/health.pb.h"
#include "rpc/method.h"
#include "rpc/service.h"

namespace syslink::rpc {

using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

class HealthService final : public Service {
 public:
  static constexpr Method kCheck{MethodId("grpc.health.v1.Health.Check"),
                                 "/grpc.health.v1.Health/Check", MethodKind::kUnary};
  static constexpr Method kWatch{MethodId("grpc.health.v1.Health.Watch"),
                                 "/grpc.health.v1.Health/Watch", MethodKind::kServerStreaming};

  void SetServingStatus(const std::string& service, ServingStatus status);
  // Everything NOT_SERVING, for good: every Watch sends that and ends; waits (up to a
  // second) until they have.
  void Shutdown();

  absl::string_view service_name() const override { return "grpc.health.v1.Health"; }
  std::span<const Method> methods() const override { return kMethods; }
  absl::Status Dispatch(ServerCall& call) override;

 private:
  static constexpr Method kMethods[] = {kCheck, kWatch};

  absl::Status Watch(ServerCall& call, const std::string& service);
  absl::Status WatchUntilDone(ServerCall& call, const std::string& service);

  absl::Mutex mutex_;
  absl::CondVar changed_;  // a status changed (version_), or a watch ended
  absl::flat_hash_map<std::string, ServingStatus> statuses_ ABSL_GUARDED_BY(mutex_);
  uint64_t version_ ABSL_GUARDED_BY(mutex_) = 0;
  bool shut_down_ ABSL_GUARDED_BY(mutex_) = false;
  int watches_ ABSL_GUARDED_BY(mutex_) = 0;  // running
};

// A service with the health service beside it: calls to Health's two method ids go to
// `health`, every other to `service` (two comparisons on the way). Neither is owned.
class WithHealth final : public Service {
 public:
  WithHealth(Service* service, HealthService* health);

  absl::string_view service_name() const override { return service_->service_name(); }
  std::span<const Method> methods() const override { return methods_; }
  absl::Status Dispatch(ServerCall& call) override {
    const uint32_t id = call.method_id();
    if (id == HealthService::kCheck.id || id == HealthService::kWatch.id) [[unlikely]] {
      return health_->Dispatch(call);
    }
    return service_->Dispatch(call);
  }

 private:
  Service* service_;
  HealthService* health_;
  std::vector<Method> methods_;
};

}  // namespace syslink::rpc

#endif  // SYSLINK_RPC_HEALTH_SERVICE_H_
