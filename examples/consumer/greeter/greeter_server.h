// The consumer's implementation of its Greeter service.
#ifndef CONSUMER_GREETER_GREETER_SERVER_H_
#define CONSUMER_GREETER_GREETER_SERVER_H_

#include "greeter/greeter.syslink.h"

namespace acme::greeter {

class GreeterServer final : public Greeter {
 public:
  absl::Status Greet(::syslink::rpc::ServerContext& context, const GreetRequest& request,
                     GreetReply* reply) override;
};

}  // namespace acme::greeter

#endif  // CONSUMER_GREETER_GREETER_SERVER_H_
