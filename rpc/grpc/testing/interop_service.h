// InteropService: syslink's implementation of testdata/interop.proto, for rpc/grpc's tests.
//
//   InteropService service;
//   auto server = syslink::rpc::ServeGrpc(&service);
//
// Every method, whatever its status, answers the caller's metadata (rpc/metadata.h) with
// trailing metadata, before it does anything else:
//   - each entry whose key starts with "echo-" comes back as it came;
//   - "add-trailer: KEY=VALUE" adds KEY: VALUE as it is, even one that breaks a rule;
//   - "list-metadata" (any value) adds "metadata-keys": the keys the method sees, in order,
//     joined with ",".
//
// Hold waits until its caller gives up (ServerContext::OnCancel: served over a link, it
// needs a server with workers), its deadline passes or 30 s have.
//
// Thread safety: thread-safe (methods run on several threads at once). The counters say
// what Hold and Count calls saw, for tests to wait on.

#ifndef SYSLINK_RPC_GRPC_TESTING_INTEROP_SERVICE_H_
#define SYSLINK_RPC_GRPC_TESTING_INTEROP_SERVICE_H_

#include <atomic>
#include <functional>

#include "rpc/grpc/testdata/interop.syslink.h"

namespace syslink::interop {

class InteropService final : public Interop {
 public:
  absl::Status Echo(rpc::ServerContext& context, const Text& request, Text* response) override;
  absl::Status Fail(rpc::ServerContext& context, const Text& request, Text* response) override;
  absl::Status Hold(rpc::ServerContext& context, const Text& request, Text* response) override;
  absl::Status Reverse(rpc::ServerContext& context, const Text& request, Text* response) override;
  absl::Status WhoCalls(rpc::ServerContext& context, const Text& request, Text* response) override;
  absl::Status Count(rpc::ServerContext& context, const Text& request,
                     rpc::ServerWriter<Text>* writer) override;
  absl::Status Join(rpc::ServerContext& context, rpc::ServerReader<Text>* reader,
                    Text* response) override;
  absl::Status Chat(rpc::ServerContext& context,
                    rpc::ServerReaderWriter<Text, Text>* stream) override;

  std::atomic<int> holding{0};                // Hold calls running now
  std::atomic<int> saw_cancelled{0};          // Hold calls that ended because cancelled() said so
  std::atomic<int> streaming{0};              // Count calls running now
  std::atomic<int> streams_ended{0};          // Count calls that returned
  std::atomic<int> streams_saw_cancelled{0};  // ... having seen cancelled()
  // If set (before serving), run when a Hold call starts, and when it ends (saying whether
  // it saw cancelled()).
  std::function<void()> on_hold;
  std::function<void(bool cancelled)> on_hold_end;
};

}  // namespace syslink::interop

#endif  // SYSLINK_RPC_GRPC_TESTING_INTEROP_SERVICE_H_
