#include "greeter/greeter_server.h"

#include "absl/strings/str_cat.h"

namespace acme::greeter {

absl::Status GreeterServer::Greet(::syslink::rpc::ServerContext& context,
                                  const GreetRequest& request, GreetReply* reply) {
  if (request.name().empty()) return absl::InvalidArgumentError("a greeting needs a name");
  reply->set_greeting(absl::StrCat("hello, ", request.name(), " (pid ", context.peer().pid, ")"));
  return absl::OkStatus();
}

}  // namespace acme::greeter
