// LinkWaker: wakes a thread waiting in an end's Link::Receive(), from any other thread.
//
//   absl::StatusOr<LinkWaker> waker = link.Waker();   // on the end's thread
//   ...
//   // Another thread, to make the reader look at something other than the link:
//   stop = true;
//   waker->Wake();
//   ...
//   // The end's thread:
//   absl::StatusOr<Message> message = link.Receive(absl::InfiniteFuture());
//   if (absl::IsAborted(message.status())) { /* woken: look at `stop` */ }
//
// A Wake() makes the end's next Receive() that finds no message return ABORTED, at once if
// the thread is spinning or asleep in it, or as soon as it next calls Receive(). Messages
// come first: a Receive() with a message to return returns it and leaves the wake-up for
// the next one. Wake-ups do not queue: several Wake() calls before a Receive() notices them
// make one ABORTED. Only Receive() is woken: Call(), and the waits of Send(), Reply() and
// AllocateBuffer() for ring space or buffers, are not.
//
// Underneath, an eventfd that a sleeping Receive() polls beside the link's socket, and a
// flag that a spinning one looks at between spins.
//
// Thread safety: Wake() may be called from any thread, at any time, also after the Link is
// gone (it then does nothing useful and nothing harmful); it is async-signal-safe. The
// waker is a value: copies wake the same end. Errors: Link::Waker() fails when no eventfd
// can be made (the process is out of descriptors).

#ifndef SYSLINK_SYSLINK_LINK_WAKER_H_
#define SYSLINK_SYSLINK_LINK_WAKER_H_

#include <memory>

namespace syslink {

namespace internal {
class LinkCore;
class WakeSignal;
}  // namespace internal

class LinkWaker {
 public:
  LinkWaker() = default;  // wakes nothing

  void Wake() const;
  bool valid() const { return signal_ != nullptr; }

 private:
  friend class internal::LinkCore;
  explicit LinkWaker(std::shared_ptr<internal::WakeSignal> signal) : signal_(std::move(signal)) {}

  std::shared_ptr<internal::WakeSignal> signal_;
};

}  // namespace syslink

#endif  // SYSLINK_SYSLINK_LINK_WAKER_H_
