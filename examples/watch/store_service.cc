#include "examples/watch/store_service.h"

#include <memory>

#include "absl/strings/str_cat.h"

namespace syslink::examples::watch {
namespace {

absl::Status ClientGone(const WatchRequest& request) {
  return absl::CancelledError(absl::StrCat("the watcher of \"", request.prefix(), "\" went away"));
}

// Writes `subscription`'s changes until it ends, the client goes or its deadline passes.
absl::Status Forward(rpc::ServerContext& context, const WatchRequest& request,
                     WatchableMap::Subscription& subscription, rpc::ServerWriter<Change>* writer) {
  Change change;
  change.set_revision(subscription.start_revision());
  if (!writer->Write(change)) return ClientGone(request);
  while (true) {
    switch (subscription.Take(context.deadline(), &change)) {
      case WatchableMap::Subscription::Next::kChange:
        if (!writer->Write(change)) return ClientGone(request);
        break;
      case WatchableMap::Subscription::Next::kTimedOut:  // the client's deadline
        return ClientGone(request);
      case WatchableMap::Subscription::Next::kEnded:
        return context.cancelled() ? ClientGone(request) : subscription.status();
    }
  }
}

}  // namespace

absl::Status StoreService::Put(rpc::ServerContext&, const PutRequest& request,
                               PutResponse* response) {
  absl::StatusOr<WatchableMap::PutResult> put = map_->Put(request.key(), request.value());
  if (!put.ok()) return put.status();
  response->set_revision(put->revision);
  response->set_watchers(put->watchers);
  return absl::OkStatus();
}

absl::Status StoreService::Get(rpc::ServerContext&, const GetRequest& request,
                               GetResponse* response) {
  absl::StatusOr<Change> change = map_->Get(request.key());
  if (!change.ok()) return change.status();
  response->set_value(change->value());
  response->set_revision(change->revision());
  return absl::OkStatus();
}

absl::Status StoreService::Watch(rpc::ServerContext& context, const WatchRequest& request,
                                 rpc::ServerWriter<Change>* writer) {
  std::unique_ptr<WatchableMap::Subscription> subscription = map_->Subscribe(request.prefix());
  // The client's leaving ends the subscription, which wakes a Take() waiting for changes.
  context.OnCancel([&subscription, &request] { subscription->End(ClientGone(request)); });
  absl::Status status = Forward(context, request, *subscription, writer);
  context.OnCancel(nullptr);  // before the subscription goes
  return status;
}

absl::Status StoreService::PutMany(rpc::ServerContext& context,
                                   rpc::ServerReader<PutRequest>* reader,
                                   PutManySummary* response) {
  PutRequest request;
  while (reader->Read(&request)) {
    absl::StatusOr<WatchableMap::PutResult> put = map_->Put(request.key(), request.value());
    if (!put.ok()) {
      return absl::Status(put.status().code(),
                          absl::StrCat("put ", response->puts() + 1, ": ", put.status().message()));
    }
    response->set_puts(response->puts() + 1);
    response->set_revision(put->revision);
  }
  if (context.cancelled()) return absl::CancelledError("the client went away mid-stream");
  return absl::OkStatus();
}

}  // namespace syslink::examples::watch
