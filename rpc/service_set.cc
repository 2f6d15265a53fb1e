#include "rpc/service_set.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace syslink::rpc {

absl::StatusOr<std::unique_ptr<ServiceSet>> ServiceSet::Create(
    std::initializer_list<Service*> services) {
  return Create(std::span<Service* const>(services.begin(), services.size()));
}

absl::StatusOr<std::unique_ptr<ServiceSet>> ServiceSet::Create(std::span<Service* const> services) {
  if (services.empty()) return absl::InvalidArgumentError("a service set needs a service");
  std::unique_ptr<ServiceSet> set(new ServiceSet());
  for (Service* service : services) {
    const absl::string_view name = service->service_name();
    if (service->methods().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "service ", name, " does not list its rpcs (methods()), so a set cannot route to it"));
    }
    if (std::find(set->names_.begin(), set->names_.end(), name) != set->names_.end()) {
      return absl::InvalidArgumentError(absl::StrCat("service ", name, " is in the set twice"));
    }
    set->names_.push_back(name);
    for (const Method& method : service->methods()) {
      if (!set->by_method_.emplace(method.id, service).second) {
        return absl::InvalidArgumentError(absl::StrCat("rpc ", method.path, " has the method id ",
                                                       method.id, " of another rpc in the set"));
      }
      set->methods_.push_back(method);
    }
  }
  return set;
}

absl::Status ServiceSet::Dispatch(ServerCall& call) {
  auto it = by_method_.find(call.method_id());
  if (it == by_method_.end()) {
    return absl::UnimplementedError(
        absl::StrCat("no service of this server has a method with id ", call.method_id()));
  }
  return it->second->Dispatch(call);
}

}  // namespace syslink::rpc
