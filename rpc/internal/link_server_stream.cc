#include "rpc/internal/link_server_stream.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "rpc/internal/call_format.h"

namespace syslink::rpc::internal {

LinkServerStream::LinkServerStream(uint32_t stream_id, ServerContext* context, Reply reply)
    : stream_id_(stream_id), context_(context), reply_(std::move(reply)) {}

absl::Status LinkServerStream::AddMessage(uint64_t id, std::string message,
                                          Attachment attachment) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (closed_) {
    return absl::FailedPreconditionError(
        absl::StrCat("stream ", stream_id_, " ended: its method returned"));
  }
  if (half_closed_) {
    return absl::FailedPreconditionError(
        absl::StrCat("a message on stream ", stream_id_, " after its WritesDone()"));
  }
  if (messages_.size() >= kMaxQueued) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "stream ", stream_id_, " has ", kMaxQueued, " messages unread: the client's window is "
        "larger than the server takes"));
  }
  messages_.push_back({id, std::move(message), std::move(attachment)});
  changed_.notify_all();
  return absl::OkStatus();
}

absl::Status LinkServerStream::AddPull(uint64_t id) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (closed_) {
    lock.unlock();
    reply_(id, absl::OkStatus(), kCallStreamEnd, {}, {});
    return absl::OkStatus();
  }
  if (pulls_.size() >= kMaxQueued) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "stream ", stream_id_, " has ", kMaxQueued, " pulls unanswered: the client's window is "
        "larger than the server takes"));
  }
  pulls_.push_back(id);
  changed_.notify_all();
  return absl::OkStatus();
}

void LinkServerStream::HalfClose() {
  std::lock_guard<std::mutex> lock(mutex_);
  half_closed_ = true;
  changed_.notify_all();
}

void LinkServerStream::Cancel() {
  context_->MarkCancelled();
  std::lock_guard<std::mutex> lock(mutex_);
  cancelled_ = true;
  changed_.notify_all();
}

void LinkServerStream::Close() {
  std::deque<Incoming> messages;
  std::deque<uint64_t> pulls;
  uint64_t last_read;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    messages.swap(messages_);
    pulls.swap(pulls_);
    last_read = std::exchange(last_read_, 0);
  }
  if (last_read != 0) reply_(last_read, absl::OkStatus(), 0, {}, {});
  const absl::Status unread = absl::FailedPreconditionError(
      absl::StrCat("stream ", stream_id_, " ended before the server read this message"));
  for (Incoming& message : messages) reply_(message.id, unread, 0, {}, {});
  for (uint64_t pull : pulls) reply_(pull, absl::OkStatus(), kCallStreamEnd, {}, {});
}

bool LinkServerStream::Ended() const {
  return cancelled_ || closed_ || context_->cancelled();
}

template <typename Ready>
bool LinkServerStream::Wait(std::unique_lock<std::mutex>& lock, Ready ready) {
  const absl::Time deadline = context_->deadline();
  while (!ready() && !Ended()) {
    if (deadline == absl::InfiniteFuture()) {
      changed_.wait(lock);
    } else if (changed_.wait_until(lock, absl::ToChronoTime(deadline)) ==
               std::cv_status::timeout) {
      break;
    }
  }
  return ready() && !Ended();
}

bool LinkServerStream::Read(google::protobuf::MessageLite* message, Attachment* attachment) {
  // Answers go out with mutex_ released: an answer may make this thread serve the link,
  // which hands requests to this stream.
  uint64_t done_with = 0;  // the message read last, kept for its attachment
  Incoming incoming{};
  bool got = false;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    done_with = std::exchange(last_read_, 0);
    if (Wait(lock, [this] { return !messages_.empty() || half_closed_; }) &&
        !messages_.empty()) {
      incoming = std::move(messages_.front());
      messages_.pop_front();
      got = true;
      // An attachment is the client's buffer, lent until its message is answered.
      if (incoming.attachment.size() > 0) last_read_ = incoming.id;
    }
  }
  if (done_with != 0) reply_(done_with, absl::OkStatus(), 0, {}, {});
  if (!got) return false;
  if (incoming.attachment.size() == 0) reply_(incoming.id, absl::OkStatus(), 0, {}, {});
  if (attachment != nullptr) *attachment = std::move(incoming.attachment);
  if (!message->ParseFromString(incoming.message)) {
    Cancel();
    context_->MarkCancelled();
    return false;
  }
  return true;
}

bool LinkServerStream::Write(const google::protobuf::MessageLite& message,
                             Attachment attachment) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!Wait(lock, [this] { return !pulls_.empty(); })) return false;
  uint64_t pull = pulls_.front();
  pulls_.pop_front();
  lock.unlock();
  reply_(pull, absl::OkStatus(), 0, message.SerializeAsString(), std::move(attachment));
  return true;
}

}  // namespace syslink::rpc::internal
