// LoggingInterceptor: one line per call with the method's name, its status and how long it
// took, on either side (interceptor.h).
//
//   auto logger = std::make_shared<LoggingInterceptor>();
//   absl::StatusOr<std::shared_ptr<Channel>> link = ConnectChannel("kv.Store");
//   if (!link.ok()) return link.status();
//   auto channel = InterceptChannel(*link, {logger});
//   Server server(ServerOptions{.interceptors = {logger}});
//
//   rpc client /kv.Store/Get OK 41.2us
//   rpc server /kv.Store/Get NOT_FOUND 12us: no key 9
//
// The latency runs from the first interceptor's BeforeCall to this one's AfterCall: put the
// logger first to count the others.
//
// Thread safety: thread-safe; the sink is called from the calls' threads, one line at a time.

#ifndef SYSLINK_RPC_LOGGING_INTERCEPTOR_H_
#define SYSLINK_RPC_LOGGING_INTERCEPTOR_H_

#include <functional>

#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "rpc/interceptor.h"

namespace syslink::rpc {

class LoggingInterceptor final : public ClientInterceptor, public ServerInterceptor {
 public:
  // Where the lines go (without a newline); null: standard error, a line per write.
  using Sink = std::function<void(absl::string_view line)>;
  explicit LoggingInterceptor(Sink sink = nullptr) : sink_(std::move(sink)) {}

  void AfterCall(const CallInfo& call, ClientContext& context, absl::Status& status) override;
  void AfterCall(const CallInfo& call, ServerContext& context, absl::Status& status) override;

 private:
  void Log(absl::string_view side, const CallInfo& call, const absl::Status& status);

  Sink sink_;
  // Held around each line's write, one line at a time; it guards no field (sink_ is set
  // once, by the constructor).
  absl::Mutex mutex_;
};

}  // namespace syslink::rpc

#endif  // SYSLINK_RPC_LOGGING_INTERCEPTOR_H_
