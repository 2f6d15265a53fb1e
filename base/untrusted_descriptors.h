// Descriptors a peer may try to push on a process that never asked for any, and how to
// get rid of them without a system call that the peer can make block.
//
//   if (!RefuseDescriptors(listener)) {        // SO_PASSRIGHTS off, where the kernel has it
//     LabelEveryMessage(listener);              // else: peek before every receive
//   }
//   if (PeekNextMessage(socket) == NextMessage::kWithDescriptors) ... do not recv() it here
//   ClearLinger(fd);                            // before closing a socket a peer handed over
//
// Why: closing a descriptor can block in the kernel, under the control of whoever made it:
// a TCP socket with SO_LINGER set and unsent data waits up to its linger time; a FUSE file's
// flush on close waits for its FUSE server; a FIFO's release waits for its lock. A message
// received and dropped with its descriptors, or a socket closed with such messages still
// queued, makes the receiving thread run those releases. A process serving many users from
// one thread must therefore never take or drop a peer's descriptor on that thread.
//
// Thread safety: pure functions of their arguments. Errors: none reported; each says what
// it did.

#ifndef SYSLINK_BASE_UNTRUSTED_DESCRIPTORS_H_
#define SYSLINK_BASE_UNTRUSTED_DESCRIPTORS_H_

#include <sys/types.h>

namespace syslink {

// Makes the Unix socket `socket` refuse SCM_RIGHTS (Linux 6.16's SO_PASSRIGHTS): a peer's
// sendmsg() with descriptors then fails with EPERM and nothing reaches this process. Set
// on a listening socket, it holds for every connection accepted from it, from the moment
// the peer connects. False when the kernel does not have the option.
bool RefuseDescriptors(int socket);

// Turns SO_PASSCRED on for the Unix socket `socket` (and, set on a listening socket, for
// every connection accepted from it, including what a peer sends before the accept):
// every message then carries the sender's credentials, so PeekNextMessage() can tell an
// empty message from a hang-up. False if that failed.
bool LabelEveryMessage(int socket);

enum class NextMessage {
  kNothingYet,       // nothing queued, and the peer may still send
  kEnd,              // nothing queued, and nothing will come (a hang-up, a shutdown, an error)
  kPlain,            // a message without descriptors
  kWithDescriptors,  // a message carrying descriptors
};

// What the next message queued on the SOCK_SEQPACKET socket `socket` (labelled with
// LabelEveryMessage) is, without taking it: MSG_PEEK with room for the credentials only,
// so no descriptor is installed in this process and none is released here (the queued
// message keeps its references). Without the label, an empty message reads as kEnd.
NextMessage PeekNextMessage(int socket);

// Discards the next message on `socket`; for one PeekNextMessage() found plain.
void DiscardNextMessage(int socket);

// The file type (S_IFSOCK, S_IFREG, ...) of `fd` from statx() with AT_STATX_DONT_SYNC,
// which answers from what the kernel holds (fstat() may ask a FUSE server); 0 if unknown.
mode_t FileTypeWithoutBlocking(int fd);

// Turns SO_LINGER off on the socket `fd`, so that closing it never waits for unsent data.
// False if that failed (`fd` is then no socket, or an odd one).
bool ClearLinger(int fd);

}  // namespace syslink

#endif  // SYSLINK_BASE_UNTRUSTED_DESCRIPTORS_H_
