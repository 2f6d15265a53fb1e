#include "rpc/connect.h"

#include <string>

#include "rpc/link_channel.h"

namespace syslink::rpc {

absl::StatusOr<std::shared_ptr<LinkChannel>> ConnectLinkChannel(
    absl::string_view service_name, const broker::BrokerConnectOptions& options) {
  absl::StatusOr<broker::OutgoingLink> link =
      broker::ConnectToServiceIdentified(std::string(service_name), options);
  if (!link.ok()) return link.status();
  PeerIdentity server{link->server.pid, link->server.uid, link->server.gid};
  return std::make_shared<LinkChannel>(std::move(link->link), server);
}

absl::StatusOr<std::shared_ptr<Channel>> ConnectChannel(
    absl::string_view service_name, const broker::BrokerConnectOptions& options) {
  absl::StatusOr<std::shared_ptr<LinkChannel>> channel = ConnectLinkChannel(service_name, options);
  if (!channel.ok()) return channel.status();
  return std::shared_ptr<Channel>(*std::move(channel));
}

}  // namespace syslink::rpc
