// The consumer's service, generated and served through @syslink, called across a link.
#include <unistd.h>

#include "greeter/greeter.syslink.h"
#include "greeter/greeter_server.h"
#include "gtest/gtest.h"
#include "rpc/link_channel.h"
#include "rpc/server.h"
#include "syslink/link.h"

namespace acme::greeter {
namespace {

TEST(GreeterTest, GreetsOverALink) {
  absl::StatusOr<syslink::LinkPair> pair = syslink::Link::CreatePair();
  ASSERT_TRUE(pair.ok()) << pair.status();
  GreeterServer service;
  syslink::rpc::Server server;
  server.ServeLink(&service, std::move(pair->second), {getpid(), getuid(), getgid()});
  GreeterStub stub(std::make_shared<syslink::rpc::LinkChannel>(std::move(pair->first)));

  GreetRequest request;
  request.set_name("consumer");
  absl::StatusOr<GreetReply> reply = stub.Greet(request);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->greeting(), "hello, consumer (pid " + std::to_string(getpid()) + ")");

  absl::StatusOr<GreetReply> nameless = stub.Greet(GreetRequest());
  EXPECT_EQ(nameless.status().code(), absl::StatusCode::kInvalidArgument);
  server.Shutdown();
}

}  // namespace
}  // namespace acme::greeter
