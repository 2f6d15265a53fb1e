// TLS and mutual TLS for GrpcServer and GrpcChannel, from PEM files.
//
//   // server with mTLS: its certificate and key, and the CA that signs its clients'
//   absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> server =
//       ServerTlsCredentials({.cert_file = "server.pem", .key_file = "server.key",
//                             .ca_file = "clients-ca.pem"});
//   // client: the CA that signs the server's certificate, and its own for mTLS
//   absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> client =
//       ChannelTlsCredentials({.cert_file = "client.pem", .key_file = "client.key",
//                              .ca_file = "server-ca.pem"});
//
// A server with a `ca_file` requires every client to present a certificate that CA signed
// (mTLS) and refuses the connection otherwise; without one it asks for none (TLS only).
// A client without a `ca_file` checks the server against the system's roots; without
// `cert_file`/`key_file` it presents no certificate.
//
// Thread safety: functions of their arguments. Errors: NOT_FOUND / PERMISSION_DENIED (the
// errno's code) naming a file that cannot be read; INVALID_ARGUMENT for a server without
// a certificate and key, or a certificate given without its key (or the other way).

#ifndef SYSLINK_RPC_GRPC_TLS_FILES_H_
#define SYSLINK_RPC_GRPC_TLS_FILES_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"

namespace syslink::rpc {

struct TlsFiles {
  std::string cert_file;  // this side's certificate chain, PEM
  std::string key_file;   // its private key, PEM
  std::string ca_file;    // the CA that signs the other side's certificate, PEM
};

[[nodiscard]] absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerTlsCredentials(
    const TlsFiles& files);
[[nodiscard]] absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ChannelTlsCredentials(
    const TlsFiles& files);

}  // namespace syslink::rpc

#endif  // SYSLINK_RPC_GRPC_TLS_FILES_H_
