// What in_process_stream_test.cc shares: Probe, a hand-written service whose streaming
// methods report what their side saw, and InProcessStreamTest, a fixture serving a
// StreamerService (stream_testing.h) and a Probe each through an InProcessChannel whose
// stream window is kWindow.
//
//   TEST_F(InProcessStreamTest, ...) {
//     auto stream = probe_channel_->OpenStream(Probe::kDrain, nullptr, nullptr, &context);
//     ASSERT_TRUE(probe_.WaitReturned());
//     EXPECT_TRUE(probe_.cancelled());
//   }
//
// Thread safety: Probe's methods run on the stream's thread; what they saw is read after
// WaitReturned(). A Probe serves one stream. Lifetime: the services outlive the channels.

#ifndef SYSLINK_RPC_IN_PROCESS_STREAM_TESTING_H_
#define SYSLINK_RPC_IN_PROCESS_STREAM_TESTING_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "google/protobuf/descriptor.pb.h"
#include "gtest/gtest.h"
#include "rpc/in_process_channel.h"
#include "rpc/method.h"
#include "rpc/method_id.h"
#include "rpc/service.h"
#include "rpc/stream_testing.h"
#include "rpc/testdata/stream_service.syslink.h"
#include "tests/support/eventually.h"

namespace syslink::rpc {

// A message with required fields (proto2): the bytes of a test::Number do not parse as one.
using Strict = ::google::protobuf::UninterpretedOption::NamePart;

// A hand-written service whose methods report what their side of the stream saw.
class Probe final : public Service {
 public:
  // Reads one message and writes it back with its attachment.
  static constexpr Method kBounce{MethodId("test.Probe.Bounce"), "/test.Probe/Bounce",
                                  MethodKind::kBidiStreaming};
  // Reads until Read() returns false.
  static constexpr Method kDrain{MethodId("test.Probe.Drain"), "/test.Probe/Drain",
                                 MethodKind::kClientStreaming};
  // Reads a Strict.
  static constexpr Method kStrict{MethodId("test.Probe.Strict"), "/test.Probe/Strict",
                                  MethodKind::kClientStreaming};
  // Sends back the caller's "x-in" metadata as "x-out" trailing metadata, and one message.
  static constexpr Method kMetadata{MethodId("test.Probe.Metadata"), "/test.Probe/Metadata",
                                    MethodKind::kServerStreaming};

  absl::string_view service_name() const override { return "test.Probe"; }

  absl::Status Dispatch(ServerCall& call) override {
    ServerStream* stream = call.stream();
    if (stream == nullptr) return absl::FailedPreconditionError("not a stream");
    test::Number number;
    Attachment attachment;
    bool got = false;
    if (call.method_id() == kBounce.id) {
      got = stream->Read(&number, &attachment);
      bounced_ = attachment.data().data();
      if (got) stream->Write(number, std::move(attachment));
    } else if (call.method_id() == kDrain.id) {
      while (stream->Read(&number, nullptr)) {
      }
    } else if (call.method_id() == kStrict.id) {
      Strict strict;
      got = stream->Read(&strict, nullptr);
    } else if (call.method_id() == kMetadata.id) {
      auto in = call.context().client_metadata().find("x-in");
      if (in != call.context().client_metadata().end()) {
        call.context().AddTrailingMetadata("x-out", in->second);
      }
      got = stream->Write(number, {});
    } else {
      return absl::UnimplementedError("no such method");
    }
    read_or_wrote_ = got;
    cancelled_ = call.context().cancelled();
    returned_.Notify();
    return absl::OkStatus();
  }

  // What the method saw, once it returned.
  bool WaitReturned() {
    return returned_.WaitForNotificationWithTimeout(syslink::testing::kPatience);
  }
  bool read_or_wrote() const { return read_or_wrote_; }
  bool cancelled() const { return cancelled_; }
  const std::byte* bounced() const { return bounced_; }

 private:
  // Written before returned_ is notified, read after it.
  bool read_or_wrote_ = false;
  bool cancelled_ = false;
  const std::byte* bounced_ = nullptr;
  absl::Notification returned_;
};

// A StreamerService and a Probe, each behind an InProcessChannel with a window of kWindow.
class InProcessStreamTest : public ::testing::Test {
 protected:
  InProcessStreamTest()
      : channel_(std::make_shared<InProcessChannel>(&service_, Options())),
        probe_channel_(std::make_shared<InProcessChannel>(&probe_, Options())),
        stub_(channel_) {}

  static InProcessChannelOptions Options() {
    InProcessChannelOptions options;
    options.stream_window = kWindow;
    return options;
  }

  test::Progress GetProgress() {
    absl::StatusOr<test::Progress> progress = stub_.GetProgress(test::Number());
    EXPECT_TRUE(progress.ok()) << progress.status();
    return progress.value_or(test::Progress());
  }

  StreamerService service_;  // the services outlive their channels
  Probe probe_;
  std::shared_ptr<InProcessChannel> channel_;
  std::shared_ptr<InProcessChannel> probe_channel_;
  test::StreamerStub stub_;
};

inline test::Number Make(int64_t n) {
  test::Number number;
  number.set_n(n);
  return number;
}

}  // namespace syslink::rpc

#endif  // SYSLINK_RPC_IN_PROCESS_STREAM_TESTING_H_
