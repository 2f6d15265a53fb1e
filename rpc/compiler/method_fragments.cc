#include "rpc/compiler/method_fragments.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/compiler/cpp/names.h"
#include "google/protobuf/descriptor.h"
#include "rpc/compiler/code_template.h"
#include "rpc/compiler/cpp_layout.h"
#include "rpc/method_id.h"

namespace syslink::rpc::compiler {
namespace {

using google::protobuf::MethodDescriptor;

// The $var$ values of a method.
CodeTemplate MethodTemplate(const MethodDescriptor& method) {
  google::protobuf::SourceLocation location;
  const std::string comments = method.GetSourceLocation(&location) ? location.leading_comments : "";
  return CodeTemplate({
      {"service", method.service()->name()},
      {"method", method.name()},
      {"full_name", method.full_name()},
      {"path", absl::StrCat("/", method.service()->full_name(), "/", method.name())},
      {"id", absl::StrCat(MethodId(method.full_name()))},
      {"request", google::protobuf::compiler::cpp::QualifiedClassName(method.input_type())},
      {"response", google::protobuf::compiler::cpp::QualifiedClassName(method.output_type())},
      {"comments", FormatComments(comments, 2)},
  });
}

constexpr const char* kServerContext = "::syslink::rpc::ServerContext& context";
constexpr const char* kClientContext = "::syslink::rpc::ClientContext* context";

void BuildServerFragments(CodeTemplate& t, MethodFragments& fragments) {
  fragments.id_constant = t.Fill("  static constexpr uint32_t k$method$MethodId = $id$;\n");
  fragments.method_constant = t.Fill(
      "  static constexpr ::syslink::rpc::Method k$method$Method = {\n"
      "      .id = k$method$MethodId,\n"
      "      .path = \"$path$\",\n"
      "      .kind = ::syslink::rpc::MethodKind::kUnary,\n"
      "  };\n");
  fragments.method_entry = t.Fill("k$method$Method");

  t.SetFunction("declaration", 2, "virtual absl::Status", "$method$",
                {kServerContext, "const $request$& request", "$response$* response"}, ";");
  fragments.server_declaration = t.Fill("$comments$  $declaration$\n\n");

  t.SetCall("id_check", 0, "static_assert",
            {"$service$::k$method$MethodId", "::syslink::rpc::MethodId(\"$full_name$\")"}, ";",
            " ==");
  t.SetCall("path_check", 0, "static_assert",
            {"::syslink::rpc::MethodIdOfPath($service$::k$method$Method.path)",
             "$service$::k$method$MethodId"},
            ";", " ==");
  fragments.id_check = t.Fill("$id_check$\n$path_check$\n");

  t.SetFunction("definition", 0, "absl::Status", "$service$::$method$",
                {"::syslink::rpc::ServerContext& /*context*/", "const $request$& /*request*/",
                 "$response$* /*response*/"},
                " {");
  t.SetCall("unimplemented", 2, "return absl::UnimplementedError",
            {"\"$full_name$ is not implemented\""}, ";");
  fragments.server_definition = t.Fill(
      "\n"
      "$definition$\n"
      "  $unimplemented$\n"
      "}\n");

  t.SetCall("call", 6, "absl::Status status = $method$", {"call.context()", "request", "&response"},
            ";");
  fragments.dispatch_case = t.Fill(
      "    case k$method$MethodId: {\n"
      "      $request$ request;\n"
      "      if (absl::Status s = call.ParseRequest(&request); !s.ok()) return s;\n"
      "      $response$ response;\n"
      "      $call$\n"
      "      if (status.ok()) call.SetResponse(response);\n"
      "      return status;\n"
      "    }\n");
}

void BuildStubFragments(CodeTemplate& t, MethodFragments& fragments) {
  // The three call forms: returning the response, filling one, and asynchronous.
  t.SetFunction("returning", 2, "[[nodiscard]] absl::StatusOr<$response$>", "$method$",
                {"const $request$& request", "::syslink::rpc::ClientContext* context = nullptr"},
                ";");
  t.SetFunction("filling", 2, "[[nodiscard]] absl::Status", "$method$",
                {"const $request$& request", "$response$* response", kClientContext}, ";");
  t.SetFunction("async", 2, "void", "$method$Async",
                {"const $request$& request", "$response$* response", kClientContext,
                 "::syslink::rpc::DoneCallback done"},
                ";");
  fragments.stub_declaration = t.Fill(
      "$comments$"
      "  $returning$\n"
      "  $filling$\n"
      "  $async$\n"
      "\n");

  t.SetFunction("returning", 0, "absl::StatusOr<$response$>", "$service$Stub::$method$",
                {"const $request$& request", kClientContext}, " {");
  t.SetCall("call_returning", 2, "absl::Status status = channel_->Call",
            {"$service$::k$method$Method", "request", "&response", "context"}, ";");
  t.SetFunction("filling", 0, "absl::Status", "$service$Stub::$method$",
                {"const $request$& request", "$response$* response", kClientContext}, " {");
  t.SetCall("call_filling", 2, "return channel_->Call",
            {"$service$::k$method$Method", "request", "response", "context"}, ";");
  t.SetFunction("async", 0, "void", "$service$Stub::$method$Async",
                {"const $request$& request", "$response$* response", kClientContext,
                 "::syslink::rpc::DoneCallback done"},
                " {");
  t.SetCall("call_async", 2, "channel_->CallAsync",
            {"$service$::k$method$Method", "request", "response", "context", "std::move(done)"},
            ";");
  fragments.stub_definition = t.Fill(
      "\n"
      "$returning$\n"
      "  $response$ response;\n"
      "  $call_returning$\n"
      "  if (!status.ok()) return status;\n"
      "  return response;\n"
      "}\n"
      "\n"
      "$filling$\n"
      "  $call_filling$\n"
      "}\n"
      "\n"
      "$async$\n"
      "  $call_async$\n"
      "}\n");
}

}  // namespace

MethodFragments BuildMethodFragments(const MethodDescriptor& method) {
  CodeTemplate t = MethodTemplate(method);
  MethodFragments fragments;
  BuildServerFragments(t, fragments);
  BuildStubFragments(t, fragments);
  return fragments;
}

std::string JoinFragments(const std::vector<MethodFragments>& methods,
                          std::string MethodFragments::*part) {
  std::string joined;
  for (const MethodFragments& method : methods) joined += method.*part;
  return joined;
}

}  // namespace syslink::rpc::compiler
