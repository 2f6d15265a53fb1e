#include "rpc/compiler/generator.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/compiler/code_generator.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/io/printer.h"
#include "google/protobuf/io/zero_copy_stream.h"
#include "rpc/compiler/code_template.h"
#include "rpc/compiler/cpp_layout.h"
#include "rpc/compiler/cpp_names.h"
#include "rpc/compiler/method_fragments.h"
#include "rpc/method_id.h"

namespace syslink::rpc::compiler {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::FileDescriptor;
using google::protobuf::MethodDescriptor;
using google::protobuf::ServiceDescriptor;
using google::protobuf::compiler::GeneratorContext;

// Members of the generated service class, which neither an rpc nor the service itself may
// be named like (nor like an rpc's constants: ConstantOwners).
constexpr absl::string_view kServiceMemberNames[] = {"Dispatch", "service_name", "methods",
                                                     "kServiceName"};
// Members of the stub class that an rpc of the same name would clash with. (The classes'
// own names, the service's and <service>Stub, are taken too, and a bidi rpc cannot be named
// Connect: see CheckMethodName.)
constexpr absl::string_view kStubMemberNames[] = {"channel", "channel_"};

template <size_t n>
bool IsOneOf(const absl::string_view (&names)[n], absl::string_view name) {
  return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

// The names in scope where the generated Dispatch() calls the virtual method of an rpc like
// `method` by its bare name (method_fragments.cc): its parameter `call` and the locals of
// the rpc's case, which depend on the rpc's kind. An rpc of one of these names would be
// hidden by it.
std::vector<absl::string_view> DispatchLocalNames(const MethodDescriptor& method) {
  if (method.client_streaming() && method.server_streaming()) return {"call", "status", "stream"};
  if (method.client_streaming()) return {"call", "reader", "response", "status"};
  if (method.server_streaming()) return {"call", "request", "status", "writer"};
  return {"call", "request", "response", "status"};
}

bool RejectParameter(const std::string& parameter, std::string* error) {
  std::vector<std::pair<std::string, std::string>> options;
  google::protobuf::compiler::ParseGeneratorParameter(parameter, &options);
  const std::string& name = options.empty() ? parameter : options.front().first;
  *error = absl::StrCat("unknown parameter \"", name, "\": protoc-gen-syslink takes no parameters");
  return false;
}

// Whether the generated C++ can name `method` after it; if not, says why in `error`.
bool CheckMethodName(const ServiceDescriptor& service, const MethodDescriptor& method,
                     std::string* error) {
  const std::string& name = method.name();
  if (IsOneOf(kServiceMemberNames, name) || IsOneOf(kStubMemberNames, name) ||
      name == service.name() || name == service.name() + "Stub") {
    *error = absl::StrCat(
        "rpc ", method.full_name(), " is named like a member of the generated classes (",
        absl::StrJoin(kServiceMemberNames, ", "), ", ", absl::StrJoin(kStubMemberNames, ", "), ", ",
        service.name(), ", ", service.name(), "Stub); rename it");
    return false;
  }
  // The stub's static Connect(options = {}) overloads an rpc's call forms named Connect,
  // which all take an argument, except a bidi rpc's: Connect(context = nullptr) would
  // make Connect() ambiguous.
  if (name == "Connect" && method.client_streaming() && method.server_streaming()) {
    *error = absl::StrCat("rpc ", method.full_name(),
                          " is a bidirectional stream named Connect, whose call form "
                          "Connect(context = nullptr) would make the stub's static Connect() "
                          "ambiguous; rename it");
    return false;
  }
  const std::vector<absl::string_view> locals = DispatchLocalNames(method);
  if (std::find(locals.begin(), locals.end(), name) != locals.end()) {
    *error = absl::StrCat("rpc ", method.full_name(),
                          " is named like a local variable of the generated Dispatch() (",
                          absl::StrJoin(locals, ", "), "); rename it");
    return false;
  }
  if (IsCppKeyword(name)) {
    *error = absl::StrCat("rpc ", method.full_name(),
                          " is named like a C++ keyword, which its generated methods cannot be; "
                          "rename it");
    return false;
  }
  return true;
}

// The constants generated for the rpcs of `service`, k<Rpc>MethodId and k<Rpc>Method (members
// of the server class), each with the rpc it is generated for.
using ConstantOwners = std::map<std::string, const MethodDescriptor*>;
ConstantOwners ConstantsOf(const ServiceDescriptor& service) {
  ConstantOwners owners;
  for (int i = 0; i < service.method_count(); ++i) {
    const MethodDescriptor* method = service.method(i);
    owners[absl::StrCat("k", method->name(), "MethodId")] = method;
    owners[absl::StrCat("k", method->name(), "Method")] = method;
  }
  return owners;
}

// Whether an rpc of `service` is named like a constant generated for another, which the
// server class would declare twice; if so, says which in `error`.
bool CheckConstantNames(const ServiceDescriptor& service, const ConstantOwners& constants,
                        std::string* error) {
  for (int i = 0; i < service.method_count(); ++i) {
    const MethodDescriptor& method = *service.method(i);
    const auto owner = constants.find(method.name());
    if (owner == constants.end()) continue;
    *error = absl::StrCat("rpc ", method.full_name(), " is named like the constant ", method.name(),
                          " generated for rpc ", owner->second->full_name(), "; rename it");
    return false;
  }
  return true;
}

// C++ names declared in a namespace, each with what declares it. protobuf's, each named by
// the proto element it comes from: a message's or enum's class (a nested one flattened,
// Outer.Inner as Outer_Inner; a map field's entry as Outer_FooEntry_DoNotUse) and a
// message's default-instance type; an enum's helpers (E_IsValid, E_Name, ...), values and
// limits (E_MIN, ...), which a nested enum's flattened name prefixes
// (Outer_E_VALUE, Outer_E_E_MIN); and extensions.
using CppNames = std::map<std::string, std::string>;

void AddEnumNames(const EnumDescriptor& e, const std::string& scope, CppNames& names) {
  const std::string name = scope + e.name();
  const std::string value_prefix = scope.empty() ? "" : name + "_";
  names.emplace(name, e.full_name());
  for (const char* helper : {"_IsValid", "_Name", "_Parse", "_descriptor"}) {
    names.emplace(name + helper, e.full_name());
  }
  for (const char* limit : {"_MIN", "_MAX", "_ARRAYSIZE", "_INT_MIN_SENTINEL_DO_NOT_USE_",
                            "_INT_MAX_SENTINEL_DO_NOT_USE_"}) {
    names.emplace(value_prefix + e.name() + limit, e.full_name());
  }
  for (int i = 0; i < e.value_count(); ++i) {
    names.emplace(value_prefix + e.value(i)->name(), e.value(i)->full_name());
  }
}

void AddMessageNames(const Descriptor& message, const std::string& scope, CppNames& names) {
  const std::string name =
      scope + message.name() + (message.options().map_entry() ? "_DoNotUse" : "");
  names.emplace(name, message.full_name());
  names.emplace(name + "DefaultTypeInternal", message.full_name());
  for (int i = 0; i < message.nested_type_count(); ++i) {
    AddMessageNames(*message.nested_type(i), name + "_", names);
  }
  for (int i = 0; i < message.enum_type_count(); ++i) {
    AddEnumNames(*message.enum_type(i), name + "_", names);
  }
}

// The C++ names of `package`'s namespace declared by `file` and the files it imports,
// directly or not.
void AddPackageNames(const FileDescriptor& file, const std::string& package, CppNames& names,
                     std::vector<const FileDescriptor*>& seen) {
  if (std::find(seen.begin(), seen.end(), &file) != seen.end()) return;
  seen.push_back(&file);
  for (int i = 0; i < file.dependency_count(); ++i) {
    AddPackageNames(*file.dependency(i), package, names, seen);
  }
  if (file.package() != package) return;
  for (int i = 0; i < file.message_type_count(); ++i) {
    AddMessageNames(*file.message_type(i), "", names);
  }
  for (int i = 0; i < file.enum_type_count(); ++i) AddEnumNames(*file.enum_type(i), "", names);
  for (int i = 0; i < file.extension_count(); ++i) {
    names.emplace(file.extension(i)->name(), file.extension(i)->full_name());
  }
}

// Whether code can be generated for `service`; if not, says why in `error`.
bool CheckService(const ServiceDescriptor& service, std::string* error) {
  if (IsCppKeyword(service.name())) {
    *error = absl::StrCat("service ", service.full_name(),
                          " is named like a C++ keyword, which its generated class cannot be; "
                          "rename it");
    return false;
  }
  const ConstantOwners constants = ConstantsOf(service);
  if (IsOneOf(kServiceMemberNames, service.name()) || constants.count(service.name()) != 0) {
    *error = absl::StrCat("service ", service.full_name(),
                          " is named like a member of its generated class, which a class "
                          "cannot be; rename it");
    return false;
  }
  // The service's classes go beside protobuf's classes of the package: they must not take
  // a name of theirs, nor another service's stub's.
  CppNames names;
  std::vector<const FileDescriptor*> seen;
  AddPackageNames(*service.file(), service.file()->package(), names, seen);
  for (const FileDescriptor* file : seen) {
    if (file->package() != service.file()->package()) continue;
    for (int i = 0; i < file->service_count(); ++i) {
      const ServiceDescriptor& other = *file->service(i);
      if (&other == &service) continue;
      names.emplace(other.name(), other.full_name());
      names.emplace(absl::StrCat(other.name(), "Stub"),
                    absl::StrCat("the client stub of ", other.full_name()));
    }
  }
  if (auto taken = names.find(service.name()); taken != names.end()) {
    *error = absl::StrCat("service ", service.full_name(), " is named like ", taken->first,
                          ", the C++ name of ", taken->second, "; rename one");
    return false;
  }
  const std::string stub = absl::StrCat(service.name(), "Stub");
  if (auto taken = names.find(stub); taken != names.end()) {
    *error = absl::StrCat("service ", service.full_name(), " needs the C++ class name ", stub,
                          " for its client stub, but ", taken->second,
                          " is declared already; rename one");
    return false;
  }
  if (!CheckConstantNames(service, constants, error)) return false;
  std::map<uint32_t, const MethodDescriptor*> method_by_id;
  for (int i = 0; i < service.method_count(); ++i) {
    const MethodDescriptor& method = *service.method(i);
    if (!CheckMethodName(service, method, error)) return false;
    const uint32_t id = MethodId(method.full_name());
    const auto [other, inserted] = method_by_id.emplace(id, &method);
    if (!inserted) {
      *error = absl::StrCat("rpcs ", other->second->full_name(), " and ", method.full_name(),
                            " have the same method id ", id,
                            " (a hash of the full name, rpc/method_id.h); rename one");
      return false;
    }
  }
  return true;
}

// The service's classes, as fragments of the header and of the source.
struct ServiceCode {
  std::string header;
  std::string source;
};

ServiceCode GenerateService(const ServiceDescriptor& service) {
  std::vector<MethodFragments> methods;
  for (int i = 0; i < service.method_count(); ++i) {
    methods.push_back(BuildMethodFragments(*service.method(i)));
  }
  google::protobuf::SourceLocation location;
  std::string comments =
      service.GetSourceLocation(&location) ? FormatComments(location.leading_comments, 0) : "";
  if (!comments.empty()) comments += "//\n";
  const std::string id_checks = JoinFragments(methods, &MethodFragments::id_check);

  CodeTemplate t({
      {"service", service.name()},
      {"full_name", service.full_name()},
      {"comments", comments},
      {"id_constants", JoinFragments(methods, &MethodFragments::id_constant)},
      {"method_constants",
       methods.empty()
           ? ""
           : absl::StrCat("  // Each rpc as a channel addresses it: id, path and kind "
                          "(rpc/method.h).\n",
                          JoinFragments(methods, &MethodFragments::method_constant), "\n")},
      {"server_declarations", JoinFragments(methods, &MethodFragments::server_declaration)},
      {"stub_declarations", JoinFragments(methods, &MethodFragments::stub_declaration)},
      {"id_checks", id_checks.empty() ? "" : absl::StrCat("\n", id_checks)},
      {"server_definitions", JoinFragments(methods, &MethodFragments::server_definition)},
      {"dispatch_cases", JoinFragments(methods, &MethodFragments::dispatch_case)},
      {"stub_definitions", JoinFragments(methods, &MethodFragments::stub_definition)},
  });
  t.SetCall("stub_constructor", 0, "$service$Stub::$service$Stub",
            {"std::shared_ptr<::syslink::rpc::Channel> channel"}, "");
  t.SetFunction("connect_declaration", 2, "[[nodiscard]] static ::absl::StatusOr<$service$Stub>",
                "Connect", {"const ::syslink::broker::BrokerConnectOptions& options = {}"}, ";");
  t.SetFunction("connect_definition", 0, "::absl::StatusOr<$service$Stub>",
                "$service$Stub::Connect",
                {"const ::syslink::broker::BrokerConnectOptions& options"}, " {");
  t.SetCall("connect_call", 6, "::syslink::rpc::ConnectChannel",
            {"$service$::kServiceName", "options"}, ";");
  // methods(): the Method constants in an array, one a line.
  std::string entries;
  for (const MethodFragments& method : methods) {
    absl::StrAppend(&entries, "      ", method.method_entry, ",\n");
  }
  t.Set("entries", entries);
  t.Set("methods_body", methods.empty() ? "  return {};\n"
                                        : t.Fill("  static constexpr ::syslink::rpc::Method "
                                                 "kMethods[] = {\n"
                                                 "$entries$"
                                                 "  };\n"
                                                 "  return kMethods;\n"));
  t.SetCall("unknown_method", 6, "return ::absl::UnimplementedError",
            {"::absl::StrCat(\"$full_name$ has no method with id \", call.method_id())"}, ";");

  ServiceCode code;
  code.header = t.Fill(
      "$comments$"
      "// The server side: derive from this class, override the rpcs you serve (the others\n"
      "// answer UNIMPLEMENTED) and serve it with a server (rpc/server.h). Rpcs may run on\n"
      "// several threads at once; an implementation synchronizes its own state.\n"
      "class $service$ : public ::syslink::rpc::Service {\n"
      " public:\n"
      "  static constexpr ::absl::string_view kServiceName = \"$full_name$\";\n"
      "$id_constants$"
      "\n"
      "$method_constants$"
      "  ::absl::string_view service_name() const override { return kServiceName; }\n"
      "  std::span<const ::syslink::rpc::Method> methods() const override;\n"
      "\n"
      "$server_declarations$"
      "  [[nodiscard]] ::absl::Status Dispatch(::syslink::rpc::ServerCall& call) override;\n"
      "};\n"
      "\n"
      "// The client side: each unary rpc has three call forms (returning the response,\n"
      "// filling one in, and asynchronous), each streaming rpc one that opens the stream\n"
      "// (rpc/stream.h; a server-streaming rpc also an asynchronous one), all through one\n"
      "// channel. Thread-safe if the channel is. The `response` and `context` of an async\n"
      "// call must live until `done` runs.\n"
      "class $service$Stub {\n"
      " public:\n"
      "  explicit $service$Stub(std::shared_ptr<::syslink::rpc::Channel> channel);\n"
      "\n"
      "  // A stub on a new channel to the server of $service$::kServiceName, found through\n"
      "  // the broker (ConnectChannel, rpc/connect.h); fails with the broker's error\n"
      "  // (NOT_FOUND when nobody serves it, PERMISSION_DENIED, UNAVAILABLE, ...).\n"
      "  $connect_declaration$\n"
      "\n"
      "$stub_declarations$"
      "  ::syslink::rpc::Channel& channel() { return *channel_; }\n"
      "\n"
      " private:\n"
      "  std::shared_ptr<::syslink::rpc::Channel> channel_;\n"
      "};\n");
  code.source = t.Fill(
      "// $full_name$\n"
      "$id_checks$"
      "$server_definitions$"
      "\n"
      "std::span<const ::syslink::rpc::Method> $service$::methods() const {\n"
      "$methods_body$"
      "}\n"
      "\n"
      "::absl::Status $service$::Dispatch(::syslink::rpc::ServerCall& call) {\n"
      "  switch (call.method_id()) {\n"
      "$dispatch_cases$"
      "    default:\n"
      "      $unknown_method$\n"
      "  }\n"
      "}\n"
      "\n"
      "$stub_constructor$\n"
      "    : channel_(std::move(channel)) {}\n"
      "\n"
      "$connect_definition$\n"
      "  ::absl::StatusOr<std::shared_ptr<::syslink::rpc::Channel>> channel =\n"
      "      $connect_call$\n"
      "  if (!channel.ok()) return channel.status();\n"
      "  return $service$Stub(*std::move(channel));\n"
      "}\n"
      "$stub_definitions$");
  return code;
}

// The $var$ values every template of `file` uses.
CodeTemplate FileTemplate(const FileDescriptor& file) {
  const std::string stem = google::protobuf::compiler::StripProto(file.name());
  const std::string header = stem + ".syslink.h";
  // A fixed prefix (a path may start with a digit) and every other character than a letter
  // or a digit spelled as _XX in hex (so that foo/bar and foo_bar differ).
  std::string guard = "SYSLINK_GENERATED_";
  for (char c : header) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c))) {
      guard.push_back(c);
    } else {
      absl::StrAppend(&guard, "_", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
    }
  }
  const std::string cpp_namespace = absl::StrReplaceAll(file.package(), {{".", "::"}});
  return CodeTemplate({
      {"proto", file.name()},
      {"header", header},
      {"source", stem + ".syslink.cc"},
      {"pb_header", stem + ".pb.h"},
      {"guard", guard},
      {"namespace_open",
       cpp_namespace.empty() ? "" : absl::StrCat("namespace ", cpp_namespace, " {\n\n")},
      {"namespace_close",
       cpp_namespace.empty() ? "" : absl::StrCat("\n}  // namespace ", cpp_namespace, "\n")},
  });
}

// `#include "..."` lines for `paths`, sorted as clang-format sorts them.
std::string IncludeLines(std::vector<std::string> paths) {
  std::sort(paths.begin(), paths.end());
  std::string lines;
  for (const std::string& path : paths) absl::StrAppend(&lines, "#include \"", path, "\"\n");
  return lines;
}

void FillFiles(const FileDescriptor& file, CodeTemplate& t, std::string* header,
               std::string* source) {
  if (file.service_count() == 0) {
    *header = t.Fill(
        "// Generated from $proto$ by protoc-gen-syslink. Do not edit.\n"
        "//\n"
        "// $proto$ declares no services.\n"
        "\n"
        "#ifndef $guard$\n"
        "#define $guard$\n"
        "\n"
        "#include \"$pb_header$\"\n"
        "\n"
        "#endif  // $guard$\n");
    *source = t.Fill(
        "// Generated from $proto$ by protoc-gen-syslink. Do not edit.\n"
        "\n"
        "#include \"$header$\"\n");
    return;
  }
  std::vector<std::string> header_services, source_services;
  for (int i = 0; i < file.service_count(); ++i) {
    ServiceCode code = GenerateService(*file.service(i));
    header_services.push_back(std::move(code.header));
    source_services.push_back(std::move(code.source));
  }
  t.Set("header_services", absl::StrJoin(header_services, "\n"));
  t.Set("source_services", absl::StrJoin(source_services, "\n"));
  t.Set("header_includes", IncludeLines({"absl/status/status.h", "absl/status/statusor.h",
                                         "absl/strings/string_view.h", t.vars().at("pb_header"),
                                         "rpc/channel.h", "rpc/connect.h", "rpc/context.h",
                                         "rpc/method.h", "rpc/service.h", "rpc/stream.h"}));
  *header = t.Fill(
      "// Generated from $proto$ by protoc-gen-syslink. Do not edit.\n"
      "\n"
      "#ifndef $guard$\n"
      "#define $guard$\n"
      "\n"
      "#include <cstdint>\n"
      "#include <functional>\n"
      "#include <memory>\n"
      "#include <span>\n"
      "\n"
      "$header_includes$"
      "\n"
      "$namespace_open$"
      "$header_services$"
      "$namespace_close$"
      "\n"
      "#endif  // $guard$\n");
  *source = t.Fill(
      "// Generated from $proto$ by protoc-gen-syslink. Do not edit.\n"
      "\n"
      "#include \"$header$\"\n"
      "\n"
      "#include <cstdint>\n"
      "#include <memory>\n"
      "#include <span>\n"
      "#include <utility>\n"
      "\n"
      "#include \"absl/status/status.h\"\n"
      "#include \"absl/status/statusor.h\"\n"
      "#include \"absl/strings/str_cat.h\"\n"
      "#include \"rpc/channel.h\"\n"
      "#include \"rpc/connect.h\"\n"
      "#include \"rpc/context.h\"\n"
      "#include \"rpc/method.h\"\n"
      "#include \"rpc/method_id.h\"\n"
      "#include \"rpc/recycled_message.h\"\n"
      "#include \"rpc/service.h\"\n"
      "\n"
      "$namespace_open$"
      "$source_services$"
      "$namespace_close$");
}

bool WriteFile(GeneratorContext* context, const std::string& name, const std::string& text,
               std::string* error) {
  std::unique_ptr<google::protobuf::io::ZeroCopyOutputStream> output(context->Open(name));
  google::protobuf::io::Printer printer(output.get(), '$');
  printer.PrintRaw(text);
  if (printer.failed()) {
    *error = absl::StrCat("could not write ", name);
    return false;
  }
  return true;
}

}  // namespace

bool SyslinkGenerator::Generate(const FileDescriptor* file, const std::string& parameter,
                                GeneratorContext* context, std::string* error) const {
  if (!parameter.empty()) return RejectParameter(parameter, error);
  if (file->service_count() > 0 && file->options().cc_generic_services()) {
    *error = absl::StrCat("option cc_generic_services = true makes protoc declare class ",
                          file->service(0)->name(),
                          " in the .pb.h, as the syslink header does; set it to false for C++ (a "
                          "build of the same file with gRPC's plugin needs that too)");
    return false;
  }
  for (int i = 0; i < file->service_count(); ++i) {
    if (!CheckService(*file->service(i), error)) return false;
  }
  CodeTemplate t = FileTemplate(*file);
  std::string header, source;
  FillFiles(*file, t, &header, &source);
  return WriteFile(context, t.vars().at("header"), header, error) &&
         WriteFile(context, t.vars().at("source"), source, error);
}

}  // namespace syslink::rpc::compiler
