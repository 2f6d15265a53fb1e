#include "rpc/grpc/gateway/serialized_message.h"

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/parse_context.h"

namespace syslink::rpc {

google::protobuf::MessageLite* SerializedMessage::New(google::protobuf::Arena* arena) const {
  return arena == nullptr ? new SerializedMessage() : nullptr;  // never used on an arena
}

void SerializedMessage::CheckTypeAndMergeFrom(const MessageLite& other) {
  bytes_.append(static_cast<const SerializedMessage&>(other).bytes_);
}

const char* SerializedMessage::_InternalParse(const char* ptr,
                                              google::protobuf::internal::ParseContext* ctx) {
  // On a flat buffer the limit is the end of the input: take everything up to it.
  const int size = ctx->BytesUntilLimit(ptr);
  if (size < 0) return nullptr;
  return ctx->AppendString(ptr, size, &bytes_);
}

uint8_t* SerializedMessage::_InternalSerialize(
    uint8_t* target, google::protobuf::io::EpsCopyOutputStream* stream) const {
  return stream->WriteRaw(bytes_.data(), static_cast<int>(bytes_.size()), target);
}

}  // namespace syslink::rpc
