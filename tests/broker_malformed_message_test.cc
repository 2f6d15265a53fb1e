// A live syslinkd against malformed control messages, one test each: not even framed
// (garbage, a wrong header, a body longer or shorter than stated, oversized), carrying
// descriptors, or framed but wrong inside (unknown types, bad names, lying counts, a bad
// method table). Each is refused (answered INVALID_ARGUMENT, or its connection closed) and
// counted, the broker keeps none of its descriptors, and a normal client is served after.
//
// The broker is //syslink/broker:syslinkd run by the test (tests/support/broker_process.h);
// hostile clients are raw SOCK_SEQPACKET connections to its socket from this process.

#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "base/unique_fd.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "syslink/broker/control_messages.h"
#include "syslink/broker/internal/control_codec.h"
#include "syslink/link_options.h"
#include "tests/support/broker_process.h"
#include "tests/support/broker_robustness.h"

namespace syslink::broker {
namespace {

using ::syslink::broker::internal::FieldWriter;
using ::syslink::testing::BrokerRobustnessTest;
using ::syslink::testing::ControlBytes;
using ::syslink::testing::DialRaw;
using ::syslink::testing::ReadAnswer;
using ::syslink::testing::SendRaw;
using ::testing::HasSubstr;

// A raw connection whose send buffer holds a message of `bytes`.
UniqueFd DialWithRoomFor(const std::string& socket_path, size_t bytes) {
  UniqueFd fd = DialRaw(socket_path);
  int size = static_cast<int>(2 * bytes);
  if (fd.valid()) setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
  return fd;
}

enum class Outcome {
  kAnswered,  // INVALID_ARGUMENT, and the connection stays usable
  kClosed,    // the broker closed the connection
};

struct HostileMessage {
  std::string name;
  std::vector<std::byte> bytes;
  int descriptors = 0;  // copies of /dev/null attached
  Outcome outcome;
  bool counted = true;  // in counters.malformed
  std::string says;     // a kAnswered refusal's message contains this, if not empty
};

// For test names and failure messages: the bytes say little.
void PrintTo(const HostileMessage& message, std::ostream* os) { *os << message.name; }

constexpr uint32_t kSequence = 77;

std::vector<std::byte> Concat(std::vector<std::byte> a, std::span<const std::byte> b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::vector<std::byte> Register(const std::string& name, LinkOptions options = {}) {
  return ControlBytes(ControlType::kRegister, kSequence,
                      EncodeRegister({.name = name, .options = options}));
}

// A registration of test.methods whose method table is `methods`, unchecked.
std::vector<std::byte> RegisterMethods(std::vector<MethodName> methods) {
  return ControlBytes(ControlType::kRegister, kSequence,
                      EncodeRegister({.name = "test.methods", .methods = std::move(methods)}));
}

// `count` well-formed entries, test.Svc/M0, test.Svc/M1, ..., each `padding` bytes longer.
std::vector<MethodName> ManyMethods(size_t count, size_t padding = 0) {
  std::vector<MethodName> methods;
  for (size_t i = 0; i < count; ++i) {
    methods.push_back(
        {static_cast<uint32_t>(i + 1), absl::StrCat("test.Svc/M", std::string(padding, 'x'), i)});
  }
  return methods;
}

std::vector<std::byte> RegisterBody(const std::function<void(FieldWriter&)>& write) {
  FieldWriter w;
  write(w);
  return ControlBytes(ControlType::kRegister, kSequence, w.bytes());
}

std::vector<HostileMessage> HostileMessages() {
  std::vector<HostileMessage> all;
  auto add = [&](std::string name, std::vector<std::byte> bytes, Outcome outcome,
                 int descriptors = 0, bool counted = true) {
    all.push_back({std::move(name), std::move(bytes), descriptors, outcome, counted});
  };
  std::vector<std::byte> list = ControlBytes(ControlType::kList, kSequence, {});
  std::vector<std::byte> register_body = EncodeRegister({.name = "test.valid"});

  // Not even framed: the connection is closed.
  add("Garbage", std::vector<std::byte>(64, std::byte{0xa5}), Outcome::kClosed);
  add("TruncatedHeader", std::vector<std::byte>(list.begin(), list.begin() + 8), Outcome::kClosed);
  std::vector<std::byte> bad_magic = list;
  bad_magic[0] = std::byte{0};
  add("WrongMagic", bad_magic, Outcome::kClosed);
  std::vector<std::byte> bad_version = list;
  bad_version[4] = std::byte{9};
  add("WrongVersion", bad_version, Outcome::kClosed);
  add("BodyLongerThanItsStatedLength",
      ControlBytes(static_cast<uint16_t>(ControlType::kConnect), kSequence,
                   EncodeName("test.probe"), 4),
      Outcome::kClosed);
  add("BodyShorterThanItsStatedLength",
      ControlBytes(static_cast<uint16_t>(ControlType::kConnect), kSequence,
                   EncodeName("test.probe"), 1000),
      Outcome::kClosed);
  add("Oversized",
      ControlBytes(ControlType::kRegister, kSequence,
                   std::vector<std::byte>(kMaxControlMessage + 1 - sizeof(ControlHeader))),
      Outcome::kClosed);
  // The broker takes no descriptors: the kernel refuses them (SO_PASSRIGHTS), or the
  // broker closes the connection that sent them.
  add("OneDescriptor", list, Outcome::kClosed, 1);
  add("FourDescriptors", list, Outcome::kClosed, 4);
  add("SixteenDescriptors", list, Outcome::kClosed, 16);
  // A zero-length packet reads like the peer hanging up: closed, not counted.
  add("EmptyPacket", {}, Outcome::kClosed, 0, /*counted=*/false);

  // Framed, but wrong inside: answered with INVALID_ARGUMENT.
  add("UnknownType", ControlBytes(999, kSequence, {}, 0), Outcome::kAnswered);
  add("AnswerSentToTheBroker", ControlBytes(ControlType::kAnswer, kSequence, {}),
      Outcome::kAnswered);
  add("RegisterBadName", Register("bad name!"), Outcome::kAnswered);
  add("RegisterEmptyName", Register(""), Outcome::kAnswered);
  add("RegisterNameTooLong", Register(std::string(300, 'a')), Outcome::kAnswered);
  add("RegisterUidCountLies", RegisterBody([](FieldWriter& w) {
        w.String("test.liar");
        w.U32(0xffffffff);
      }),
      Outcome::kAnswered);
  add("RegisterTooManyUids", RegisterBody([](FieldWriter& w) {
        w.String("test.crowd");
        w.U32List(std::vector<uint32_t>(kMaxPolicyEntries + 1, 1000));
      }),
      Outcome::kAnswered);
  add("RegisterRingNotAPowerOfTwo", Register("test.ring", {.ring_capacity = 5000}),
      Outcome::kAnswered);
  LinkOptions bad_mode;
  bad_mode.wait.mode = static_cast<ring::WaitMode>(42);
  add("RegisterUnknownWaitMode", Register("test.mode", bad_mode), Outcome::kAnswered);
  add("RegisterTrailingBytes",
      ControlBytes(ControlType::kRegister, kSequence,
                   Concat(register_body, std::vector<std::byte>(3))),
      Outcome::kAnswered);
  // (The header states the length of the whole body, so this one is framed correctly.)
  add("RegisterTruncatedBody",
      ControlBytes(ControlType::kRegister, kSequence,
                   std::span<const std::byte>(register_body).first(register_body.size() / 2)),
      Outcome::kAnswered);
  FieldWriter lying_name;
  lying_name.U32(1000000);  // a name of a million bytes, of which two follow
  add("ConnectNameLengthLies",
      ControlBytes(ControlType::kConnect, kSequence,
                   Concat(lying_name.bytes(), std::vector<std::byte>(2, std::byte{'a'}))),
      Outcome::kAnswered);
  add("ConnectEmptyBody", ControlBytes(ControlType::kConnect, kSequence, {}), Outcome::kAnswered);
  add("ConnectBadName",
      ControlBytes(ControlType::kConnect, kSequence, EncodeConnect({.name = "../etc/passwd\n"})),
      Outcome::kAnswered);
  add("ConnectOnlyAName", ControlBytes(ControlType::kConnect, kSequence, EncodeName("test.probe")),
      Outcome::kAnswered);
  add("AdmitGarbage",
      ControlBytes(ControlType::kAdmit, kSequence, std::vector<std::byte>(5, std::byte{2})),
      Outcome::kAnswered);
  add("UnregisterGarbage",
      ControlBytes(ControlType::kUnregister, kSequence, std::vector<std::byte>(7, std::byte{1})),
      Outcome::kAnswered);

  // A method table (names for syslinkctl) that is not one the broker keeps.
  auto refuse_table = [&](std::string name, std::vector<std::byte> bytes, std::string says) {
    all.push_back(
        {std::move(name), std::move(bytes), 0, Outcome::kAnswered, true, std::move(says)});
  };
  refuse_table("MethodTableTooManyEntries", RegisterMethods(ManyMethods(kMaxMethods + 1)),
               "1025 entries, more than the 1024");
  // A registration's body up to its method table, whose count (4 bytes) ends it.
  std::vector<std::byte> head = EncodeRegister({.name = "test.methods"});
  head.resize(head.size() - sizeof(uint32_t));
  auto with_table = [&](const std::function<void(FieldWriter&)>& write) {
    FieldWriter w;
    write(w);
    return ControlBytes(ControlType::kRegister, kSequence, Concat(head, w.bytes()));
  };
  refuse_table("MethodTableCountLies", with_table([](FieldWriter& w) { w.U32(0xffffffff); }),
               "4294967295 entries");
  refuse_table("MethodTableTruncated", with_table([](FieldWriter& w) {
                 w.U32(3);
                 w.U32(1);
                 w.String("test.Svc/Get");
               }),
               "truncated");
  refuse_table("MethodNameLengthLies", with_table([](FieldWriter& w) {
                 w.U32(1);
                 w.U32(1);
                 w.U32(1000000);
                 w.U32(0x41414141);
               }),
               "truncated");
  refuse_table("MethodNameTooLong",
               RegisterMethods({{7, "test.Svc/" + std::string(kMaxMethodName, 'a')}}),
               "a method name has 1 to 255 bytes; this one has 264");
  refuse_table("MethodNameEmpty", RegisterMethods({{7, ""}}), "this one has 0");
  refuse_table("MethodNameWithoutSlash", RegisterMethods({{7, "test.Svc.Get"}}),
               "not a method name of the form package.Service/Method");
  refuse_table("MethodNameWithTwoSlashes", RegisterMethods({{7, "test/Svc/Get"}}),
               "not a method name");
  refuse_table("MethodNameWithoutService", RegisterMethods({{7, "/Get"}}), "not a method name");
  refuse_table("MethodNameWithoutMethod", RegisterMethods({{7, "test.Svc/"}}), "not a method name");
  refuse_table("MethodNameWithANewline", RegisterMethods({{7, "test.Svc/Get\nfake line"}}),
               "test.Svc/Get\\nfake line");
  refuse_table("MethodNameWithANul", RegisterMethods({{7, std::string("test.Svc/G\0t", 12)}}),
               "test.Svc/G\\x00t");
  refuse_table("MethodIdZero", RegisterMethods({{0, "test.Svc/Get"}}), "has id 0");
  refuse_table("MethodIdTwice", RegisterMethods({{7, "test.Svc/Get"}, {7, "test.Svc/Put"}}),
               "names id 7 more than once");
  refuse_table("MethodTableTooManyBytes", RegisterMethods(ManyMethods(300, 240)),
               "at most 65536 bytes of names");
  return all;
}

class MalformedMessageTest : public BrokerRobustnessTest,
                             public ::testing::WithParamInterface<HostileMessage> {};

TEST_P(MalformedMessageTest, IsRefusedCountedAndLeavesOthersServed) {
  const HostileMessage& hostile = GetParam();
  Listing before = List();
  UniqueFd raw = DialWithRoomFor(dir_.SocketPath(), kMaxControlMessage);
  ASSERT_TRUE(raw.valid());
  std::vector<UniqueFd> attached;
  std::vector<int> fds;
  for (int i = 0; i < hostile.descriptors; ++i) {
    attached.emplace_back(open("/dev/null", O_RDONLY | O_CLOEXEC));
    fds.push_back(attached.back().get());
  }
  bool sent = SendRaw(raw.get(), hostile.bytes, fds);
  if (!sent && !fds.empty() && errno == EPERM) {
    // The kernel refused the descriptors (SO_PASSRIGHTS): nothing reached the broker.
    attached.clear();
    raw.Reset();
    EXPECT_EQ(List().counters.malformed, before.counters.malformed);
    ExpectServed();
    return;
  }
  ASSERT_TRUE(sent) << "sendmsg: " << std::strerror(errno);
  attached.clear();

  absl::StatusOr<Answer> answer = ReadAnswer(raw.get(), kSequence);
  if (hostile.outcome == Outcome::kAnswered) {
    ASSERT_TRUE(answer.ok()) << answer.status();
    EXPECT_EQ(answer->status.code(), absl::StatusCode::kInvalidArgument) << answer->status;
    if (!hostile.says.empty()) {
      EXPECT_THAT(std::string(answer->status.message()), HasSubstr(hostile.says));
    }
    // The same connection is still served.
    ASSERT_TRUE(SendRaw(raw.get(), ControlBytes(ControlType::kList, kSequence + 1, {})));
    absl::StatusOr<Answer> listed = ReadAnswer(raw.get(), kSequence + 1);
    ASSERT_TRUE(listed.ok()) << listed.status();
    EXPECT_TRUE(listed->status.ok()) << listed->status;
  } else {
    EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnavailable)
        << "expected the broker to close the connection: " << answer.status();
  }
  raw.Reset();

  EXPECT_EQ(List().counters.malformed, before.counters.malformed + (hostile.counted ? 1 : 0));
  ExpectServed();
  EXPECT_LE(AwaitDescriptorsAtMost(before.counters.open_descriptors),
            before.counters.open_descriptors)
      << "the broker kept descriptors of a refused message";
}

INSTANTIATE_TEST_SUITE_P(Hostile, MalformedMessageTest, ::testing::ValuesIn(HostileMessages()),
                         [](const ::testing::TestParamInfo<HostileMessage>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace syslink::broker
