#include "tests/support/other_user.h"

#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

namespace syslink::testing {
namespace {

// Arms the parent-death signal; false if the parent is already gone.
bool DieWithParent(pid_t parent) {
  return prctl(PR_SET_PDEATHSIG, SIGKILL) == 0 && getppid() == parent;
}

}  // namespace

bool CanRunAsOtherUsers() { return geteuid() == 0; }

ChildProcess ForkAs(const UserIdentity& who, const std::function<int()>& body) {
  const pid_t parent = getpid();
  return ChildProcess::Fork([&] {
    if (setgroups(who.groups.size(), who.groups.data()) != 0 || setgid(who.gid) != 0 ||
        setuid(who.uid) != 0 || getuid() != who.uid || geteuid() != who.uid) {
      return kCannotBecomeUser;
    }
    if (!DieWithParent(parent)) return kCannotBecomeUser;  // cleared by setuid(): again
    return body();
  });
}

ChildProcess ForkTied(const std::function<int()>& body) {
  const pid_t parent = getpid();
  return ChildProcess::Fork([&] {
    if (!DieWithParent(parent)) return kCannotBecomeUser;
    return body();
  });
}

}  // namespace syslink::testing
