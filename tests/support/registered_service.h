// ConnectWhenRegistered(): a channel to a service a test has just started, once the service
// has registered with the broker.
//
//   server_.emplace(Spawn({BinaryPath("memfs"), "--name", kName}));
//   absl::StatusOr<std::shared_ptr<rpc::Channel>> channel =
//       ConnectWhenRegistered(kName, broker_->ConnectOptions());
//
// Until the service registers, the broker answers NOT_FOUND; any other answer (success or
// another error) is returned at once. Returns NOT_FOUND if `timeout` passes first.
//
// Thread safety: may be called from any thread.

#ifndef SYSLINK_TESTS_SUPPORT_REGISTERED_SERVICE_H_
#define SYSLINK_TESTS_SUPPORT_REGISTERED_SERVICE_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "rpc/channel.h"
#include "rpc/connect.h"
#include "syslink/broker/client.h"
#include "tests/support/eventually.h"

namespace syslink::testing {

inline absl::StatusOr<std::shared_ptr<rpc::Channel>> ConnectWhenRegistered(
    const std::string& name, const broker::BrokerConnectOptions& options,
    absl::Duration timeout = kPatience) {
  absl::StatusOr<std::shared_ptr<rpc::Channel>> channel;
  Eventually(
      [&] {
        channel = rpc::ConnectChannel(name, options);
        return !absl::IsNotFound(channel.status());
      },
      timeout, absl::Milliseconds(5));
  return channel;
}

}  // namespace syslink::testing

#endif  // SYSLINK_TESTS_SUPPORT_REGISTERED_SERVICE_H_
