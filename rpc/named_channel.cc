#include "rpc/named_channel.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "rpc/connect.h"

namespace syslink::rpc {
namespace {

constexpr absl::Duration kFirstRetry = absl::Milliseconds(10);
constexpr absl::Duration kMaxRetry = absl::Milliseconds(250);

// Whether a failed connect may succeed later without anything else changing: nobody serves
// the name yet, or the broker is not there yet.
bool MayAppear(const absl::Status& status) {
  return absl::IsNotFound(status) || absl::IsUnavailable(status);
}

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

absl::StatusOr<std::shared_ptr<LinkChannel>> NamedChannel::Current(
    const ClientContext* context) {
  absl::StatusOr<std::shared_ptr<LinkChannel>> result;
  {
    absl::MutexLock lock(&mutex_);
    if (current_ != nullptr && current_->status().ok()) return current_;
    // Streams and async calls may still use the closed one: it stays until this does.
    if (current_ != nullptr) retired_.push_back(std::move(current_));
    const bool wait = context != nullptr && context->wait_for_ready();
    const absl::Time deadline = context != nullptr ? context->deadline() : absl::InfiniteFuture();
    absl::Duration retry = kFirstRetry;
    while (true) {
      absl::StatusOr<broker::OutgoingLink> link =
          broker::ConnectToServiceIdentified(service_name_, options_);
      if (link.ok()) {
        PeerIdentity server{link->server.pid, link->server.uid, link->server.gid};
        current_ = std::make_shared<LinkChannel>(std::move(link->link), server, channel_options_);
        result = current_;
        break;
      }
      const absl::Time now = absl::Now();
      if (!wait || !MayAppear(link.status()) || now >= deadline ||
          (context != nullptr && context->cancel_requested())) {
        result = link.status();
        if (wait && now >= deadline) {
          result = absl::DeadlineExceededError(absl::StrCat(
              "no server for ", service_name_, " before the deadline: ",
              link.status().message()));
        }
        break;
      }
      absl::SleepFor(std::min(retry, deadline - now));
      retry = std::min(retry * 2, kMaxRetry);
    }
  }
  return result;
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

std::unique_ptr<ClientStream> NamedChannel::OpenStream(
    const Method& method, const google::protobuf::MessageLite* request,
    google::protobuf::MessageLite* response, ClientContext* context) {
  absl::StatusOr<std::shared_ptr<LinkChannel>> channel = Current(context);
  if (!channel.ok()) return std::make_unique<FailedClientStream>(channel.status());
  return (*channel)->OpenStream(method, request, response, context);
}

}  // namespace syslink::rpc
