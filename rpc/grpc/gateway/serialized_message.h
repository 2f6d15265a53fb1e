// SerializedMessage: a protobuf MessageLite that is only its serialized bytes, for
// forwarding a message without knowing its type (syslink-gateway relays calls by path).
//
//   SerializedMessage request(call.frame(), call.message_size());
//   SerializedMessage response;
//   absl::Status s = channel->Call(method, request, &response, &context);
//   Send(response.bytes());
//
// Serializing writes the bytes as they are; parsing from a flat array (ParseFromArray,
// ParseFromString: what LinkChannel and InProcessChannel use) keeps every byte as it is,
// without looking at them. Parsing from a stream is not supported (it fails). A message
// made from a frame holds the received gRPC message's slices, not a copy of their bytes:
// serializing it copies them once, straight from gRPC's buffers to where they go.
//
// Thread safety: a value type. Relies on protobuf 3.21's parser interface
// (ParseContext::BytesUntilLimit on a flat buffer); serialized_message_test checks it.

#ifndef SYSLINK_RPC_GRPC_GATEWAY_SERIALIZED_MESSAGE_H_
#define SYSLINK_RPC_GRPC_GATEWAY_SERIALIZED_MESSAGE_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "google/protobuf/message_lite.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"

namespace syslink::rpc {

class SerializedMessage final : public google::protobuf::MessageLite {
 public:
  SerializedMessage() = default;
  explicit SerializedMessage(std::string bytes) : bytes_(std::move(bytes)) {}
  // The first `size` bytes of `frame` (no more than it holds), sharing its slices.
  SerializedMessage(const grpc::ByteBuffer& frame, size_t size);

  // The bytes given or parsed; empty for a message made from a frame.
  const std::string& bytes() const { return bytes_; }
  std::string& mutable_bytes() { return bytes_; }

  std::string GetTypeName() const override { return "syslink.rpc.SerializedMessage"; }
  MessageLite* New(google::protobuf::Arena* arena) const override;
  void Clear() override;
  bool IsInitialized() const override { return true; }
  void CheckTypeAndMergeFrom(const MessageLite& other) override;
  size_t ByteSizeLong() const override { return frame_size_ + bytes_.size(); }
  int GetCachedSize() const override { return static_cast<int>(ByteSizeLong()); }
  const char* _InternalParse(const char* ptr,
                             google::protobuf::internal::ParseContext* ctx) override;
  uint8_t* _InternalSerialize(uint8_t* target,
                              google::protobuf::io::EpsCopyOutputStream* stream) const override;

 private:
  std::string bytes_;
  // Made from a frame: its slices, of which the first frame_size_ bytes are the message.
  std::vector<grpc::Slice> frame_;
  size_t frame_size_ = 0;
};

}  // namespace syslink::rpc

#endif  // SYSLINK_RPC_GRPC_GATEWAY_SERIALIZED_MESSAGE_H_
