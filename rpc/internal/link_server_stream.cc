#include "rpc/internal/link_server_stream.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "rpc/internal/call_format.h"
#include "rpc/internal/server_context_access.h"

namespace syslink::rpc::internal {

LinkServerStream::LinkServerStream(uint32_t stream_id, std::shared_ptr<ServerContext> context,
                                   Reply reply, size_t batch_bytes)
    : stream_id_(stream_id),
      context_(std::move(context)),
      reply_(std::move(reply)),
      batch_bytes_(batch_bytes) {}

absl::Status LinkServerStream::AddMessage(uint64_t id, std::string message, Attachment attachment) {
  absl::MutexLock lock(&mutex_);
  if (closed_) {
    return absl::FailedPreconditionError(
        absl::StrCat("stream ", stream_id_, " ended: its method returned"));
  }
  if (half_closed_) {
    return absl::FailedPreconditionError(
        absl::StrCat("a message on stream ", stream_id_, " after its WritesDone()"));
  }
  if (messages_.size() >= kMaxQueued) {
    return absl::ResourceExhaustedError(absl::StrCat("stream ", stream_id_, " has ", kMaxQueued,
                                                     " messages unread: the client's window is "
                                                     "larger than the server takes"));
  }
  if (!messages_.empty() && messages_bytes_ + message.size() > kMaxQueuedBytes) {
    return absl::ResourceExhaustedError(absl::StrCat("stream ", stream_id_, " holds ",
                                                     messages_bytes_,
                                                     " bytes of messages unread: a client "
                                                     "keeps at most ",
                                                     kStreamWindowBytes, " in flight"));
  }
  messages_bytes_ += message.size();
  messages_.push_back({id, std::move(message), std::move(attachment)});
  changed_.SignalAll();
  return absl::OkStatus();
}

absl::Status LinkServerStream::AddPull(uint64_t id, uint32_t room) {
  room = std::max<uint32_t>(room, 1);
  absl::ReleasableMutexLock lock(&mutex_);
  buffer_limit_ = std::max<size_t>(buffer_limit_, std::min<size_t>(room, kMaxBuffered));
  if (!outgoing_.empty()) {
    Batch batch = TakeBatch(id, room);
    changed_.SignalAll();  // room in the buffer
    lock.Release();
    Send(std::move(batch));
    return absl::OkStatus();
  }
  if (closed_) {
    lock.Release();
    reply_(id, absl::OkStatus(), kCallStreamEnd, {}, {});
    return absl::OkStatus();
  }
  if (pulls_.size() >= kMaxQueued) {
    return absl::ResourceExhaustedError(absl::StrCat("stream ", stream_id_, " has ", kMaxQueued,
                                                     " pulls unanswered: the client's window is "
                                                     "larger than the server takes"));
  }
  pulls_.push_back({id, room});
  return absl::OkStatus();
}

namespace {

void AppendLength(std::string& out, size_t size) {
  std::byte prefix[4];
  StoreU32(prefix, static_cast<uint32_t>(size));
  out.append(reinterpret_cast<const char*>(prefix), 4);
}

size_t ReadLength(const std::string& in, size_t at) {
  return LoadU32(reinterpret_cast<const std::byte*>(in.data() + at));
}

}  // namespace

void LinkServerStream::Buffer(const std::string& message) {
  const size_t bytes = 4 + message.size();
  // A run stays inside one reply's inline room: a message past it starts the next run.
  if (outgoing_.empty() || !outgoing_.back().packed ||
      outgoing_.back().message.size() + bytes > batch_bytes_) {
    outgoing_.push_back({{}, {}, 0, true});
  }
  Outgoing& run = outgoing_.back();
  AppendLength(run.message, message.size());
  run.message.append(message);
  ++run.count;
  ++outgoing_count_;
  outgoing_bytes_ += bytes;
}

LinkServerStream::Batch LinkServerStream::TakeBatch(uint64_t pull, uint32_t room) {
  Batch batch{pull, 0, {}, {}};
  Outgoing& front = outgoing_.front();
  uint32_t taken = front.count;
  if (front.packed && front.count > room) {
    // The client has room for fewer than the run holds: the first `room` go.
    size_t cut = 0;
    for (uint32_t i = 0; i < room; ++i) cut += 4 + ReadLength(front.message, cut);
    batch.message = front.message.substr(0, cut);
    front.message.erase(0, cut);
    front.count -= room;
    taken = room;
    outgoing_bytes_ -= cut;
  } else {
    outgoing_bytes_ -= front.bytes();
    batch.message = std::move(front.message);
    batch.attachment = std::move(front.attachment);
    const bool packed = front.packed;
    outgoing_.pop_front();
    if (!packed) {
      outgoing_count_ -= 1;
      return batch;
    }
  }
  outgoing_count_ -= taken;
  if (taken == 1) {
    batch.message.erase(0, 4);  // one message goes as itself
  } else {
    batch.flags = kCallStreamBatch;  // several, each behind its length, in one reply
  }
  return batch;
}

void LinkServerStream::HalfClose() {
  absl::MutexLock lock(&mutex_);
  half_closed_ = true;
  changed_.SignalAll();
}

void LinkServerStream::Cancel() {
  ServerContextAccess::MarkCancelled(*context_);
  absl::MutexLock lock(&mutex_);
  cancelled_ = true;
  changed_.SignalAll();
}

void LinkServerStream::Close() {
  std::deque<Incoming> messages;
  std::deque<Pull> pulls;
  uint64_t last_read;
  {
    absl::MutexLock lock(&mutex_);
    // What the method wrote goes out first, as the client pulls it.
    Wait([this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return outgoing_.empty(); });
    closed_ = true;
    outgoing_.clear();  // the stream ended first: nobody takes these
    outgoing_count_ = 0;
    outgoing_bytes_ = 0;
    messages.swap(messages_);
    messages_bytes_ = 0;
    pulls.swap(pulls_);
    last_read = std::exchange(last_read_, 0);
  }
  if (last_read != 0) reply_(last_read, absl::OkStatus(), 0, {}, {});
  const absl::Status unread = absl::FailedPreconditionError(
      absl::StrCat("stream ", stream_id_, " ended before the server read this message"));
  for (Incoming& message : messages) reply_(message.id, unread, 0, {}, {});
  for (const Pull& pull : pulls) reply_(pull.id, absl::OkStatus(), kCallStreamEnd, {}, {});
}

bool LinkServerStream::Ended() const { return cancelled_ || closed_ || context_->cancelled(); }

template <typename Ready>
bool LinkServerStream::Wait(Ready ready) {
  const absl::Time deadline = context_->deadline();  // with no deadline, waits unbounded
  while (!ready() && !Ended()) {
    if (changed_.WaitWithDeadline(&mutex_, deadline)) break;  // the deadline passed
  }
  return ready() && !Ended();
}

bool LinkServerStream::Read(google::protobuf::MessageLite* message, Attachment* attachment) {
  // Answers go out with mutex_ released: an answer may make this thread send the link's
  // waiting replies (LinkSession::ServeReplies); it runs none of the link's calls.
  uint64_t done_with = 0;  // the message read last, kept for its attachment
  {
    absl::MutexLock lock(&mutex_);
    done_with = std::exchange(last_read_, 0);
  }
  // Answered before waiting: a client whose window is full waits for this answer to send
  // the next message.
  if (done_with != 0) reply_(done_with, absl::OkStatus(), 0, {}, {});
  Incoming incoming{};
  bool got = false;
  {
    absl::MutexLock lock(&mutex_);
    if (Wait([this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
          return !messages_.empty() || half_closed_;
        }) &&
        !messages_.empty()) {
      incoming = std::move(messages_.front());
      messages_.pop_front();
      messages_bytes_ -= incoming.message.size();
      got = true;
      // An attachment is the client's buffer, lent until its message is answered.
      if (incoming.attachment.size() > 0) last_read_ = incoming.id;
    }
  }
  if (!got) return false;
  if (incoming.attachment.size() == 0) reply_(incoming.id, absl::OkStatus(), 0, {}, {});
  if (attachment != nullptr) *attachment = std::move(incoming.attachment);
  if (!message->ParseFromString(incoming.message)) {
    Cancel();
    ServerContextAccess::MarkCancelled(*context_);
    return false;
  }
  return true;
}

bool LinkServerStream::Write(const google::protobuf::MessageLite& message, Attachment attachment) {
  // Serialized into this thread's scratch, whose capacity stays: a message buffered in a
  // run is copied from it, with no allocation of its own. One that goes alone takes the
  // scratch's buffer with it.
  thread_local std::string scratch;
  scratch.clear();
  if (!message.AppendPartialToString(&scratch)) {
    Cancel();  // larger than protobuf serializes (2 GiB)
    return false;
  }
  absl::ReleasableMutexLock lock(&mutex_);
  // Room: a pull waits (then the buffer is empty), or the buffer has room.
  if (!Wait([this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
        return !pulls_.empty() ||
               (outgoing_count_ < buffer_limit_ && outgoing_bytes_ < kMaxBufferedBytes);
      })) {
    return false;
  }
  if (pulls_.empty()) {
    if (attachment.size() == 0 && 4 + scratch.size() <= batch_bytes_) {
      Buffer(scratch);
    } else {
      // Large or attached: the buffer goes with it, and the scratch keeps no large capacity.
      outgoing_.push_back({std::move(scratch), std::move(attachment)});
      ++outgoing_count_;
      outgoing_bytes_ += outgoing_.back().bytes();
    }
    return true;
  }
  const uint64_t pull = pulls_.front().id;
  pulls_.pop_front();
  lock.Release();
  reply_(pull, absl::OkStatus(), 0, std::move(scratch), std::move(attachment));
  return true;
}

}  // namespace syslink::rpc::internal
