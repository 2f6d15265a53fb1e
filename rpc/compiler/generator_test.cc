// Narrow cases of SyslinkGenerator, driven with .proto text parsed in memory. The whole
// output is checked by the golden-file test (golden_test.sh); protoc's own handling of the
// plugin's errors by plugin_errors_test.sh.

#include "rpc/compiler/generator.h"

#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "google/protobuf/compiler/parser.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/empty.pb.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "gtest/gtest.h"
#include "rpc/method_id.h"

namespace syslink::rpc::compiler {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Keeps what the generator writes, by file name.
class FakeGeneratorContext : public google::protobuf::compiler::GeneratorContext {
 public:
  google::protobuf::io::ZeroCopyOutputStream* Open(const std::string& filename) override {
    return new google::protobuf::io::StringOutputStream(&files_[filename]);
  }
  const std::map<std::string, std::string>& files() const { return files_; }

 private:
  std::map<std::string, std::string> files_;
};

class GeneratorTest : public ::testing::Test {
 protected:
  // Parses `text` as the .proto file `name` into the test's pool (with source locations,
  // so that comments reach the generator). Imports must have been added before.
  const google::protobuf::FileDescriptor* AddProto(const std::string& name,
                                                   const std::string& text) {
    google::protobuf::io::ArrayInputStream input(text.data(), static_cast<int>(text.size()));
    google::protobuf::io::Tokenizer tokenizer(&input, nullptr);
    google::protobuf::FileDescriptorProto proto;
    google::protobuf::compiler::Parser parser;
    EXPECT_TRUE(parser.Parse(&tokenizer, &proto)) << text;
    proto.set_name(name);
    const google::protobuf::FileDescriptor* file = pool_.BuildFile(proto);
    EXPECT_NE(file, nullptr) << text;
    return file;
  }

  // Runs the generator on `file`; returns whether it succeeded.
  bool Generate(const google::protobuf::FileDescriptor* file, const std::string& parameter = "") {
    return SyslinkGenerator().Generate(file, parameter, &context_, &error_);
  }

  std::string Output(const std::string& name) const {
    auto it = context_.files().find(name);
    return it == context_.files().end() ? "" : it->second;
  }

  google::protobuf::DescriptorPool pool_;
  FakeGeneratorContext context_;
  std::string error_;
};

// `code` with each line break and the indentation after it turned into one blank, so that
// declarations can be matched however they are wrapped.
std::string Unwrapped(const std::string& code) {
  std::string unwrapped;
  for (size_t i = 0; i < code.size(); ++i) {
    if (code[i] != '\n') {
      unwrapped += code[i];
      continue;
    }
    unwrapped += ' ';
    while (i + 1 < code.size() && code[i + 1] == ' ') ++i;
  }
  return unwrapped;
}

constexpr const char* kUnary = R"(
  syntax = "proto3";
  package kv;
  message Key { string name = 1; }
  message Value { bytes data = 1; }
  service Store {
    // Reads a value.
    // NOT_FOUND when there is none.
    rpc Get(Key) returns (Value);  // Not copied.
  }
)";

TEST_F(GeneratorTest, WritesHeaderAndSourceBesideTheProto) {
  ASSERT_TRUE(Generate(AddProto("a/b/kv.proto", kUnary))) << error_;
  ASSERT_EQ(context_.files().size(), 2u);
  EXPECT_EQ(context_.files().count("a/b/kv.syslink.h"), 1u);
  EXPECT_EQ(context_.files().count("a/b/kv.syslink.cc"), 1u);
}

TEST_F(GeneratorTest, StartsBothFilesWithTheBanner) {
  ASSERT_TRUE(Generate(AddProto("a/b/kv.proto", kUnary))) << error_;
  const std::string banner = "// Generated from a/b/kv.proto by protoc-gen-syslink. Do not edit.\n";
  EXPECT_EQ(Output("a/b/kv.syslink.h").rfind(banner, 0), 0u);
  EXPECT_EQ(Output("a/b/kv.syslink.cc").rfind(banner, 0), 0u);
}

TEST_F(GeneratorTest, IncludesThePbHeaderAndGuardsByPath) {
  ASSERT_TRUE(Generate(AddProto("a/b/kv.proto", kUnary))) << error_;
  const std::string header = Output("a/b/kv.syslink.h");
  EXPECT_THAT(header, HasSubstr("#include \"a/b/kv.pb.h\"\n"));
  EXPECT_THAT(header, HasSubstr("#ifndef SYSLINK_GENERATED_a_2fb_2fkv_2esyslink_2eh\n"
                                "#define SYSLINK_GENERATED_a_2fb_2fkv_2esyslink_2eh\n"));
  EXPECT_THAT(Output("a/b/kv.syslink.cc"), HasSubstr("#include \"a/b/kv.syslink.h\"\n"));
}

TEST_F(GeneratorTest, GuardsAreValidAndDistinctForAnyPath) {
  ASSERT_TRUE(Generate(AddProto("3rd/foo/bar.proto", "syntax = \"proto3\"; package a;"))) << error_;
  ASSERT_TRUE(Generate(AddProto("3rd/foo_bar.proto", "syntax = \"proto3\"; package b;"))) << error_;
  EXPECT_THAT(Output("3rd/foo/bar.syslink.h"),
              HasSubstr("#ifndef SYSLINK_GENERATED_3rd_2ffoo_2fbar_2esyslink_2eh\n"));
  EXPECT_THAT(Output("3rd/foo_bar.syslink.h"),
              HasSubstr("#ifndef SYSLINK_GENERATED_3rd_2ffoo_5fbar_2esyslink_2eh\n"));
}

TEST_F(GeneratorTest, RejectsAParameter) {
  EXPECT_FALSE(Generate(AddProto("kv.proto", kUnary), "verbose"));
  EXPECT_EQ(error_, "unknown parameter \"verbose\": protoc-gen-syslink takes no parameters");
  EXPECT_TRUE(context_.files().empty());
}

TEST_F(GeneratorTest, RejectsAParameterWithAValueNamingIt) {
  EXPECT_FALSE(Generate(AddProto("kv.proto", kUnary), "lite=true,other"));
  EXPECT_THAT(error_, HasSubstr("unknown parameter \"lite\""));
}

TEST_F(GeneratorTest, GeneratesEveryStreamingKind) {
  ASSERT_TRUE(Generate(AddProto("s.proto", R"(
    syntax = "proto3";  package p;  message M {}
    service S {
      rpc Up(stream M) returns (M);
      rpc Watch(M) returns (stream M);
      rpc Chat(stream M) returns (stream M);
    }
  )")))
      << error_;
  const std::string header = Output("s.syslink.h");
  EXPECT_THAT(header, HasSubstr("::syslink::rpc::MethodKind::kClientStreaming"));
  EXPECT_THAT(header, HasSubstr("::syslink::rpc::MethodKind::kServerStreaming"));
  EXPECT_THAT(header, HasSubstr("::syslink::rpc::MethodKind::kBidiStreaming"));
  EXPECT_THAT(header, HasSubstr("std::unique_ptr<::syslink::rpc::ClientWriter<::p::M>> Up("));
  EXPECT_THAT(header, HasSubstr("std::unique_ptr<::syslink::rpc::ClientReader<::p::M>> Watch("));
  EXPECT_THAT(header, HasSubstr("::syslink::rpc::ServerReaderWriter<::p::M, ::p::M>* stream"));
}

TEST_F(GeneratorTest, WritesNothingForARefusedFile) {
  EXPECT_FALSE(Generate(AddProto("s.proto", R"(
    syntax = "proto3";  package p;  message M {}
    service Fine { rpc Get(M) returns (M); }
    service S { rpc Dispatch(M) returns (M); }
  )")));
  EXPECT_TRUE(context_.files().empty());
}

TEST_F(GeneratorTest, RejectsMethodsWhoseIdsCollide) {
  // Found by a birthday search: the two full names hash to the same 31-bit id.
  static_assert(MethodId("syslink.compiler_test.CollidingService.Method229618") ==
                MethodId("syslink.compiler_test.CollidingService.Method801496"));
  EXPECT_FALSE(Generate(AddProto("c.proto", R"(
    syntax = "proto3";  package syslink.compiler_test;  message M {}
    service CollidingService {
      rpc Method229618(M) returns (M);
      rpc Method801496(M) returns (M);
    }
  )")));
  EXPECT_THAT(error_, HasSubstr("rpcs syslink.compiler_test.CollidingService.Method229618 and "
                                "syslink.compiler_test.CollidingService.Method801496 have the "
                                "same method id 265196309"));
}

TEST_F(GeneratorTest, AcceptsTheSameMethodNameInTwoServices) {
  EXPECT_TRUE(Generate(AddProto("t.proto", R"(
    syntax = "proto3";  package p;  message M {}
    service A { rpc Get(M) returns (M); }
    service B { rpc Get(M) returns (M); }
  )")))
      << error_;
}

TEST_F(GeneratorTest, RejectsRpcsNamedLikeGeneratedMembers) {
  for (const std::string name : {"Dispatch", "service_name", "methods", "kServiceName", "channel",
                                 "channel_", "S", "SStub"}) {
    const std::string package = "p_" + name;
    EXPECT_FALSE(
        Generate(AddProto(name + ".proto", absl::StrCat("syntax = \"proto3\"; package ", package,
                                                        "; message M {} service S { rpc ", name,
                                                        "(M) returns (M); }"))));
    EXPECT_THAT(error_, HasSubstr(absl::StrCat("rpc ", package, ".S.", name,
                                               " is named like a member of the generated")));
  }
}

TEST_F(GeneratorTest, AcceptsAnRpcNamedConnectUnlessItIsABidiStream) {
  ASSERT_TRUE(Generate(AddProto("connect.proto", R"(
    syntax = "proto3";  package c;  message M {}
    service Unary { rpc Connect(M) returns (M); }
    service Reading { rpc Connect(M) returns (stream M); }
    service Writing { rpc Connect(stream M) returns (M); }
  )")))
      << error_;
  EXPECT_FALSE(Generate(AddProto("connect_bidi.proto", R"(
    syntax = "proto3";  package d;  message M {}
    service Both { rpc Connect(stream M) returns (stream M); }
  )")));
  EXPECT_THAT(error_, HasSubstr("rpc d.Both.Connect is a bidirectional stream named Connect"));
}

TEST_F(GeneratorTest, RejectsServicesNamedLikeMembersOfTheirClass) {
  for (const std::string name :
       {"Dispatch", "service_name", "methods", "kServiceName", "kGetMethod", "kGetMethodId"}) {
    const std::string package = "q_" + name;
    EXPECT_FALSE(Generate(
        AddProto("service_" + name + ".proto",
                 absl::StrCat("syntax = \"proto3\"; package ", package, "; message M {} service ",
                              name, " { rpc Get(M) returns (M); }"))));
    EXPECT_THAT(error_, HasSubstr(absl::StrCat("service ", package, ".", name,
                                               " is named like a member of its generated class")));
  }
}

TEST_F(GeneratorTest, RejectsRpcsNamedLikeLocalVariablesOfDispatch) {
  for (const std::string name : {"call", "request", "response", "status"}) {
    const std::string package = "p_" + name;
    EXPECT_FALSE(
        Generate(AddProto(name + ".proto", absl::StrCat("syntax = \"proto3\"; package ", package,
                                                        "; message M {} service S { rpc ", name,
                                                        "(M) returns (M); }"))));
    EXPECT_THAT(error_, HasSubstr(absl::StrCat("rpc ", package, ".S.", name,
                                               " is named like a local variable of the "
                                               "generated Dispatch()")));
  }
}

TEST_F(GeneratorTest, RejectsStreamingRpcsNamedLikeTheirStreamInDispatch) {
  EXPECT_FALSE(Generate(AddProto("w.proto", R"(
    syntax = "proto3";  package p;  message M {}
    service S { rpc writer(M) returns (stream M); }
  )")));
  EXPECT_EQ(error_,
            "rpc p.S.writer is named like a local variable of the generated Dispatch() (call, "
            "request, status, writer); rename it");
  EXPECT_FALSE(Generate(AddProto("r.proto", R"(
    syntax = "proto3";  package p_r;  message M {}
    service S { rpc reader(stream M) returns (M); }
  )")));
  EXPECT_THAT(error_, HasSubstr("rpc p_r.S.reader is named like a local variable"));
  EXPECT_FALSE(Generate(AddProto("s.proto", R"(
    syntax = "proto3";  package p_s;  message M {}
    service S { rpc stream(stream M) returns (stream M); }
  )")));
  EXPECT_THAT(error_, HasSubstr("rpc p_s.S.stream is named like a local variable"));
}

TEST_F(GeneratorTest, AcceptsUnaryRpcsNamedLikeAStreamingRpcsLocals) {
  // Each rpc's locals live in its own case of Dispatch().
  EXPECT_TRUE(Generate(AddProto("u.proto", R"(
    syntax = "proto3";  package p;  message M {}
    service S {
      rpc reader(M) returns (M);
      rpc writer(M) returns (M);
      rpc stream(M) returns (M);
      rpc Watch(M) returns (stream M);
    }
  )")))
      << error_;
}

TEST_F(GeneratorTest, AcceptsRpcsNamedLikeLocalVariablesOfTheStubs) {
  EXPECT_TRUE(Generate(AddProto("l.proto", R"(
    syntax = "proto3";  package p;  message M {}
    service S { rpc context(M) returns (M);  rpc done(M) returns (M); }
  )")))
      << error_;
}

TEST_F(GeneratorTest, RejectsAnRpcNamedLikeAnotherRpcsConstant) {
  EXPECT_FALSE(Generate(AddProto("k.proto", R"(
    syntax = "proto3";  package p;  message M {}
    service S { rpc Get(M) returns (M);  rpc kGetMethod(M) returns (M); }
  )")));
  EXPECT_EQ(error_,
            "rpc p.S.kGetMethod is named like the constant kGetMethod generated for rpc p.S.Get; "
            "rename it");
  EXPECT_FALSE(Generate(AddProto("k2.proto", R"(
    syntax = "proto3";  package p2;  message M {}
    service S { rpc kGetMethodId(M) returns (M);  rpc Get(M) returns (M); }
  )")));
  EXPECT_THAT(error_, HasSubstr("rpc p2.S.kGetMethodId is named like the constant"));
}

TEST_F(GeneratorTest, AcceptsAnRpcNamedLikeTheAsyncFormOfAnother) {
  ASSERT_TRUE(Generate(AddProto("a.proto", R"(
    syntax = "proto3";  package p;  message M {}
    service S { rpc Get(M) returns (M);  rpc GetAsync(M) returns (M); }
  )")))
      << error_;
  const std::string header = Unwrapped(Output("a.syslink.h"));
  EXPECT_THAT(header, HasSubstr("void GetAsync(const ::p::M& request, ::p::M* response,"));
  EXPECT_THAT(header, HasSubstr("absl::StatusOr<::p::M> GetAsync(const ::p::M& request,"));
  EXPECT_THAT(header, HasSubstr("void GetAsyncAsync("));
}

TEST_F(GeneratorTest, RejectsRpcsNamedLikeCppKeywords) {
  for (const std::string name : {"delete", "new", "class", "co_await", "and"}) {
    const std::string package = "p_" + name;
    EXPECT_FALSE(
        Generate(AddProto(name + ".proto", absl::StrCat("syntax = \"proto3\"; package ", package,
                                                        "; message M {} service S { rpc ", name,
                                                        "(M) returns (M); }"))));
    EXPECT_EQ(error_, absl::StrCat("rpc ", package, ".S.", name,
                                   " is named like a C++ keyword, which its generated methods "
                                   "cannot be; rename it"));
  }
  EXPECT_TRUE(context_.files().empty());
}

TEST_F(GeneratorTest, RejectsAServiceNamedLikeACppKeyword) {
  EXPECT_FALSE(Generate(AddProto("t.proto", R"(
    syntax = "proto3";  package p;  message M {}
    service template { rpc Get(M) returns (M); }
  )")));
  EXPECT_EQ(error_,
            "service p.template is named like a C++ keyword, which its generated class cannot be; "
            "rename it");
}

TEST_F(GeneratorTest, AcceptsCapitalizedKeywordsAsNames) {
  EXPECT_TRUE(Generate(AddProto("c.proto", R"(
    syntax = "proto3";  package p;  message M {}
    service Template { rpc Delete(M) returns (M);  rpc New(M) returns (M); }
  )")))
      << error_;
}

TEST_F(GeneratorTest, RejectsAServiceWhoseStubNameIsTaken) {
  EXPECT_FALSE(Generate(AddProto("t.proto", R"(
    syntax = "proto3";  package p;  message SStub {}
    service S { rpc Get(SStub) returns (SStub); }
  )")));
  EXPECT_THAT(error_, HasSubstr("service p.S needs the C++ class name SStub for its client stub, "
                                "but p.SStub is declared already"));
}

TEST_F(GeneratorTest, RejectsServicesNamedLikeTheCppNameOfANestedType) {
  // protobuf names Outer.Inner Outer_Inner in C++, beside the service's class.
  EXPECT_FALSE(Generate(AddProto("n.proto", R"(
    syntax = "proto3";  package n;  message Outer { message Inner {} }
    service Outer_Inner { rpc Get(Outer) returns (Outer); }
  )")));
  EXPECT_EQ(error_,
            "service n.Outer_Inner is named like Outer_Inner, the C++ name of n.Outer.Inner; "
            "rename one");
  EXPECT_FALSE(Generate(AddProto("n2.proto", R"(
    syntax = "proto3";  package n2;  message A { message BStub {} }
    service A_B { rpc Get(A) returns (A); }
  )")));
  EXPECT_THAT(error_, HasSubstr("service n2.A_B needs the C++ class name A_BStub for its client "
                                "stub, but n2.A.BStub is declared already"));
  EXPECT_FALSE(Generate(AddProto("n3.proto", R"(
    syntax = "proto3";  package n3;  message M {}  enum Color { RED = 0; }
    service Color_IsValid { rpc Get(M) returns (M); }
  )")));
  EXPECT_THAT(error_, HasSubstr("named like Color_IsValid, the C++ name of n3.Color;"));
}

TEST_F(GeneratorTest, KnowsHowProtobufNamesNestedEnumsAndMapEntries) {
  // A nested enum's values and limits carry its flattened name: Outer_Kind_KIND_A and
  // Outer_Kind_Kind_MIN are taken, Outer_KIND_A is not. A map field's entry is
  // Outer_TagsEntry_DoNotUse, so Outer_TagsEntry is free.
  constexpr const char* kOuter = R"(
    syntax = "proto3";  package %s;
    message Outer { enum Kind { KIND_A = 0; }  map<string, int32> tags = 1; }
    service %s { rpc Get(Outer) returns (Outer); }
  )";
  for (const char* taken : {"Outer_Kind_KIND_A", "Outer_Kind_Kind_MIN", "Outer_Kind_IsValid",
                            "Outer_TagsEntry_DoNotUse", "OuterDefaultTypeInternal"}) {
    const std::string package = absl::StrCat("taken_", taken);
    EXPECT_FALSE(Generate(AddProto(package + ".proto", absl::StrFormat(kOuter, package, taken))))
        << taken;
    EXPECT_THAT(error_, HasSubstr(absl::StrCat("is named like ", taken, ", the C++ name of ")));
  }
  for (const char* free : {"Outer_KIND_A", "Outer_TagsEntry", "Outer_Kind_MIN"}) {
    const std::string package = absl::StrCat("free_", free);
    EXPECT_TRUE(Generate(AddProto(package + ".proto", absl::StrFormat(kOuter, package, free))))
        << free << ": " << error_;
  }
}

TEST_F(GeneratorTest, LooksForTakenNamesInImportedFilesOfTheSamePackageOnly) {
  AddProto("other.proto", R"(
    syntax = "proto3";  package shared;  message Stats { message Bucket {} }
  )");
  EXPECT_FALSE(Generate(AddProto("imports.proto", R"(
    syntax = "proto3";  package shared;  import "other.proto";
    service Stats_Bucket { rpc Get(Stats) returns (Stats); }
  )")));
  EXPECT_THAT(error_, HasSubstr("named like Stats_Bucket, the C++ name of shared.Stats.Bucket;"));
  AddProto("elsewhere.proto", R"(
    syntax = "proto3";  package elsewhere;  message FStub {}
  )");
  EXPECT_TRUE(Generate(AddProto("fine.proto", R"(
    syntax = "proto3";  package mine;  import "elsewhere.proto";
    service F { rpc Get(elsewhere.FStub) returns (elsewhere.FStub); }
  )")))
      << error_;
}

TEST_F(GeneratorTest, RejectsAServiceNamedLikeAnotherServicesStub) {
  EXPECT_FALSE(Generate(AddProto("two.proto", R"(
    syntax = "proto3";  package two;  message M {}
    service S { rpc Get(M) returns (M); }
    service SStub { rpc Get(M) returns (M); }
  )")));
  EXPECT_EQ(error_,
            "service two.S needs the C++ class name SStub for its client stub, but two.SStub is "
            "declared already; rename one");
}

TEST_F(GeneratorTest, GivesAFileWithoutServicesNearlyEmptyFiles) {
  ASSERT_TRUE(Generate(AddProto("m.proto", "syntax = \"proto3\"; package p; message M {}")));
  const std::string header = Output("m.syslink.h");
  EXPECT_THAT(header, HasSubstr("// m.proto declares no services.\n"));
  EXPECT_THAT(header, HasSubstr("#include \"m.pb.h\"\n"));
  EXPECT_THAT(header, Not(HasSubstr("class ")));
  EXPECT_THAT(header, Not(HasSubstr("namespace")));
  EXPECT_EQ(Output("m.syslink.cc"),
            "// Generated from m.proto by protoc-gen-syslink. Do not edit.\n\n"
            "#include \"m.syslink.h\"\n");
}

TEST_F(GeneratorTest, OpensANestedNamespaceForANestedPackage) {
  ASSERT_TRUE(Generate(AddProto("n.proto", R"(
    syntax = "proto3";  package a.b.c;  message M {}
    service S { rpc Get(M) returns (M); }
  )")));
  for (const std::string& file : {Output("n.syslink.h"), Output("n.syslink.cc")}) {
    EXPECT_THAT(file, HasSubstr("\nnamespace a::b::c {\n"));
    EXPECT_THAT(file, HasSubstr("\n}  // namespace a::b::c\n"));
  }
}

TEST_F(GeneratorTest, UsesTheGlobalNamespaceWithoutAPackage) {
  ASSERT_TRUE(Generate(AddProto("g.proto", R"(
    syntax = "proto3";  message M {}
    service S { rpc Get(M) returns (M); }
  )")));
  EXPECT_THAT(Output("g.syslink.h"), Not(HasSubstr("namespace")));
  EXPECT_THAT(Output("g.syslink.h"), HasSubstr("const ::M& request"));
  EXPECT_THAT(Output("g.syslink.h"), HasSubstr("kServiceName = \"S\";"));
}

TEST_F(GeneratorTest, NamesTheServiceAndComputesTheMethodIdOfTheFullName) {
  ASSERT_TRUE(Generate(AddProto("kv.proto", kUnary)));
  const std::string header = Output("kv.syslink.h");
  EXPECT_THAT(header, HasSubstr("class Store : public ::syslink::rpc::Service {"));
  EXPECT_THAT(header,
              HasSubstr("static constexpr ::absl::string_view kServiceName = \"kv.Store\";"));
  EXPECT_THAT(header, HasSubstr(absl::StrCat("static constexpr uint32_t kGetMethodId = ",
                                             MethodId("kv.Store.Get"), ";")));
  EXPECT_THAT(header, HasSubstr("class StoreStub {"));
}

TEST_F(GeneratorTest, DeclaresEachRpcsMethodConstantWithItsGrpcPath) {
  ASSERT_TRUE(Generate(AddProto("kv.proto", kUnary)));
  const std::string header = Output("kv.syslink.h");
  EXPECT_THAT(header, HasSubstr("  static constexpr ::syslink::rpc::Method kGetMethod = {\n"
                                "      .id = kGetMethodId,\n"
                                "      .path = \"/kv.Store/Get\",\n"
                                "      .kind = ::syslink::rpc::MethodKind::kUnary,\n"
                                "  };\n"));
  EXPECT_THAT(header,
              HasSubstr("std::span<const ::syslink::rpc::Method> methods() const override;"));
}

TEST_F(GeneratorTest, StubsPassTheMethodConstantToTheChannel) {
  ASSERT_TRUE(Generate(AddProto("kv.proto", kUnary)));
  const std::string source = Unwrapped(Output("kv.syslink.cc"));
  EXPECT_THAT(source, HasSubstr("channel_->Call(Store::kGetMethod, request, response, context);"));
  EXPECT_THAT(source, HasSubstr("channel_->CallAsync(Store::kGetMethod, request, response, "));
  EXPECT_THAT(source, Not(HasSubstr("channel_->Call(Store::kGetMethodId")));
}

TEST_F(GeneratorTest, DeclaresTheServerMethodAndTheThreeCallForms) {
  ASSERT_TRUE(Generate(AddProto("kv.proto", kUnary)));
  const std::string header = Unwrapped(Output("kv.syslink.h"));
  EXPECT_THAT(header,
              HasSubstr("virtual ::absl::Status Get(::syslink::rpc::ServerContext& context, "
                        "const ::kv::Key& request, ::kv::Value* response);"));
  EXPECT_THAT(header, HasSubstr("absl::StatusOr<::kv::Value> Get(const ::kv::Key& request, "
                                "::syslink::rpc::ClientContext* context = nullptr);"));
  EXPECT_THAT(header, HasSubstr("absl::Status Get(const ::kv::Key& request, ::kv::Value* "
                                "response, ::syslink::rpc::ClientContext* context);"));
  EXPECT_THAT(header, HasSubstr("void GetAsync(const ::kv::Key& request, ::kv::Value* response,"));
}

TEST_F(GeneratorTest, DispatchesByMethodIdAndAnswersUnimplementedOtherwise) {
  ASSERT_TRUE(Generate(AddProto("kv.proto", kUnary)));
  const std::string source = Output("kv.syslink.cc");
  EXPECT_THAT(source, HasSubstr("    case kGetMethodId: {\n"));
  EXPECT_THAT(source, HasSubstr("::syslink::rpc::RecycledMessage<::kv::Key> request;"));
  EXPECT_THAT(source,
              HasSubstr("absl::Status status = Get(call.context(), *request, response.get());"));
  EXPECT_THAT(source, HasSubstr("\"kv.Store has no method with id \", call.method_id()"));
  EXPECT_THAT(source, HasSubstr("absl::UnimplementedError(\"kv.Store.Get is not implemented\")"));
}

TEST_F(GeneratorTest, CopiesLeadingCommentsOfAnRpcOnly) {
  ASSERT_TRUE(Generate(AddProto("kv.proto", kUnary)));
  const std::string header = Output("kv.syslink.h");
  EXPECT_THAT(header, HasSubstr("  // Reads a value.\n  // NOT_FOUND when there is none.\n"
                                "  virtual ::absl::Status Get("));
  EXPECT_THAT(header, Not(HasSubstr("Not copied")));
}

TEST_F(GeneratorTest, PassesADollarSignInACommentThrough) {
  ASSERT_TRUE(Generate(AddProto("d.proto", R"(
    syntax = "proto3";  package p;  message M {}
    // Costs $5, or $$10.
    service S { rpc Get(M) returns (M); }
  )")))
      << error_;
  EXPECT_THAT(Output("d.syslink.h"), HasSubstr("// Costs $5, or $$10.\n"));
}

TEST_F(GeneratorTest, NamesImportedAndNestedTypesByTheirQualifiedCppNames) {
  AddProto("other.proto", R"(
    syntax = "proto3";  package other.deep;
    message Outer { message Inner {} }
  )");
  ASSERT_TRUE(Generate(AddProto("i.proto", R"(
    syntax = "proto3";  package p;  import "other.proto";
    service S { rpc Get(other.deep.Outer.Inner) returns (other.deep.Outer); }
  )")))
      << error_;
  const std::string header = Output("i.syslink.h");
  EXPECT_THAT(header, HasSubstr("const ::other::deep::Outer_Inner& request"));
  EXPECT_THAT(header, HasSubstr("::other::deep::Outer* response"));
}

TEST_F(GeneratorTest, NamesWellKnownTypesInTheProtobufNamespace) {
  google::protobuf::FileDescriptorProto empty;
  google::protobuf::Empty::descriptor()->file()->CopyTo(&empty);
  ASSERT_NE(pool_.BuildFile(empty), nullptr);
  ASSERT_TRUE(Generate(AddProto("w.proto", R"(
    syntax = "proto3";  package p;  import "google/protobuf/empty.proto";
    service S { rpc Ping(google.protobuf.Empty) returns (google.protobuf.Empty); }
  )")))
      << error_;
  EXPECT_THAT(Output("w.syslink.h"), HasSubstr("const ::google::protobuf::Empty& request"));
}

TEST_F(GeneratorTest, NamesMessagesThatAreCppKeywordsAsProtobufDoes) {
  ASSERT_TRUE(Generate(AddProto("k.proto", R"(
    syntax = "proto3";  package p;  message class {}
    service S { rpc Get(class) returns (class); }
  )")))
      << error_;
  EXPECT_THAT(Output("k.syslink.h"), HasSubstr("const ::p::class_& request"));
}

TEST_F(GeneratorTest, GeneratesAServiceWithoutRpcs) {
  ASSERT_TRUE(Generate(AddProto("e.proto", "syntax = \"proto3\"; package p; service S {}")));
  EXPECT_THAT(Output("e.syslink.h"), HasSubstr("class S : public ::syslink::rpc::Service {"));
  EXPECT_THAT(Output("e.syslink.cc"), HasSubstr("  switch (call.method_id()) {\n    default:\n"));
}

TEST_F(GeneratorTest, SupportsProto3Optional) {
  EXPECT_NE(SyslinkGenerator().GetSupportedFeatures() &
                google::protobuf::compiler::CodeGenerator::FEATURE_PROTO3_OPTIONAL,
            0u);
}

}  // namespace
}  // namespace syslink::rpc::compiler
