// ConnectChannel(): a channel to a service, found by name through the broker.
//
//   absl::StatusOr<std::shared_ptr<syslink::rpc::Channel>> channel =
//       syslink::rpc::ConnectChannel("echo.EchoService");
//   if (!channel.ok()) return channel.status();
//   echo::EchoServiceStub stub(*channel);
//
//   // The same for the name the service registers by default, in one step.
//   absl::StatusOr<echo::EchoServiceStub> direct = echo::EchoServiceStub::Connect();
//
//   // The same, keeping the LinkChannel: who serves it, as the kernel attested.
//   absl::StatusOr<std::shared_ptr<syslink::rpc::LinkChannel>> link =
//       syslink::rpc::ConnectLinkChannel("echo.EchoService", {.server_uid = 0});
//   if (!link.ok()) return link.status();
//   (*link)->server().uid;
//
// Errors are those of syslink::broker::ConnectToService (NOT_FOUND, PERMISSION_DENIED,
// UNAVAILABLE, ...).

#ifndef SYSLINK_RPC_CONNECT_H_
#define SYSLINK_RPC_CONNECT_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rpc/channel.h"
#include "rpc/link_channel.h"
#include "syslink/broker/client.h"

namespace syslink::rpc {

[[nodiscard]] absl::StatusOr<std::shared_ptr<Channel>> ConnectChannel(
    absl::string_view service_name, const broker::BrokerConnectOptions& options = {});

[[nodiscard]] absl::StatusOr<std::shared_ptr<LinkChannel>> ConnectLinkChannel(
    absl::string_view service_name, const broker::BrokerConnectOptions& options = {});

}  // namespace syslink::rpc

#endif  // SYSLINK_RPC_CONNECT_H_
