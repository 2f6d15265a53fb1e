// A live syslinkd against hostile and careless clients: malformed control messages, clients
// that go silent or never read, a connection that connects to its own service and reads
// nothing, a listing of ten thousand pending calls, a thousand clients at once, and ten
// thousand connect/disconnect cycles. After each, the broker must still serve a normal
// client, count what it refused, and hold no more descriptors or memory than before.
// (Servers that answer no offer are in broker_admission_test.cc.)
//
// The broker is //syslink/broker:syslinkd run by the test (tests/support/broker_process.h);
// hostile clients are raw SOCK_SEQPACKET connections to its socket from this process.

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "syslink/broker/client.h"
#include "syslink/broker/control_messages.h"
#include "syslink/broker/internal/control_codec.h"
#include "syslink/broker/internal/control_socket.h"
#include "syslink/link.h"
#include "tests/support/broker_process.h"
#include "tests/support/child_process.h"
#include "tests/support/eventually.h"
#include "tests/support/other_user.h"

namespace syslink::broker {
namespace {

using ::syslink::broker::internal::ControlPacket;
using ::syslink::broker::internal::FieldWriter;
using ::syslink::broker::internal::ReceiveControl;
using ::syslink::testing::BrokerProcess;
using ::syslink::testing::ChildProcess;
using ::syslink::testing::ConnectAndAccept;
using ::syslink::testing::ConnectedPair;
using ::syslink::testing::ControlBytes;
using ::syslink::testing::DialRaw;
using ::syslink::testing::Eventually;
using ::syslink::testing::kPatience;
using ::syslink::testing::ListBrokerAt;
using ::syslink::testing::ResidentKiB;
using ::syslink::testing::ScratchDirectory;
using ::syslink::testing::SendRaw;
using ::syslink::testing::Soon;
using ::testing::HasSubstr;


// Under AddressSanitizer freed memory waits in a quarantine (256 MiB by default) before it is
// reused, so a broker's resident size grows with churn and says nothing about leaks; there
// LeakSanitizer checks the broker when it exits (TearDown expects "exited 0").
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kResidentSizeShowsLeaks = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kResidentSizeShowsLeaks = false;
#else
constexpr bool kResidentSizeShowsLeaks = true;
#endif
#else
constexpr bool kResidentSizeShowsLeaks = true;
#endif

// The broker's answer to request `sequence` on a raw connection, or why none came
// (UNAVAILABLE: the broker closed the connection).
absl::StatusOr<Answer> ReadAnswer(int fd, uint32_t sequence) {
  absl::StatusOr<ControlPacket> packet = ReceiveControl(fd, Soon());
  if (!packet.ok()) return packet.status();
  if (packet->type != ControlType::kAnswer || packet->sequence != sequence) {
    return absl::InternalError(absl::StrCat("expected the answer to ", sequence, ", got type ",
                                            static_cast<int>(packet->type), " sequence ",
                                            packet->sequence));
  }
  return DecodeAnswer(packet->body);
}

// A raw connection whose send buffer holds a message of the broker's maximum size.
UniqueFd DialWithRoomFor(const std::string& socket_path, size_t bytes) {
  UniqueFd fd = DialRaw(socket_path);
  int size = static_cast<int>(2 * bytes);
  if (fd.valid()) setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
  return fd;
}

class BrokerRobustnessTest : public ::testing::Test {
 protected:
  virtual std::vector<std::string> BrokerArgs() const { return {}; }

  void SetUp() override {
    absl::StatusOr<std::unique_ptr<BrokerProcess>> broker =
        BrokerProcess::Start(dir_.SocketPath(), BrokerArgs());
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = *std::move(broker);
    options_ = broker_->ConnectOptions(absl::Seconds(5));
    absl::StatusOr<ServiceRegistration> probe =
        ServiceRegistration::Register("test.probe", AccessPolicy::SameUser(), {}, options_);
    ASSERT_TRUE(probe.ok()) << probe.status();
    probe_.emplace(*std::move(probe));
  }

  void TearDown() override {
    probe_.reset();
    if (broker_ != nullptr) {
      EXPECT_EQ(broker_->Stop(), ChildProcess::Exited(0));
    }
  }

  Listing List() {
    absl::StatusOr<Listing> listing = ListBrokerAt(dir_.SocketPath(), absl::Seconds(5));
    EXPECT_TRUE(listing.ok()) << listing.status();
    return listing.ok() ? *std::move(listing) : Listing{};
  }

  // A normal client is served: it connects to test.probe, the server accepts the link, and a
  // request crosses it. The link is closed again afterwards.
  void ExpectServed() {
    ConnectedPair pair = ConnectAndAccept(*probe_, "test.probe", options_);
    ASSERT_TRUE(pair.client.ok()) << pair.client.status();
    ASSERT_TRUE(pair.server.ok()) << pair.server.status();
    ASSERT_TRUE(pair.client->link.Send(1, AsBytes("ping")).ok());
    absl::StatusOr<Message> request = pair.server->link.Receive(Soon());
    ASSERT_TRUE(request.ok()) << request.status();
    EXPECT_EQ(request->DataAsString(), "ping");
  }

  // Takes (and drops) the links test.probe was given for clients that have left, until the
  // broker knows of none.
  void DropLinksOfDepartedClients() {
    EXPECT_TRUE(Eventually([&] {
      if (List().links.empty()) return true;
      (void)probe_->Accept(absl::Now() + absl::Milliseconds(10));
      return false;
    }));
  }

  // Waits until the broker holds at most `count` descriptors; returns the last count seen.
  uint64_t AwaitDescriptorsAtMost(uint64_t count, absl::Duration timeout = kPatience) {
    uint64_t seen = 0;
    Eventually(
        [&] {
          seen = List().counters.open_descriptors;
          return seen <= count;
        },
        timeout);
    return seen;
  }

  ScratchDirectory dir_{"robust"};
  std::unique_ptr<BrokerProcess> broker_;
  BrokerConnectOptions options_;
  std::optional<ServiceRegistration> probe_;
};

// ---- Malformed control messages. -------------------------------------------------------

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
    methods.push_back({static_cast<uint32_t>(i + 1),
                       absl::StrCat("test.Svc/M", std::string(padding, 'x'), i)});
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
  add("TruncatedHeader", std::vector<std::byte>(list.begin(), list.begin() + 8),
      Outcome::kClosed);
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
  add("ConnectEmptyBody", ControlBytes(ControlType::kConnect, kSequence, {}),
      Outcome::kAnswered);
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
    all.push_back({std::move(name), std::move(bytes), 0, Outcome::kAnswered, true,
                   std::move(says)});
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
  refuse_table("MethodNameWithoutMethod", RegisterMethods({{7, "test.Svc/"}}),
               "not a method name");
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

// ---- Careless clients and servers. -------------------------------------------------------

TEST_F(BrokerRobustnessTest, HundredSilentClientsDoNotStopOthersBeingServed) {
  std::vector<UniqueFd> silent;
  for (int i = 0; i < 100; ++i) {
    silent.push_back(DialRaw(dir_.SocketPath()));
    ASSERT_TRUE(silent.back().valid());
  }
  absl::Time start = absl::Now();
  ExpectServed();
  RecordProperty("served_among_silent_clients_us",
                 absl::StrCat(absl::ToInt64Microseconds(absl::Now() - start)));
  EXPECT_GE(List().counters.connections, 100u);
}

TEST_F(BrokerRobustnessTest, ClientThatNeverReadsItsAnswersIsDisconnected) {
  Listing before = List();
  UniqueFd greedy = DialRaw(dir_.SocketPath());
  ASSERT_TRUE(greedy.valid());
  std::vector<std::byte> list = ControlBytes(ControlType::kList, 1, {});
  bool disconnected = false;
  absl::Time give_up = Soon();
  for (int sent = 0; sent < 100000 && !disconnected && absl::Now() < give_up;) {
    if (send(greedy.get(), list.data(), list.size(), MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) {
      ++sent;
    } else if (errno == EAGAIN) {
      absl::SleepFor(absl::Microseconds(100));
    } else {
      disconnected = errno == EPIPE || errno == ECONNRESET;
    }
  }
  EXPECT_TRUE(disconnected) << "the broker kept answering a client that reads nothing";
  ExpectServed();
  greedy.Reset();
  EXPECT_LE(AwaitDescriptorsAtMost(before.counters.open_descriptors),
            before.counters.open_descriptors);
}

// One connection that registers a service and then connects to it, over and over, reading
// nothing: the link events and the answers fill the same connection.
TEST_F(BrokerRobustnessTest, ConnectionConnectingToItsOwnServiceWithoutReadingIsDropped) {
  Listing before = List();
  UniqueFd self = DialRaw(dir_.SocketPath());
  ASSERT_TRUE(SendRaw(self.get(), ControlBytes(ControlType::kRegister, 1,
                                               EncodeRegister({.name = "test.self"}))));
  absl::StatusOr<Answer> registered = ReadAnswer(self.get(), 1);
  ASSERT_TRUE(registered.ok() && registered->status.ok()) << registered.status();
  bool disconnected = false;
  absl::Time give_up = Soon();
  for (uint32_t sequence = 2; sequence < 20000 && !disconnected && absl::Now() < give_up;) {
    std::vector<std::byte> connect =
        ControlBytes(ControlType::kConnect, sequence, EncodeConnect({.name = "test.self"}));
    if (send(self.get(), connect.data(), connect.size(), MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) {
      ++sequence;
    } else if (errno == EAGAIN) {
      absl::SleepFor(absl::Microseconds(100));
    } else {
      disconnected = true;
    }
  }
  EXPECT_TRUE(disconnected);
  ExpectServed();
  self.Reset();
  EXPECT_LE(AwaitDescriptorsAtMost(before.counters.open_descriptors),
            before.counters.open_descriptors);
}

class IdleTimeoutTest : public BrokerRobustnessTest {
 protected:
  std::vector<std::string> BrokerArgs() const override { return {"--idle-timeout", "1"}; }
};

TEST_F(IdleTimeoutTest, SilentConnectionsAreClosedAfterTheIdleTimeout) {
  Listing before = List();
  std::vector<UniqueFd> silent;
  for (int i = 0; i < 20; ++i) silent.push_back(DialRaw(dir_.SocketPath()));
  EXPECT_GE(List().counters.open_descriptors, before.counters.open_descriptors + 20);
  EXPECT_LE(AwaitDescriptorsAtMost(before.counters.open_descriptors, absl::Seconds(5)),
            before.counters.open_descriptors);
  for (UniqueFd& fd : silent) {
    char byte;
    EXPECT_EQ(recv(fd.get(), &byte, 1, MSG_DONTWAIT), 0) << "not closed by the broker";
  }
  ExpectServed();  // the registered server's connection was kept, silent as it was
}

// ---- A large listing. ----------------------------------------------------------------------

// 10,200 requests waiting on three links: the listing is far larger than a socket buffer
// (it travels in a memfd), and syslinkctl shows it.
TEST_F(BrokerRobustnessTest, ListingOfTenThousandPendingCallsIsShown) {
  constexpr int kLinks = 3;
  constexpr int kPendingEach = 3400;
  std::vector<ConnectedPair> links;
  for (int i = 0; i < kLinks; ++i) {
    links.push_back(ConnectAndAccept(*probe_, "test.probe", options_));
    ASSERT_TRUE(links.back().client.ok()) << links.back().client.status();
    ASSERT_TRUE(links.back().server.ok()) << links.back().server.status();
    for (int j = 0; j < kPendingEach; ++j) {
      ASSERT_TRUE(links.back().client->link.Send(7, AsBytes("")).ok()) << "request " << j;
    }
  }
  Listing listing = List();
  size_t pending = 0;
  for (const LinkListing& link : listing.links) pending += link.pending[0].size();
  EXPECT_EQ(pending, static_cast<size_t>(kLinks * kPendingEach));
  size_t bytes = EncodeListing(listing).size();
  RecordProperty("listing_bytes", absl::StrCat(bytes));
  EXPECT_GT(bytes, 256u * 1024);

  syslink::testing::SyslinkctlOutput shown =
      syslink::testing::RunSyslinkctl(dir_.SocketPath(), {"--json"}, kPatience);
  EXPECT_EQ(shown.ended, ChildProcess::Exited(0));
  const std::string& json = shown.printed;
  RecordProperty("syslinkctl_json_bytes", absl::StrCat(json.size()));
  EXPECT_GT(json.size(), 256u * 1024);
  EXPECT_THAT(json, HasSubstr("\"command\": 7"));
}

// ---- Many clients. ------------------------------------------------------------------------

TEST_F(BrokerRobustnessTest, ThousandClientsAtOnceAreAllAnswered) {
  constexpr int kClients = 1000;
  struct rlimit limit;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  limit.rlim_cur = limit.rlim_max;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &limit), 0);
  if (limit.rlim_cur < kClients + 100) {
    GTEST_SKIP() << "RLIMIT_NOFILE allows only " << limit.rlim_cur << " descriptors";
  }
  Listing before = List();
  std::vector<UniqueFd> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(DialRaw(dir_.SocketPath()));
    ASSERT_TRUE(clients.back().valid()) << "connection " << i << ": " << std::strerror(errno);
  }
  for (int i = 0; i < kClients; ++i) {
    ASSERT_TRUE(SendRaw(clients[i].get(),
                        ControlBytes(ControlType::kConnect, i + 1,
                                     EncodeConnect({.name = "no.such.service"}))));
  }
  ExpectServed();
  int answered = 0;
  for (int i = 0; i < kClients; ++i) {
    absl::StatusOr<Answer> answer = ReadAnswer(clients[i].get(), i + 1);
    if (answer.ok() && absl::IsNotFound(answer->status)) ++answered;
  }
  EXPECT_EQ(answered, kClients);
  Listing during = List();
  EXPECT_GE(during.counters.open_descriptors, before.counters.open_descriptors + kClients);
  EXPECT_EQ(during.counters.not_found, before.counters.not_found + kClients);
  clients.clear();
  EXPECT_LE(AwaitDescriptorsAtMost(before.counters.open_descriptors),
            before.counters.open_descriptors);
}

// 10,000 cycles: bare connect and close; one in twenty each, connect, ask for a listing
// and close without reading it; ask for a link and close before the answer (the server may
// or may not get the link, depending on whether its verdict reaches the broker first); a
// link made through the broker and closed at both ends. Afterwards the broker holds as many
// descriptors as before and little more memory.
TEST_F(BrokerRobustnessTest, TenThousandConnectDisconnectCyclesLeakNothing) {
  constexpr int kCycles = 10000;
  auto cycle = [&](int i) {
    if (i % 20 == 0) {
      ConnectedPair pair = ConnectAndAccept(*probe_, "test.probe", options_);
      ASSERT_TRUE(pair.client.ok()) << pair.client.status();
      ASSERT_TRUE(pair.server.ok()) << pair.server.status();
    } else if (i % 20 == 1) {
      // Asks for a link and leaves before the answer. The offer waits for the next Accept.
      UniqueFd fd = DialRaw(dir_.SocketPath());
      ASSERT_TRUE(fd.valid()) << "cycle " << i << ": " << std::strerror(errno);
      ASSERT_TRUE(SendRaw(fd.get(), ControlBytes(ControlType::kConnect, 1,
                                                 EncodeConnect({.name = "test.probe"}))));
    } else {
      UniqueFd fd = DialRaw(dir_.SocketPath());
      ASSERT_TRUE(fd.valid()) << "cycle " << i << ": " << std::strerror(errno);
      if (i % 20 == 2) {
        ASSERT_TRUE(SendRaw(fd.get(), ControlBytes(ControlType::kList, 1, {})));
      }
    }
  };
  for (int i = 0; i < 400; ++i) ASSERT_NO_FATAL_FAILURE(cycle(i));  // warm-up
  DropLinksOfDepartedClients();
  Listing before = List();
  uint64_t descriptors = AwaitDescriptorsAtMost(before.counters.open_descriptors);
  int64_t resident = ResidentKiB(broker_->pid());
  absl::Time start = absl::Now();
  for (int i = 0; i < kCycles; ++i) ASSERT_NO_FATAL_FAILURE(cycle(i));
  RecordProperty("cycles_us", absl::StrCat(absl::ToInt64Microseconds(absl::Now() - start)));
  DropLinksOfDepartedClients();

  uint64_t descriptors_after = AwaitDescriptorsAtMost(descriptors + 2);
  int64_t resident_after = ResidentKiB(broker_->pid());
  RecordProperty("descriptors_before", absl::StrCat(descriptors));
  RecordProperty("descriptors_after", absl::StrCat(descriptors_after));
  RecordProperty("resident_kib_before", absl::StrCat(resident));
  RecordProperty("resident_kib_after", absl::StrCat(resident_after));
  EXPECT_LE(descriptors_after, descriptors + 2);
  if (kResidentSizeShowsLeaks) {
    EXPECT_LE(resident_after - resident, 4 * 1024)
        << "the broker's VmRSS grew from " << resident << " KiB to " << resident_after << " KiB";
  }
  Listing after = List();
  EXPECT_EQ(after.links.size(), 0u);
  EXPECT_GE(after.counters.connections, before.counters.connections + kCycles);
  ExpectServed();
}

}  // namespace
}  // namespace syslink::broker
