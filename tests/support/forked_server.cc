#include "tests/support/forked_server.h"

#include <cstdlib>
#include <string>
#include <utility>

#include "absl/time/clock.h"
#include "syslink/end_transfer.h"

namespace syslink::testing {

ForkedServer::ForkedServer(const std::function<std::unique_ptr<rpc::Service>()>& make_service,
                           const ForkedServerOptions& options) {
  absl::StatusOr<LinkPair> pair = Link::CreatePair(options.link);
  if (!pair.ok()) std::abort();
  absl::StatusOr<std::string> token = ReleaseForChild(std::move(pair->second));
  if (!token.ok()) std::abort();
  child_.emplace(ChildProcess::Fork([&] {
    if (options.cpu >= 0) PinToCpu(options.cpu);
    absl::StatusOr<Link> link = AdoptEnd(*token);
    if (!link.ok()) return 1;
    std::unique_ptr<rpc::Service> service = make_service();
    rpc::Server server(options.server);
    server.ServeLink(service.get(), *std::move(link));
    while (server.live_links() > 0) absl::SleepFor(absl::Milliseconds(10));
    server.Shutdown();
    return 0;
  }));
  CloseReleasedEnd(*token);
  channel_ = std::make_shared<rpc::LinkChannel>(std::move(pair->first), options.channel);
}

ForkedServer::~ForkedServer() {
  channel_.reset();  // the child sees its link close and exits
  child_->WaitFor(absl::Seconds(10));
}

}  // namespace syslink::testing
