// CallerScope's capabilities under kActAsCaller: a scope acting as a caller other than root
// takes CAP_SYS_RESOURCE out of the thread's effective set (so that disk quotas and the
// blocks reserved for root hold for that caller) and gives it back when it ends; root
// acting as root keeps it.
//
// Each case runs in a forked child, since a scope changes its thread's credentials. Where
// the test has no CAP_SYS_RESOURCE to lose (a container whose bounding set leaves it out),
// the child first enters a user namespace of its own, where it has every capability, with
// uids and gids 0-65535 mapped to the test's (the parent writes the maps: only a process
// of the outer namespace may). A child reports through its exit code.

#include "examples/fs/passthrough/caller_access.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/support/child_process.h"

namespace syslink::examples::fs {
namespace {

using ::syslink::testing::ChildProcess;

// A child's exit codes.
constexpr int kHeld = 0;            // the case held
constexpr int kScopeFailed = 1;     // error() was not 0
constexpr int kUnexpectedCaps = 2;  // CAP_SYS_RESOURCE where it should not be, or the reverse
constexpr int kNotRestored = 3;     // the effective set after the scope is not the one before
constexpr int kUnreadable = 4;      // /proc/thread-self/status has no CapEff line
constexpr int kNoSysResource = 77;  // the child could not get CAP_SYS_RESOURCE: skip

const std::vector<gid_t> kServerGroups = {0};
const Caller kAlice = {.uid = 1000, .gid = 1000, .groups = {}};

// The calling thread's effective capabilities, as the kernel shows them.
std::optional<uint64_t> ThreadCapEff() {
  std::ifstream status("/proc/thread-self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("CapEff:", 0) == 0) return std::strtoull(line.c_str() + 7, nullptr, 16);
  }
  return std::nullopt;
}

bool HasSysResource(uint64_t caps) { return (caps >> CAP_SYS_RESOURCE) & 1; }

bool WriteFile(const std::string& path, const std::string& text) {
  const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool written = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  close(fd);
  return written;
}

// Runs `body` in a forked child whose only thread has CAP_SYS_RESOURCE in its effective set
// (in a user namespace of its own where the test's has none); how the child ended.
std::string RunWithSysResource(const std::function<int()>& body) {
  int to_parent[2];
  int to_child[2];
  if (pipe2(to_parent, O_CLOEXEC) != 0 || pipe2(to_child, O_CLOEXEC) != 0) return "no pipe";
  ChildProcess child = ChildProcess::Fork([&] {
    const std::optional<uint64_t> caps = ThreadCapEff();
    if (!caps) return kUnreadable;
    char own_namespace = '0';
    if (!HasSysResource(*caps)) {
      if (unshare(CLONE_NEWUSER) != 0) return kNoSysResource;
      own_namespace = '1';
    }
    char mapped = '0';
    if (write(to_parent[1], &own_namespace, 1) != 1 || read(to_child[0], &mapped, 1) != 1 ||
        mapped != '1') {
      return kNoSysResource;
    }
    const std::optional<uint64_t> now = ThreadCapEff();
    if (!now) return kUnreadable;
    return HasSysResource(*now) ? body() : kNoSysResource;
  });
  close(to_parent[1]);
  close(to_child[0]);
  char own_namespace = '0';
  char mapped = '0';
  if (read(to_parent[0], &own_namespace, 1) == 1) {
    const std::string proc = "/proc/" + std::to_string(child.pid());
    mapped = own_namespace == '0' || (WriteFile(proc + "/uid_map", "0 0 65536\n") &&
                                      WriteFile(proc + "/gid_map", "0 0 65536\n"))
                 ? '1'
                 : '0';
  }
  (void)!write(to_child[1], &mapped, 1);
  close(to_parent[0]);
  close(to_child[1]);
  return child.Wait();
}

// Expects `body`, run as RunWithSysResource does, to return kHeld; skips the test when the
// child could not get CAP_SYS_RESOURCE.
void ExpectHoldsWithSysResource(const std::function<int()>& body) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (to act as another caller)";
  const std::string ended = RunWithSysResource(body);
  if (ended == ChildProcess::Exited(kNoSysResource)) {
    GTEST_SKIP() << "no CAP_SYS_RESOURCE, not even in a user namespace of our own";
  }
  EXPECT_EQ(ended, ChildProcess::Exited(kHeld));
}

TEST(CallerScopeTest, OtherCallerLacksSysResource) {
  ExpectHoldsWithSysResource([] {
    CallerScope scope(CallerAccess::kActAsCaller, kServerGroups, kAlice);
    if (scope.error() != 0) return kScopeFailed;
    const std::optional<uint64_t> caps = ThreadCapEff();
    if (!caps) return kUnreadable;
    return HasSysResource(*caps) ? kUnexpectedCaps : kHeld;
  });
}

TEST(CallerScopeTest, EndOfOtherCallerScopeGivesEffectiveSetBack) {
  ExpectHoldsWithSysResource([] {
    const std::optional<uint64_t> before = ThreadCapEff();
    {
      CallerScope scope(CallerAccess::kActAsCaller, kServerGroups, kAlice);
      if (scope.error() != 0) return kScopeFailed;
    }
    const std::optional<uint64_t> after = ThreadCapEff();
    if (!before || !after) return kUnreadable;
    if (!HasSysResource(*after)) return kUnexpectedCaps;
    return *after == *before ? kHeld : kNotRestored;
  });
}

TEST(CallerScopeTest, RootAsRootKeepsSysResource) {
  ExpectHoldsWithSysResource([] {
    CallerScope scope(CallerAccess::kActAsCaller, kServerGroups, Caller{.uid = 0, .gid = 0});
    if (scope.error() != 0) return kScopeFailed;
    const std::optional<uint64_t> caps = ThreadCapEff();
    if (!caps) return kUnreadable;
    return HasSysResource(*caps) ? kHeld : kUnexpectedCaps;
  });
}

// Root in another group is still root, whom the kernel would give CAP_SYS_RESOURCE.
TEST(CallerScopeTest, RootInOtherGroupKeepsSysResource) {
  ExpectHoldsWithSysResource([] {
    CallerScope scope(CallerAccess::kActAsCaller, kServerGroups,
                      Caller{.uid = 0, .gid = 1000, .groups = {1000}});
    if (scope.error() != 0) return kScopeFailed;
    const std::optional<uint64_t> caps = ThreadCapEff();
    if (!caps) return kUnreadable;
    return HasSysResource(*caps) ? kHeld : kUnexpectedCaps;
  });
}

}  // namespace
}  // namespace syslink::examples::fs
