// RecycledMessage<T>: a protobuf message that generated Dispatch() code uses for a unary
// call's request and response, taken from the spares the calling thread kept from its
// last calls with messages of the same type. A server thread that serves call after call
// then parses each request into the strings and fields its last request left allocated,
// and the method builds its response in the last response's: no allocation and no free
// per call where messages on the stack cost one of each for every string field set.
//
//   RecycledMessage<EchoRequest> request;             // empty, like EchoRequest request;
//   ... call.ParseRequest(request.get(), ...) ...
//   request.Recycle(call.request().size());           // a spare again once out of scope
//
// A message marked with Recycle() goes back to its thread's spares, cleared, when it is
// destroyed, unless the thread already holds kSparesPerType spares of its type (two: a
// method whose request and response share a type) or the calls the message served held
// more than kBudgetBytes serialized in all; otherwise, and unmarked, it is freed.
// protobuf's Clear() keeps what a message allocated (a string its capacity, a repeated
// field its elements), so a spare carries the largest shape the calls it served left in
// it: the budget bounds that by what parsing kBudgetBytes of messages can allocate (and
// what the methods building responses in it reserved). A method that calls another on its
// own thread (through an InProcessChannel, which runs the callee on the caller's thread)
// gets fresh messages for the types the outer call holds. The spares a thread holds when it
// exits are freed then.
//
// Thread safety: a RecycledMessage belongs to the thread that made it and must be destroyed
// there. Ownership: it owns its message; get() is valid until it is destroyed.

#ifndef SYSLINK_RPC_RECYCLED_MESSAGE_H_
#define SYSLINK_RPC_RECYCLED_MESSAGE_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace syslink::rpc {

template <typename T>
class RecycledMessage {
 public:
  // The serialized bytes the calls one message serves may hold in all before it is freed.
  static constexpr uint64_t kBudgetBytes = 32 * 1024;
  // The spares a thread keeps of one type.
  static constexpr int kSparesPerType = 2;

  RecycledMessage() {
    Spares& spares = ThreadSpares();
    if (spares.count > 0) {
      Spare& spare = spares.slots[--spares.count];
      message_ = spare.message.release();
      served_bytes_ = spare.served_bytes;
    } else {
      message_ = new T();
    }
  }
  ~RecycledMessage() {
    Spares& spares = ThreadSpares();
    if (recycle_ && served_bytes_ <= kBudgetBytes && spares.count < kSparesPerType) {
      message_->Clear();
      spares.slots[spares.count++] = {std::unique_ptr<T>(message_), served_bytes_};
    } else {
      delete message_;
    }
  }
  RecycledMessage(const RecycledMessage&) = delete;
  RecycledMessage& operator=(const RecycledMessage&) = delete;

  T* get() const { return message_; }
  T& operator*() const { return *message_; }
  T* operator->() const { return message_; }

  // Marks the message to become a spare when destroyed; it held `serialized_bytes` in this
  // call (a request's bytes once parsed; for a response, GetCachedSize() once
  // ServerCall::SetResponse() has serialized it).
  void Recycle(size_t serialized_bytes) {
    recycle_ = true;
    // At most one more than the budget: a spare's count (never past the budget) cannot wrap.
    served_bytes_ += std::min<uint64_t>(serialized_bytes, kBudgetBytes + 1);
  }

 private:
  struct Spare {
    std::unique_ptr<T> message;
    uint64_t served_bytes = 0;  // by the calls it served
  };
  struct Spares {
    Spare slots[kSparesPerType];
    int count = 0;  // slots[0, count) hold one
  };
  static Spares& ThreadSpares() {
    thread_local Spares spares;
    return spares;
  }

  T* message_;
  uint64_t served_bytes_ = 0;
  bool recycle_ = false;
};

}  // namespace syslink::rpc

#endif  // SYSLINK_RPC_RECYCLED_MESSAGE_H_
