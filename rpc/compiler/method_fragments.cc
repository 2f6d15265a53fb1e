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

// The rpc/method.h MethodKind of `method`.
const char* KindName(const MethodDescriptor& method) {
  if (method.client_streaming() && method.server_streaming()) return "kBidiStreaming";
  if (method.client_streaming()) return "kClientStreaming";
  if (method.server_streaming()) return "kServerStreaming";
  return "kUnary";
}

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
      {"kind", KindName(method)},
  });
}

constexpr const char* kServerContext = "::syslink::rpc::ServerContext& context";
constexpr const char* kClientContext = "::syslink::rpc::ClientContext* context";

// How the service's virtual method of an rpc looks, by the rpc's kind.
struct ServerShape {
  std::vector<const char*> parameters;
  std::vector<const char*> unnamed_parameters;  // for the default body
  std::vector<const char*> arguments;           // Dispatch()'s call
  const char* dispatch;                         // Dispatch()'s case
};

ServerShape ServerShapeOf(const MethodDescriptor& method) {
  if (method.client_streaming() && method.server_streaming()) {
    return {
        {kServerContext, "::syslink::rpc::ServerReaderWriter<$response$, $request$>* stream"},
        {"::syslink::rpc::ServerContext& /*context*/",
         "::syslink::rpc::ServerReaderWriter<$response$, $request$>* /*stream*/"},
        {"call.context()", "&stream"},
        "    case k$method$MethodId: {\n"
        "      $not_a_stream$\n"
        "      ::syslink::rpc::ServerReaderWriter<$response$, $request$> stream(call.stream());\n"
        "      $call$\n"
        "      return status;\n"
        "    }\n"};
  }
  if (method.client_streaming()) {
    return {
        {kServerContext, "::syslink::rpc::ServerReader<$request$>* reader", "$response$* response"},
        {"::syslink::rpc::ServerContext& /*context*/",
         "::syslink::rpc::ServerReader<$request$>* /*reader*/", "$response$* /*response*/"},
        {"call.context()", "&reader", "&response"},
        "    case k$method$MethodId: {\n"
        "      $not_a_stream$\n"
        "      ::syslink::rpc::ServerReader<$request$> reader(call.stream());\n"
        "      $response$ response;\n"
        "      $call$\n"
        "      if (status.ok()) call.SetResponse(response);\n"
        "      return status;\n"
        "    }\n"};
  }
  if (method.server_streaming()) {
    return {{kServerContext, "const $request$& request",
             "::syslink::rpc::ServerWriter<$response$>* writer"},
            {"::syslink::rpc::ServerContext& /*context*/", "const $request$& /*request*/",
             "::syslink::rpc::ServerWriter<$response$>* /*writer*/"},
            {"call.context()", "request", "&writer"},
            "    case k$method$MethodId: {\n"
            "      $not_a_stream$\n"
            "      $request$ request;\n"
            "      if (::absl::Status s = call.ParseRequest(&request, k$method$Method); !s.ok()) "
            "return s;\n"
            "      ::syslink::rpc::ServerWriter<$response$> writer(call.stream());\n"
            "      $call$\n"
            "      return status;\n"
            "    }\n"};
  }
  return {
      {kServerContext, "const $request$& request", "$response$* response"},
      {"::syslink::rpc::ServerContext& /*context*/", "const $request$& /*request*/",
       "$response$* /*response*/"},
      {"call.context()", "*request", "response.get()"},
      // The thread's spare messages (rpc/recycled_message.h): a unary call on a busy
      // thread parses and builds in memory its last calls left allocated.
      "    case k$method$MethodId: {\n"
      "      ::syslink::rpc::RecycledMessage<$request$> request;\n"
      "      if (::absl::Status s = call.ParseRequest(request.get(), k$method$Method); !s.ok()) "
      "return s;\n"
      "      request.Recycle(call.request().size());\n"
      "      ::syslink::rpc::RecycledMessage<$response$> response;\n"
      "      $call$\n"
      "      if (!status.ok()) return status;\n"
      "      call.SetResponse(*response);\n"
      "      response.Recycle(response->GetCachedSize());\n"
      "      return status;\n"
      "    }\n"};
}

void BuildServerFragments(const MethodDescriptor& method, CodeTemplate& t,
                          MethodFragments& fragments) {
  fragments.id_constant = t.Fill("  static constexpr uint32_t k$method$MethodId = $id$;\n");
  fragments.method_constant = t.Fill(
      "  static constexpr ::syslink::rpc::Method k$method$Method = {\n"
      "      .id = k$method$MethodId,\n"
      "      .path = \"$path$\",\n"
      "      .kind = ::syslink::rpc::MethodKind::$kind$,\n"
      "  };\n");
  fragments.method_entry = t.Fill("k$method$Method");

  const ServerShape shape = ServerShapeOf(method);
  t.SetFunction("declaration", 2, "virtual ::absl::Status", "$method$", shape.parameters, ";");
  fragments.server_declaration = t.Fill("$comments$  $declaration$\n\n");

  t.SetCall("id_check", 0, "static_assert",
            {"$service$::k$method$MethodId", "::syslink::rpc::MethodId(\"$full_name$\")"}, ";",
            " ==");
  t.SetCall("path_check", 0, "static_assert",
            {"::syslink::rpc::MethodIdOfPath($service$::k$method$Method.path)",
             "$service$::k$method$MethodId"},
            ";", " ==");
  fragments.id_check = t.Fill("$id_check$\n$path_check$\n");

  t.SetFunction("definition", 0, "::absl::Status", "$service$::$method$", shape.unnamed_parameters,
                " {");
  t.SetCall("unimplemented", 2, "return ::absl::UnimplementedError",
            {"\"$full_name$ is not implemented\""}, ";");
  fragments.server_definition = t.Fill(
      "\n"
      "$definition$\n"
      "  $unimplemented$\n"
      "}\n");

  t.SetCall("call", 6, "::absl::Status status = $method$", shape.arguments, ";");
  t.SetCall("not_a_stream", 6, "if (call.stream() == nullptr) return ::syslink::rpc::NotAStream",
            {"k$method$Method"}, ";");
  fragments.dispatch_case = t.Fill(shape.dispatch);
}

void BuildStubFragments(CodeTemplate& t, MethodFragments& fragments) {
  // The three call forms: returning the response, filling one, and asynchronous.
  t.SetFunction("returning", 2, "[[nodiscard]] ::absl::StatusOr<$response$>", "$method$",
                {"const $request$& request", "::syslink::rpc::ClientContext* context = nullptr"},
                ";");
  t.SetFunction("filling", 2, "[[nodiscard]] ::absl::Status", "$method$",
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

  t.SetFunction("returning", 0, "::absl::StatusOr<$response$>", "$service$Stub::$method$",
                {"const $request$& request", kClientContext}, " {");
  t.SetCall("call_returning", 2, "::absl::Status status = channel_->Call",
            {"$service$::k$method$Method", "request", "&response", "context"}, ";");
  t.SetFunction("filling", 0, "::absl::Status", "$service$Stub::$method$",
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

// A streaming rpc's stub method: it opens the stream and hands out its reader, writer, or
// both (rpc/stream.h).
void BuildStreamStubFragments(const MethodDescriptor& method, CodeTemplate& t,
                              MethodFragments& fragments) {
  const char* stream_class;
  std::vector<const char*> parameters;
  const char* open_arguments;
  if (method.client_streaming() && method.server_streaming()) {
    stream_class = "::syslink::rpc::ClientReaderWriter<$request$, $response$>";
    open_arguments = "nullptr, nullptr";
  } else if (method.client_streaming()) {
    stream_class = "::syslink::rpc::ClientWriter<$request$>";
    parameters.push_back("$response$* response");
    open_arguments = "nullptr, response";
  } else {
    stream_class = "::syslink::rpc::ClientReader<$response$>";
    parameters.push_back("const $request$& request");
    open_arguments = "&request, nullptr";
  }
  t.Set("stream_class", t.Fill(stream_class));
  t.Set("stream_type", t.Fill("std::unique_ptr<$stream_class$>"));
  t.Set("open_arguments", open_arguments);
  std::vector<const char*> declared = parameters;
  declared.push_back("::syslink::rpc::ClientContext* context = nullptr");
  t.SetFunction("opening", 2, "[[nodiscard]] $stream_type$", "$method$", declared, ";");
  const std::string opening_declaration = t.Fill("$comments$  $opening$\n");
  std::vector<const char*> defined = parameters;
  defined.push_back(kClientContext);
  t.SetFunction("opening", 0, "$stream_type$", "$service$Stub::$method$", defined, " {");
  t.SetCall("open", 6, "channel_->OpenStream",
            {"$service$::k$method$Method", "$open_arguments$", "context"}, ");");
  std::string definition = t.Fill(
      "\n"
      "$opening$\n"
      "  return std::make_unique<$stream_class$>(\n"
      "      $open$\n"
      "}\n");
  std::string async_declaration;
  if (!method.client_streaming()) {
    // Server streaming: the asynchronous form too (rpc/stream.h's ReadAsync).
    const std::vector<const char*> async_parameters = {
        "const $request$& request", kClientContext,
        "std::function<bool($response$&, ::syslink::rpc::Attachment&)> on_message",
        "::syslink::rpc::DoneCallback done"};
    t.SetFunction("async", 2, "void", "$method$Async", async_parameters, ";");
    async_declaration = t.Fill("  $async$\n");
    t.SetFunction("async", 0, "void", "$service$Stub::$method$Async", async_parameters, " {");
    t.SetCall("read_async", 2, "::syslink::rpc::ReadAsync<$response$>",
              {"channel_->OpenStream($service$::k$method$Method, &request, nullptr, context)",
               "std::move(on_message)", "std::move(done)"},
              ";");
    definition += t.Fill(
        "\n"
        "$async$\n"
        "  $read_async$\n"
        "}\n");
  }
  fragments.stub_declaration = opening_declaration + async_declaration + "\n";
  fragments.stub_definition = std::move(definition);
}

}  // namespace

MethodFragments BuildMethodFragments(const MethodDescriptor& method) {
  CodeTemplate t = MethodTemplate(method);
  MethodFragments fragments;
  BuildServerFragments(method, t, fragments);
  if (method.client_streaming() || method.server_streaming()) {
    BuildStreamStubFragments(method, t, fragments);
  } else {
    BuildStubFragments(t, fragments);
  }
  return fragments;
}

std::string JoinFragments(const std::vector<MethodFragments>& methods,
                          std::string MethodFragments::*part) {
  std::string joined;
  for (const MethodFragments& method : methods) joined += method.*part;
  return joined;
}

}  // namespace syslink::rpc::compiler
