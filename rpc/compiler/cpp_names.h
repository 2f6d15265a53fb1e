// Names that generated C++ cannot use as they are: the keywords of C++20 (and NULL, which
// protobuf's C++ generator treats as one).
//
//   IsCppKeyword("delete") == true      IsCppKeyword("Delete") == false
//
// protoc-gen-syslink names a service's classes and an rpc's methods after the .proto names;
// the generator refuses a .proto that would make it write a keyword there (generator.h).
// Messages and fields are protobuf's business: its C++ generator appends '_' to a keyword
// (`message class` is class_, a field `delete` has the accessor delete_()).
//
// Thread safety: a pure function.

#ifndef SYSLINK_RPC_COMPILER_CPP_NAMES_H_
#define SYSLINK_RPC_COMPILER_CPP_NAMES_H_

#include "absl/strings/string_view.h"

namespace syslink::rpc::compiler {

// Whether `name` is a C++20 keyword, an alternative token (`and`, `not_eq`, ...) or NULL.
// Case-sensitive, as C++ is.
bool IsCppKeyword(absl::string_view name);

}  // namespace syslink::rpc::compiler

#endif  // SYSLINK_RPC_COMPILER_CPP_NAMES_H_
