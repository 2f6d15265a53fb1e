#include "rpc/logging_interceptor.h"

#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace syslink::rpc {

void LoggingInterceptor::AfterCall(const CallInfo& call, ClientContext& context,
                                   absl::Status& status) {
  Log("client", call, status);
}

void LoggingInterceptor::AfterCall(const CallInfo& call, ServerContext& context,
                                   absl::Status& status) {
  Log("server", call, status);
}

void LoggingInterceptor::Log(absl::string_view side, const CallInfo& call,
                             const absl::Status& status) {
  std::string line = absl::StrCat("rpc ", side, " ", call.method.path, " ",
                                  absl::StatusCodeToString(status.code()), " ",
                                  absl::FormatDuration(absl::Now() - call.start));
  if (!status.ok()) absl::StrAppend(&line, ": ", status.message());
  absl::MutexLock lock(&mutex_);
  if (sink_) {
    sink_(line);
    return;
  }
  line += '\n';
  if (write(STDERR_FILENO, line.data(), line.size()) < 0) {
    // Nowhere to say it failed.
  }
}

}  // namespace syslink::rpc
