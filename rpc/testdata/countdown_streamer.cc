#include "rpc/testdata/countdown_streamer.h"

#include <cstring>
#include <utility>

#include "absl/status/statusor.h"

namespace syslink::rpc::test {

void Fill(Attachment& attachment, int64_t n) {
  std::memset(attachment.data().data(), static_cast<int>(n & 0xff), attachment.size());
}

bool IsFilled(const Attachment& attachment, int64_t n) {
  for (std::byte b : attachment.data()) {
    if (b != static_cast<std::byte>(n & 0xff)) return false;
  }
  return true;
}

absl::Status WriteCountdown(ServerContext& context, const Number& request,
                            ServerWriter<Number>* writer) {
  for (int64_t i = 0; i < request.n(); ++i) {
    Number message;
    message.set_n(i);
    Attachment attachment;
    if (request.attachment_bytes() > 0) {
      absl::StatusOr<Attachment> buffer = context.AllocateAttachment(request.attachment_bytes());
      if (!buffer.ok()) return buffer.status();
      attachment = *std::move(buffer);
      Fill(attachment, i);
    }
    if (!writer->Write(message, std::move(attachment))) {
      return absl::CancelledError("the client stopped reading");
    }
  }
  return absl::OkStatus();
}

}  // namespace syslink::rpc::test
