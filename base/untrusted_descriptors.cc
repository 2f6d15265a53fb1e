#include "base/untrusted_descriptors.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>

// Linux 6.16; the C library's headers may predate it. Its value is the same on every
// architecture that uses the generic socket option numbers.
#if !defined(SO_PASSRIGHTS) && \
    (defined(__x86_64__) || defined(__i386__) || defined(__aarch64__) || defined(__riscv))
#define SO_PASSRIGHTS 83
#endif

namespace syslink {

bool RefuseDescriptors(int socket) {
#ifdef SO_PASSRIGHTS
  int off = 0;
  return setsockopt(socket, SOL_SOCKET, SO_PASSRIGHTS, &off, sizeof(off)) == 0;
#else
  (void)socket;
  return false;
#endif
}

bool LabelEveryMessage(int socket) {
  int on = 1;
  return setsockopt(socket, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) == 0;
}

NextMessage PeekNextMessage(int socket) {
  char byte;
  struct iovec iov = {&byte, sizeof(byte)};
  // Room for SCM_CREDENTIALS and nothing more: descriptors find none (fdmax 0) and are
  // reported with MSG_CTRUNC instead of being installed.
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(struct ucred))];
  struct msghdr message = {};
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = recvmsg(socket, &message, MSG_PEEK | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    return errno == EAGAIN || errno == EWOULDBLOCK ? NextMessage::kNothingYet : NextMessage::kEnd;
  }
  if (message.msg_flags & MSG_CTRUNC) return NextMessage::kWithDescriptors;
  // A message, even an empty one, comes with its label; a hang-up comes with nothing.
  if (n == 0 && message.msg_controllen == 0) return NextMessage::kEnd;
  return NextMessage::kPlain;
}

void DiscardNextMessage(int socket) {
  char byte;
  ssize_t n;
  do {
    n = recv(socket, &byte, sizeof(byte), MSG_DONTWAIT | MSG_TRUNC);
  } while (n < 0 && errno == EINTR);
}

mode_t FileTypeWithoutBlocking(int fd) {
  struct statx st = {};
  if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE, &st) != 0 ||
      (st.stx_mask & STATX_TYPE) == 0) {
    return 0;
  }
  return st.stx_mode & S_IFMT;
}

bool ClearLinger(int fd) {
  struct linger off = {0, 0};
  return setsockopt(fd, SOL_SOCKET, SO_LINGER, &off, sizeof(off)) == 0;
}

}  // namespace syslink
