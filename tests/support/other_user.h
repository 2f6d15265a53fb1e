// Test processes that run as another user, and die with the test.
//
//   if (!CanRunAsOtherUsers()) GTEST_SKIP() << kNeedsRoot;
//   ChildProcess attacker = ForkAs(kNobodyUser, [&] { return Attack(); });
//   ChildProcess server = ForkTied([&] { return Serve(); });   // this user
//
// A forked child gets SIGKILL when the test process dies (PR_SET_PDEATHSIG, armed again
// after the change of user, which clears it), so a test killed by its timeout leaves no
// process behind. The change is setgroups(), setgid(), setuid(), in that order; the child
// exits kCannotBecomeUser if any fails or if the test died before the signal was armed.
//
// Thread safety: like ChildProcess (fork from a process whose other threads hold no locks
// the child needs). Ownership: the returned ChildProcess.

#ifndef SYSLINK_TESTS_SUPPORT_OTHER_USER_H_
#define SYSLINK_TESTS_SUPPORT_OTHER_USER_H_

#include <sys/types.h>

#include <functional>
#include <vector>

#include "tests/support/child_process.h"

namespace syslink::testing {

struct UserIdentity {
  uid_t uid;
  gid_t gid;
  std::vector<gid_t> groups;  // supplementary
};

// nobody/nogroup, and a second unprivileged user that needs no entry in /etc/passwd.
inline const UserIdentity kNobodyUser = {65534, 65534, {}};
inline const UserIdentity kSecondUser = {65533, 65533, {}};

inline constexpr int kCannotBecomeUser = 125;

// Whether this process may run children as other users (it is root).
bool CanRunAsOtherUsers();
inline constexpr char kNeedsRoot[] =
    "needs root, to run a second user's processes with setuid(); this test runs unprivileged";

// A child that dies with this process and runs `body` as `who`.
ChildProcess ForkAs(const UserIdentity& who, const std::function<int()>& body);

// A child that dies with this process and runs `body` as this user.
ChildProcess ForkTied(const std::function<int()>& body);

}  // namespace syslink::testing

#endif  // SYSLINK_TESTS_SUPPORT_OTHER_USER_H_
