#include "rpc/internal/in_process_stream.h"

#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "rpc/internal/call_format.h"
#include "rpc/internal/server_context_access.h"

namespace syslink::rpc::internal {

bool InProcessStream::Queue::HasRoom(size_t size, int window) const {
  return messages.size() < static_cast<size_t>(window) &&
         (messages.empty() || bytes + size <= kStreamWindowBytes);
}

void InProcessStream::Queue::Push(std::string message, Attachment attachment) {
  bytes += message.size();
  messages.push_back({std::move(message), std::move(attachment)});
}

InProcessStream::Queued InProcessStream::Queue::Pop() {
  Queued front = std::move(messages.front());
  messages.pop_front();
  bytes -= front.bytes.size();
  return front;
}

void InProcessStream::Queue::Clear() {
  messages.clear();
  bytes = 0;
}

InProcessStream::InProcessStream(absl::string_view path, int window, absl::Time deadline)
    : path_(path),
      window_(std::max(window, 1)),
      deadline_(deadline),
      server_context_({getpid(), getuid(), getgid()}, deadline) {}

void InProcessStream::EndLocked(absl::Status status) {
  if (returned_ || !ended_.ok()) return;
  ended_ = std::move(status);
  to_method_.Clear();
  to_caller_.Clear();
  ServerContextAccess::MarkCancelled(server_context_);
  changed_.SignalAll();
}

template <typename Ready, typename Over>
void InProcessStream::WaitUntil(Ready ready, Over over) {
  while (!ready() && !over()) {
    // With no deadline, waits unbounded: every change signals changed_.
    if (changed_.WaitWithDeadline(&mutex_, deadline_) && absl::Now() >= deadline_) {
      EndLocked(absl::DeadlineExceededError(absl::StrCat(path_, ": the deadline passed")));
    }
  }
}

absl::Status InProcessStream::ClientWrite(const google::protobuf::MessageLite& message,
                                          Attachment* attachment, bool wait) {
  std::string bytes;
  if (!message.AppendPartialToString(&bytes)) {
    return absl::ResourceExhaustedError(absl::StrCat(path_, ": a message of ",
                                                     message.ByteSizeLong(),
                                                     " bytes is more than protobuf serializes"));
  }
  absl::MutexLock lock(&mutex_);
  if (writes_done_) {
    return absl::FailedPreconditionError(absl::StrCat(path_, ": Write() after WritesDone()"));
  }
  auto room = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return to_method_.HasRoom(bytes.size(), window_);
  };
  auto over = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return OverForClient(); };
  if (wait) {
    WaitUntil(room, over);
  } else if (!over() && !room()) {
    return absl::ResourceExhaustedError(absl::StrCat(path_, ": the stream's window (", window_,
                                                     " messages, ", kStreamWindowBytes,
                                                     " bytes) is full"));
  }
  if (!ended_.ok()) return ended_;
  if (returned_) {
    return outcome_.status.ok()
               ? absl::FailedPreconditionError(absl::StrCat(path_, ": the stream has ended"))
               : outcome_.status;
  }
  to_method_.Push(std::move(bytes), std::move(*attachment));
  changed_.SignalAll();
  return absl::OkStatus();
}

absl::Status InProcessStream::WritesDone() {
  absl::MutexLock lock(&mutex_);
  if (!ended_.ok()) return ended_;
  if (!writes_done_ && !returned_) {
    writes_done_ = true;
    changed_.SignalAll();
  }
  return absl::OkStatus();
}

bool InProcessStream::ClientRead(google::protobuf::MessageLite* message, Attachment* attachment) {
  Queued queued;
  {
    absl::MutexLock lock(&mutex_);
    if (!bad_message_.ok()) return false;
    WaitUntil([this]()
                  ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return !to_caller_.messages.empty(); },
              [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return OverForClient(); });
    if (to_caller_.messages.empty()) return false;
    queued = to_caller_.Pop();
    changed_.SignalAll();  // room for the method's next message
  }
  if (attachment != nullptr) *attachment = std::move(queued.attachment);
  if (message->ParseFromString(queued.bytes)) return true;
  // Nobody reads the method's messages from here on: its side ends.
  absl::MutexLock lock(&mutex_);
  bad_message_ = absl::InvalidArgumentError(
      absl::StrFormat("a message of %s (%d bytes) does not parse as %s", path_, queued.bytes.size(),
                      message->GetTypeName()));
  method_stopped_ = true;
  to_caller_.Clear();
  ServerContextAccess::MarkCancelled(server_context_);
  changed_.SignalAll();
  return false;
}

InProcessStream::Outcome InProcessStream::Finish() {
  absl::MutexLock lock(&mutex_);
  finishing_ = true;
  to_caller_.Clear();
  changed_.SignalAll();  // a method waiting for room writes on, its messages dropped
  WaitUntil([] { return false; },
            [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return OverForClient(); });
  Outcome outcome;
  if (!ended_.ok()) {
    outcome.status = ended_;
    return outcome;
  }
  outcome.status = bad_message_.ok() ? outcome_.status : bad_message_;
  outcome.response = std::move(outcome_.response);
  outcome.response_attachment = std::move(outcome_.response_attachment);
  outcome.trailing = std::move(outcome_.trailing);
  return outcome;
}

void InProcessStream::Cancel(absl::string_view why) {
  absl::MutexLock lock(&mutex_);
  EndLocked(absl::CancelledError(absl::StrCat(path_, ": ", why)));
}

void InProcessStream::Return(Outcome outcome) {
  absl::MutexLock lock(&mutex_);
  // As over a link, the caller's deadline outranks a method that returns after it (most
  // likely because its Read() or Write() saw the deadline pass).
  if (absl::Now() >= deadline_) {
    EndLocked(absl::DeadlineExceededError(absl::StrCat(path_, ": the deadline passed")));
  }
  returned_ = true;
  outcome_ = std::move(outcome);
  to_method_.Clear();  // the caller's messages the method did not read
  changed_.SignalAll();
}

bool InProcessStream::Read(google::protobuf::MessageLite* message, Attachment* attachment) {
  Queued queued;
  {
    absl::MutexLock lock(&mutex_);
    WaitUntil([this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(
                  mutex_) { return !to_method_.messages.empty() || writes_done_; },
              [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return OverForMethod(); });
    if (OverForMethod() || to_method_.messages.empty()) return false;
    queued = to_method_.Pop();
    changed_.SignalAll();  // room for the caller's next message
  }
  if (attachment != nullptr) *attachment = std::move(queued.attachment);
  if (message->ParseFromString(queued.bytes)) return true;
  // As over a link: the method's side ends, and its context reads cancelled().
  absl::MutexLock lock(&mutex_);
  method_stopped_ = true;
  ServerContextAccess::MarkCancelled(server_context_);
  changed_.SignalAll();
  return false;
}

bool InProcessStream::Write(const google::protobuf::MessageLite& message, Attachment attachment) {
  std::string bytes;
  const bool serialized = message.AppendPartialToString(&bytes);
  absl::MutexLock lock(&mutex_);
  if (!serialized) {  // larger than protobuf serializes (2 GiB)
    method_stopped_ = true;
    ServerContextAccess::MarkCancelled(server_context_);
    changed_.SignalAll();
    return false;
  }
  WaitUntil([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(
                mutex_) { return finishing_ || to_caller_.HasRoom(bytes.size(), window_); },
            [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return OverForMethod(); });
  if (OverForMethod()) return false;
  if (!finishing_) {
    to_caller_.Push(std::move(bytes), std::move(attachment));
    changed_.SignalAll();
  }
  return true;
}

}  // namespace syslink::rpc::internal
