#include "rpc/grpc/testing/program.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace syslink::grpc_testing {

std::string RunfilesPath(const std::string& relative) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (access(relative.c_str(), F_OK) != 0 && srcdir != nullptr && workspace != nullptr) {
    return absl::StrCat(srcdir, "/", workspace, "/", relative);
  }
  char resolved[PATH_MAX];
  return realpath(relative.c_str(), resolved) != nullptr ? resolved : relative;
}

Program Program::Start(const std::string& binary, const std::vector<std::string>& args) {
  std::vector<std::string> all = {RunfilesPath(binary)};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : all) argv.push_back(arg.data());
  argv.push_back(nullptr);
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
    std::perror("pipe2");
    std::abort();
  }
  signal(SIGPIPE, SIG_IGN);  // a child gone: Write() fails instead of killing the test
  const pid_t test = getpid();
  // Between fork and exec only async-signal-safe calls: the test may have gRPC's threads.
  testing::ChildProcess child = testing::ChildProcess::Fork([&] {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != test) return 1;
    dup2(in[0], STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    close_range(3, ~0U, 0);
    execv(argv[0], argv.data());
    return 127;
  });
  close(in[0]);
  close(out[1]);
  return Program(std::move(child), UniqueFd(in[1]), UniqueFd(out[0]));
}

Program::Program(testing::ChildProcess child, UniqueFd input, UniqueFd output)
    : child_(std::move(child)), input_(std::move(input)), output_(std::move(output)) {}

Program::~Program() {
  input_ = UniqueFd();
  if (child_.has_value()) child_->WaitFor(absl::Seconds(10));
}

absl::StatusOr<std::string> Program::ReadLine(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    const size_t newline = buffered_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffered_.substr(0, newline);
      buffered_.erase(0, newline + 1);
      return line;
    }
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(
          absl::StrCat("no line from the program in ", absl::FormatDuration(timeout)));
    }
    pollfd pfd{output_.get(), POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1) <= 0) continue;
    char chunk[4096];
    const ssize_t n = read(output_.get(), chunk, sizeof(chunk));
    if (n <= 0) return absl::OutOfRangeError(absl::StrCat("output ended: ", buffered_));
    buffered_.append(chunk, n);
  }
}

std::string Program::ReadAll(absl::Duration timeout) {
  std::string all;
  while (true) {
    absl::StatusOr<std::string> line = ReadLine(timeout);
    if (!line.ok()) return all + buffered_;
    absl::StrAppend(&all, *line, "\n");
  }
}

absl::StatusOr<std::string> Program::WaitForLine(absl::string_view prefix, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    absl::StatusOr<std::string> line = ReadLine(deadline - absl::Now());
    if (!line.ok()) return line.status();
    if (absl::string_view(*line).substr(0, prefix.size()) == prefix) {
      return line->substr(prefix.size());
    }
  }
}

void Program::Write(absl::string_view bytes) {
  if (input_.valid()) (void)write(input_.get(), bytes.data(), bytes.size());
}

}  // namespace syslink::grpc_testing
