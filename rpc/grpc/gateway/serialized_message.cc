#include "rpc/grpc/gateway/serialized_message.h"

#include <algorithm>

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/parse_context.h"

namespace syslink::rpc {

google::protobuf::MessageLite* SerializedMessage::New(google::protobuf::Arena* arena) const {
  return arena == nullptr ? new SerializedMessage() : nullptr;  // never used on an arena
}

SerializedMessage::SerializedMessage(const grpc::ByteBuffer& frame, size_t size) {
  if (size > 0 && frame.Dump(&frame_).ok()) frame_size_ = std::min(size, frame.Length());
}

void SerializedMessage::Clear() {
  bytes_.clear();
  frame_.clear();
  frame_size_ = 0;
}

void SerializedMessage::CheckTypeAndMergeFrom(const MessageLite& other) {
  const auto& from = static_cast<const SerializedMessage&>(other);
  std::string merged;
  merged.resize(ByteSizeLong() + from.ByteSizeLong());
  uint8_t* end = SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(merged.data()));
  from.SerializeWithCachedSizesToArray(end);
  Clear();
  bytes_ = std::move(merged);
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
  size_t left = frame_size_;
  for (const grpc::Slice& slice : frame_) {
    if (left == 0) break;
    const size_t n = std::min(left, slice.size());
    target = stream->WriteRaw(slice.begin(), static_cast<int>(n), target);
    left -= n;
  }
  return stream->WriteRaw(bytes_.data(), static_cast<int>(bytes_.size()), target);
}

}  // namespace syslink::rpc
