// ServiceSet: several services behind one link, so that one channel reaches them all.
//
//   KeyValueImpl kv;
//   AdminImpl admin;
//   absl::StatusOr<std::unique_ptr<syslink::rpc::ServiceSet>> services =
//       syslink::rpc::ServiceSet::Create({&kv, &admin});
//   if (!services.ok()) return services.status();   // two rpcs with one method id, ...
//   for (absl::string_view name : (*services)->names()) {   // "kv.Store", "kv.Admin"
//     absl::Status s = server.ServeBroker(services->get(), {.name = std::string(name)});
//     if (!s.ok()) return s;
//   }
//   // Client: a channel to either name carries both stubs.
//   absl::StatusOr<std::shared_ptr<syslink::rpc::Channel>> channel =
//       syslink::rpc::ConnectChannel("kv.Store");
//   if (!channel.ok()) return channel.status();
//   kv::StoreStub store(*channel);
//   kv::AdminStub admin(*channel);
//
// A set dispatches each call by its method id, which is the hash of the rpc's full name
// (package, service and method: rpc/method_id.h), so the ids of different services'
// rpcs differ and route without any other field on the wire. A name in the broker names
// whatever was registered under it: registered as above, a service's name reaches the
// whole set (the server), and a client needs one channel, whichever name it connects to.
//
// Errors: Create() refuses (INVALID_ARGUMENT) a service that does not list its rpcs
// (methods() empty: a hand-written service), two services of one name, and two rpcs with
// one id. A call to an id no service has gets UNIMPLEMENTED.
//
// Thread safety: immutable after Create(); Dispatch() from any thread, as the services
// allow. Ownership: the services are not owned and must outlive the set.

#ifndef SYSLINK_RPC_SERVICE_SET_H_
#define SYSLINK_RPC_SERVICE_SET_H_

#include <initializer_list>
#include <memory>
#include <span>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rpc/method.h"
#include "rpc/service.h"

namespace syslink::rpc {

class ServiceSet final : public Service {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ServiceSet>> Create(
      std::initializer_list<Service*> services);
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ServiceSet>> Create(
      std::span<Service* const> services);

  // The services' full names, in the order given.
  const std::vector<absl::string_view>& names() const { return names_; }

  // Service: the first service's name; every rpc of every service.
  absl::string_view service_name() const override { return names_.front(); }
  std::span<const Method> methods() const override { return methods_; }
  absl::Status Dispatch(ServerCall& call) override;

 private:
  ServiceSet() = default;

  std::vector<absl::string_view> names_;
  std::vector<Method> methods_;
  absl::flat_hash_map<uint32_t, Service*> by_method_;
};

}  // namespace syslink::rpc

#endif  // SYSLINK_RPC_SERVICE_SET_H_
