// CancelWaiter: a Streamer whose Forever waits for its ServerContext::OnCancel() hook and
// for nothing else, for the tests that check that each transport runs the hook.
//
//   test::CancelWaiter service;                      // served over some transport
//   auto reader = stub.Forever(test::Number(), &context);
//   ASSERT_TRUE(reader->Read(&number));              // the hook is set
//   context.TryCancel();
//   service.returned().WaitForNotification();        // hangs if the hook never ran
//
// Release, a unary method, does the same without writing: entered() tells the caller when
// its hook is set.
//
// Thread safety: serves one call of Forever or Release in its lifetime; entered() and
// returned() from any thread.

#ifndef SYSLINK_RPC_TESTDATA_CANCEL_WAITER_H_
#define SYSLINK_RPC_TESTDATA_CANCEL_WAITER_H_

#include <atomic>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "rpc/context.h"
#include "rpc/stream.h"
#include "rpc/testdata/countdown_streamer.h"

namespace syslink::rpc::test {

class CancelWaiter : public CountdownStreamer {
 public:
  absl::Status Forever(ServerContext& context, const Number&,
                       ServerWriter<Number>* writer) override {
    absl::Notification cancelled;
    context.OnCancel([&cancelled] { cancelled.Notify(); });
    writer->Write(Number());  // tells the caller that the hook is set
    cancelled.WaitForNotification();
    context.OnCancel(nullptr);
    returned_.Notify();
    return absl::CancelledError("the caller left");
  }

  absl::Status Release(ServerContext& context, const Number&, Number*) override {
    absl::Notification cancelled;
    context.OnCancel([this, &cancelled] {
      hook_runs_.fetch_add(1);
      cancelled.Notify();
    });
    entered_.Notify();
    cancelled.WaitForNotification();
    context.OnCancel(nullptr);
    returned_.Notify();
    return absl::CancelledError("the caller left");
  }

  // Notified when Release has set its hook.
  absl::Notification& entered() { return entered_; }
  // Notified when Forever or Release returned, woken by its hook.
  absl::Notification& returned() { return returned_; }
  // How often Release's hook has run.
  int hook_runs() const { return hook_runs_.load(); }

 private:
  std::atomic<int> hook_runs_{0};
  absl::Notification entered_;
  absl::Notification returned_;
};

}  // namespace syslink::rpc::test

#endif  // SYSLINK_RPC_TESTDATA_CANCEL_WAITER_H_
