// CountdownStreamer: the Countdown method of stream_service.proto's Streamer, for every test
// that serves a Streamer, and the attachment pattern it writes.
//
//   class MetaStreamer : public test::CountdownStreamer {
//     // Countdown comes from the base; the test overrides the methods it needs.
//   };
//   ...
//   while (reader->Read(&number, &attachment)) ASSERT_TRUE(IsFilled(attachment, number.n()));
//
// Countdown writes request.n() messages numbered 0..n-1, each with an attachment of
// request.attachment_bytes() bytes (none when 0), every byte n mod 256. It returns CANCELLED
// when the client stops reading, and the error of an attachment it could not allocate.
//
// Thread safety: as the generated Streamer; CountdownStreamer holds no state.

#ifndef SYSLINK_RPC_TESTDATA_COUNTDOWN_STREAMER_H_
#define SYSLINK_RPC_TESTDATA_COUNTDOWN_STREAMER_H_

#include <cstdint>

#include "absl/status/status.h"
#include "rpc/attachment.h"
#include "rpc/context.h"
#include "rpc/stream.h"
#include "rpc/testdata/stream_service.syslink.h"

namespace syslink::rpc::test {

// Sets every byte of `attachment` to n mod 256, as Countdown fills the attachment of
// message n.
void Fill(Attachment& attachment, int64_t n);

// Whether every byte of `attachment` is n mod 256.
bool IsFilled(const Attachment& attachment, int64_t n);

// Writes the countdown of `request` to `writer` (see the file comment).
absl::Status WriteCountdown(ServerContext& context, const Number& request,
                            ServerWriter<Number>* writer);

// A Streamer whose Countdown is WriteCountdown(); its other methods answer UNIMPLEMENTED
// unless a subclass overrides them.
class CountdownStreamer : public Streamer {
 public:
  absl::Status Countdown(ServerContext& context, const Number& request,
                         ServerWriter<Number>* writer) override {
    return WriteCountdown(context, request, writer);
  }
};

}  // namespace syslink::rpc::test

#endif  // SYSLINK_RPC_TESTDATA_COUNTDOWN_STREAMER_H_
