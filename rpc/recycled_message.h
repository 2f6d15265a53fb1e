// RecycledMessage<T>: a protobuf message that generated Dispatch() code uses for a unary
// call's request and response, taken from a spare the calling thread kept from its last
// call of the same type. A server thread that serves call after call then parses each
// request into the strings and fields its last request left allocated, and the method
// builds its response in the last response's: no allocation and no free per call where a
// message on the stack costs one of each for every string field set.
//
//   RecycledMessage<EchoRequest> request;             // empty, like EchoRequest request;
//   ... call.ParseRequest(request.get(), ...) ...
//   request.KeepIfAtMost(call.request().size());       // spare again once this goes out of scope
//
// A message goes back to its thread's spare when it is destroyed, cleared, only if
// KeepIfAtMost() was told that what it held serialized to at most kKeepBytes: a thread
// keeps at most one small message of each type, never the memory of a large one. A thread
// that nests calls (a method calling through an InProcessChannel, which runs the callee on
// the caller's thread) takes a fresh message while the outer call holds the spare; the
// spare a thread holds when it exits is freed then.
//
// Thread safety: a RecycledMessage belongs to the thread that made it and must be destroyed
// there. Ownership: it owns its message; get() is valid until it is destroyed.

#ifndef SYSLINK_RPC_RECYCLED_MESSAGE_H_
#define SYSLINK_RPC_RECYCLED_MESSAGE_H_

#include <cstddef>
#include <memory>

namespace syslink::rpc {

template <typename T>
class RecycledMessage {
 public:
  // The most serialized bytes a message may have held to be kept for the thread's next call.
  static constexpr size_t kKeepBytes = 4096;

  RecycledMessage() : message_(Spare().release()) {
    if (message_ == nullptr) message_ = new T();
  }
  ~RecycledMessage() {
    std::unique_ptr<T>& spare = Spare();
    if (keep_ && spare == nullptr) {
      message_->Clear();
      spare.reset(message_);
    } else {
      delete message_;
    }
  }
  RecycledMessage(const RecycledMessage&) = delete;
  RecycledMessage& operator=(const RecycledMessage&) = delete;

  T* get() const { return message_; }
  T& operator*() const { return *message_; }
  T* operator->() const { return message_; }

  // Keeps the message for the thread's next call if `serialized_bytes`, the size of what it
  // holds (or held: a request's bytes once parsed), is at most kKeepBytes.
  void KeepIfAtMost(size_t serialized_bytes) { keep_ = serialized_bytes <= kKeepBytes; }

 private:
  static std::unique_ptr<T>& Spare() {
    thread_local std::unique_ptr<T> spare;
    return spare;
  }

  T* message_;
  bool keep_ = false;
};

}  // namespace syslink::rpc

#endif  // SYSLINK_RPC_RECYCLED_MESSAGE_H_
