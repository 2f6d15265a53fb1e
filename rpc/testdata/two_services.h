// TwoServices: stream_service.proto's Counter and Streamer (CounterService and
// ProgressStreamer) behind one ServiceSet, served as one Service, for the tests of a set
// over each transport.
//
//   ForkedServer server([] { return std::make_unique<test::TwoServices>(); });
//   absl::StatusOr<std::unique_ptr<GrpcServer>> grpc = ServeGrpc(&two_services);
//
// Thread safety: as ServiceSet. Ownership: owns both services and the set.

#ifndef SYSLINK_RPC_TESTDATA_TWO_SERVICES_H_
#define SYSLINK_RPC_TESTDATA_TWO_SERVICES_H_

#include <memory>
#include <span>

#include "absl/status/status.h"
#include "rpc/service_set.h"
#include "rpc/testdata/countdown_streamer.h"
#include "rpc/testdata/stream_service.syslink.h"

namespace syslink::rpc::test {

// Counter: Next answers n + 1.
class CounterService : public Counter {
 public:
  absl::Status Next(ServerContext&, const Number& request, Number* response) override {
    response->set_n(request.n() + 1);
    return absl::OkStatus();
  }
};

// Streamer: GetProgress answers written = 42; Countdown counts; the rest UNIMPLEMENTED.
class ProgressStreamer : public CountdownStreamer {
 public:
  absl::Status GetProgress(ServerContext&, const Number&, Progress* response) override {
    response->set_written(42);
    return absl::OkStatus();
  }
};

class TwoServices : public Service {
 public:
  TwoServices() : set_(*ServiceSet::Create({&counter_, &streamer_})) {}
  absl::string_view service_name() const override { return set_->service_name(); }
  std::span<const Method> methods() const override { return set_->methods(); }
  absl::Status Dispatch(ServerCall& call) override { return set_->Dispatch(call); }

 private:
  CounterService counter_;
  ProgressStreamer streamer_;
  std::unique_ptr<ServiceSet> set_;
};

}  // namespace syslink::rpc::test

#endif  // SYSLINK_RPC_TESTDATA_TWO_SERVICES_H_
