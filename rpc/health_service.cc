#include "rpc/health_service.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace syslink::rpc {
namespace {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// How long Shutdown() waits for the watches to send NOT_SERVING.
constexpr absl::Duration kShutdownWait = absl::Seconds(1);

}  // namespace

void HealthService::SetServingStatus(const std::string& service, ServingStatus status) {
  absl::MutexLock lock(&mutex_);
  if (shut_down_) return;
  statuses_[service] = status;
  ++version_;
  changed_.SignalAll();
}

void HealthService::Shutdown() {
  absl::MutexLock lock(&mutex_);
  for (auto& [name, status] : statuses_) status = HealthCheckResponse::NOT_SERVING;
  shut_down_ = true;
  ++version_;
  changed_.SignalAll();
  // Each watch sends NOT_SERVING and returns before the server closes its links (a watch
  // whose caller reads nothing is not waited for past kShutdownWait).
  const absl::Time deadline = absl::Now() + kShutdownWait;
  while (watches_ != 0) {
    if (changed_.WaitWithDeadline(&mutex_, deadline)) break;  // the deadline passed
  }
}

absl::Status HealthService::Dispatch(ServerCall& call) {
  HealthCheckRequest request;
  if (call.method_id() != kCheck.id && call.method_id() != kWatch.id) {
    return absl::UnimplementedError(
        absl::StrCat("grpc.health.v1.Health has no method with id ", call.method_id()));
  }
  if (absl::Status s = call.ParseRequest(&request); !s.ok()) return s;
  if (call.method_id() == kWatch.id) return Watch(call, request.service());
  HealthCheckResponse response;
  {
    absl::MutexLock lock(&mutex_);
    auto it = statuses_.find(request.service());
    if (it == statuses_.end()) {
      return absl::NotFoundError(absl::StrCat("this server does not serve ", request.service()));
    }
    response.set_status(it->second);
  }
  call.SetResponse(response);
  return absl::OkStatus();
}

absl::Status HealthService::Watch(ServerCall& call, const std::string& service) {
  if (call.stream() == nullptr) return NotAStream(kWatch);
  {
    absl::MutexLock lock(&mutex_);
    ++watches_;
  }
  // The caller's leaving wakes the watch, as a change of status does.
  call.context().OnCancel([this] {
    absl::MutexLock lock(&mutex_);
    changed_.SignalAll();
  });
  absl::Status status = WatchUntilDone(call, service);
  call.context().OnCancel(nullptr);
  absl::MutexLock lock(&mutex_);
  --watches_;
  changed_.SignalAll();
  return status;
}

absl::Status HealthService::WatchUntilDone(ServerCall& call, const std::string& service) {
  uint64_t seen = ~uint64_t{0};
  ServingStatus sent = HealthCheckResponse::UNKNOWN;
  bool first = true;
  while (true) {
    HealthCheckResponse response;
    bool last;
    {
      absl::MutexLock lock(&mutex_);
      // Woken by a change, by the caller leaving (the hook above) or by its deadline.
      while (version_ == seen && !call.context().cancelled()) {
        changed_.WaitWithDeadline(&mutex_, call.context().deadline());
      }
      if (call.context().cancelled()) return absl::CancelledError("the caller left");
      seen = version_;
      auto it = statuses_.find(service);
      response.set_status(it == statuses_.end() ? HealthCheckResponse::SERVICE_UNKNOWN
                                                : it->second);
      last = shut_down_;
    }
    if (first || response.status() != sent) {
      if (!call.stream()->Write(response, {})) return absl::CancelledError("the caller left");
      sent = response.status();
      first = false;
    }
    if (last) return absl::OkStatus();
  }
}

WithHealth::WithHealth(Service* service, HealthService* health)
    : service_(service), health_(health) {
  methods_.assign(service->methods().begin(), service->methods().end());
  methods_.insert(methods_.end(), health->methods().begin(), health->methods().end());
}

}  // namespace syslink::rpc
