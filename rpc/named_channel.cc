#include "rpc/named_channel.h"

#include <sys/eventfd.h>

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/errno_status.h"
#include "base/unique_fd.h"
#include "rpc/connect.h"

namespace syslink::rpc {
namespace {

// How often a connect that waits for its server tries again after the server went away
// before it admitted the link (UNAVAILABLE from the broker). Each try waits on the broker.
constexpr int kUnavailableRetries = 3;

}  // namespace

std::shared_ptr<NamedChannel> NamedChannel::Create(std::string service_name,
                                                   broker::BrokerConnectOptions options,
                                                   LinkChannelOptions channel_options) {
  return std::shared_ptr<NamedChannel>(
      new NamedChannel(std::move(service_name), std::move(options), channel_options));
}

NamedChannel::NamedChannel(std::string service_name, broker::BrokerConnectOptions options,
                           LinkChannelOptions channel_options)
    : service_name_(std::move(service_name)),
      options_(std::move(options)),
      channel_options_(channel_options) {}

NamedChannel::~NamedChannel() = default;

absl::StatusOr<std::shared_ptr<LinkChannel>> NamedChannel::Current(ClientContext* context) {
  std::vector<std::shared_ptr<LinkChannel>> done_with;  // let go once the lock is released
  {
    absl::MutexLock lock(&mutex_);
    if (current_ != nullptr && current_->status().ok()) return current_;
    // Async calls may still finish on the closed one (a stream keeps its channel itself):
    // it stays until nothing is left to finish and nobody else holds it.
    if (current_ != nullptr) retired_.push_back(std::move(current_));
    for (auto it = retired_.begin(); it != retired_.end();) {
      if (it->use_count() == 1 && (*it)->idle()) {
        done_with.push_back(std::move(*it));
        it = retired_.erase(it);
      } else {
        ++it;
      }
    }
  }
  // Connected without the lock: a call that waits for a server must not hold up the
  // others. Callers that find no link at once each connect; the first link made is kept.
  absl::StatusOr<std::shared_ptr<LinkChannel>> made = Connect(context);
  if (!made.ok()) return made.status();
  absl::MutexLock lock(&mutex_);
  if (current_ != nullptr && current_->status().ok()) {
    done_with.push_back(*std::move(made));  // another caller's link came first
    return current_;
  }
  if (current_ != nullptr) retired_.push_back(std::move(current_));
  current_ = *std::move(made);
  return current_;
}

absl::StatusOr<std::shared_ptr<LinkChannel>> NamedChannel::Connect(ClientContext* context) {
  broker::BrokerConnectOptions options = options_;
  const bool wait = context != nullptr && context->wait_for_ready();
  const absl::Time deadline = context != nullptr ? context->deadline() : absl::InfiniteFuture();
  if (wait) {
    // The broker holds the connect until a server registers the name; TryCancel() makes
    // the eventfd readable, which ends the wait.
    auto cancel = std::make_shared<const UniqueFd>(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!cancel->valid()) return ErrnoStatus("eventfd for a call that waits for its server");
    context->set_cancel_waker(cancel);
    if (context->cancel_requested()) return absl::CancelledError("the call was cancelled");
    options.cancel_fd = cancel->get();
    options.wait_for_registration = deadline == absl::InfiniteFuture()
                                        ? absl::InfiniteDuration()
                                        : std::max(deadline - absl::Now(), absl::ZeroDuration());
  }
  absl::StatusOr<broker::OutgoingLink> link;
  for (int attempt = 0;; ++attempt) {
    link = broker::ConnectToServiceIdentified(service_name_, options);
    // A server that went away before it admitted the link: wait for the next one.
    if (!wait || !absl::IsUnavailable(link.status()) || attempt == kUnavailableRetries ||
        absl::Now() >= deadline) {
      break;
    }
    options.wait_for_registration = deadline == absl::InfiniteFuture()
                                        ? absl::InfiniteDuration()
                                        : std::max(deadline - absl::Now(), absl::ZeroDuration());
  }
  if (!link.ok()) {
    if (wait && absl::IsNotFound(link.status())) {
      return absl::DeadlineExceededError(absl::StrCat(
          "no server for ", service_name_, " before the deadline: ", link.status().message()));
    }
    return link.status();
  }
  PeerIdentity server{link->server.pid, link->server.uid, link->server.gid};
  return std::make_shared<LinkChannel>(std::move(link->link), server, channel_options_);
}

absl::Status NamedChannel::Call(const Method& method, const google::protobuf::MessageLite& request,
                                google::protobuf::MessageLite* response, ClientContext* context) {
  absl::StatusOr<std::shared_ptr<LinkChannel>> channel = Current(context);
  if (!channel.ok()) return channel.status();
  return (*channel)->Call(method, request, response, context);
}

void NamedChannel::CallAsync(const Method& method, const google::protobuf::MessageLite& request,
                             google::protobuf::MessageLite* response, ClientContext* context,
                             DoneCallback done) {
  absl::StatusOr<std::shared_ptr<LinkChannel>> channel = Current(context);
  if (!channel.ok()) {
    done(channel.status());
    return;
  }
  (*channel)->CallAsync(method, request, response, context, std::move(done));
}

size_t NamedChannel::Drain(absl::Time deadline) {
  std::shared_ptr<LinkChannel> channel;
  {
    absl::MutexLock lock(&mutex_);
    channel = current_;
  }
  return channel != nullptr ? channel->Drain(deadline) : 0;
}

absl::StatusOr<Attachment> NamedChannel::AllocateAttachment(size_t bytes) {
  absl::StatusOr<std::shared_ptr<LinkChannel>> channel = Current(nullptr);
  if (!channel.ok()) return channel.status();
  return (*channel)->AllocateAttachment(bytes);
}

std::unique_ptr<ClientStream> NamedChannel::OpenStream(const Method& method,
                                                       const google::protobuf::MessageLite* request,
                                                       google::protobuf::MessageLite* response,
                                                       ClientContext* context) {
  absl::StatusOr<std::shared_ptr<LinkChannel>> channel = Current(context);
  if (!channel.ok()) return std::make_unique<FailedClientStream>(channel.status());
  return (*channel)->OpenStream(method, request, response, context);
}

}  // namespace syslink::rpc
