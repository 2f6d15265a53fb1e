// Program: a binary of the test's runfiles run as a child process, its stdin and stdout
// piped to the test, for rpc/grpc's multi-process tests.
//
//   Program server = Program::Start("rpc/grpc/testing/stock_interop_server", {});
//   absl::StatusOr<std::string> line = server.ReadLine(absl::Seconds(10));  // "port 40123"
//   ...
//   server.CloseInput();     // the stock programs end when their stdin closes
//
// The child gets SIGKILL when the test's thread that started it ends (PR_SET_PDEATHSIG), and
// keeps no descriptor of the test's but the pipes and stderr.
//
// Thread safety: one thread at a time. Ownership: a child still running when the Program
// is destroyed is killed and reaped.

#ifndef SYSLINK_RPC_GRPC_TESTING_PROGRAM_H_
#define SYSLINK_RPC_GRPC_TESTING_PROGRAM_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"
#include "tests/support/child_process.h"

namespace syslink::grpc_testing {

// The absolute path of `relative` (a path in the workspace) in the test's runfiles.
std::string RunfilesPath(const std::string& relative);

class Program {
 public:
  // Runs the runfile `binary` (a workspace path) with `args`. Aborts if it cannot fork.
  static Program Start(const std::string& binary, const std::vector<std::string>& args);

  Program(Program&&) = default;
  ~Program();

  // The next line the child writes (without its '\n'); DEADLINE_EXCEEDED after `timeout`,
  // OUT_OF_RANGE at end of output.
  absl::StatusOr<std::string> ReadLine(absl::Duration timeout);
  // Everything the child writes until it closes stdout (or `timeout` passes).
  std::string ReadAll(absl::Duration timeout);
  // The first line that starts with `prefix`, without the prefix.
  absl::StatusOr<std::string> WaitForLine(absl::string_view prefix, absl::Duration timeout);

  void Write(absl::string_view bytes);
  void CloseInput() { input_ = UniqueFd(); }

  testing::ChildProcess& process() { return *child_; }

 private:
  Program(testing::ChildProcess child, UniqueFd input, UniqueFd output);

  std::optional<testing::ChildProcess> child_;
  UniqueFd input_;
  UniqueFd output_;
  std::string buffered_;
};

}  // namespace syslink::grpc_testing

#endif  // SYSLINK_RPC_GRPC_TESTING_PROGRAM_H_
