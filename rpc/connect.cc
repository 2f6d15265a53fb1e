#include "rpc/connect.h"

#include "rpc/link_channel.h"

namespace syslink::rpc {

absl::StatusOr<std::shared_ptr<Channel>> ConnectChannel(
    const std::string& service_name, const broker::BrokerConnectOptions& options) {
  absl::StatusOr<Link> link = broker::ConnectToService(service_name, options);
  if (!link.ok()) return link.status();
  return std::make_shared<LinkChannel>(*std::move(link));
}

}  // namespace syslink::rpc
