// watch_client: puts, gets and watches keys of a running watch_server. See kUsage, or
// `watch_client --help`.

#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "base/arg_reader.h"
#include "examples/watch/watch.syslink.h"
#include "rpc/connect.h"
#include "rpc/stream.h"
#include "syslink/status.h"

namespace syslink::examples::watch {
namespace {

constexpr char kUsage[] =
    "usage: watch_client [--service NAME] COMMAND\n"
    "\n"
    "Calls a running watch_server (examples/watch) through the syslink broker.\n"
    "\n"
    "  watch [PREFIX]    print every change to a key starting with PREFIX (every key when\n"
    "                    none) as it happens, one line each: REVISION KEY VALUE (key and\n"
    "                    value C-escaped, UTF-8 kept); runs until interrupted or the\n"
    "                    server goes. Says on stderr when the watch has begun:\n"
    "                    watching \"PREFIX\" after revision N\n"
    "  put KEY VALUE     store VALUE under KEY; prints the new revision\n"
    "  get KEY           print the value stored under KEY\n"
    "  put-many          store each line of stdin, \"KEY VALUE\" (VALUE is the rest of the\n"
    "                    line), streaming them to the server in one call (PutMany)\n"
    "\n"
    "  --service NAME    the name the server registered with the broker\n"
    "                    (default: syslink.examples.watch.Store)\n"
    "  --help            this text\n"
    "\n"
    "Exit status: 0 done, 1 the call failed, 2 bad arguments, 3 the server died or closed\n"
    "the link (UNAVAILABLE, PEER_DIED), e.g. while watching.\n";

// Reports `status` on stderr and returns the exit status it calls for.
int Fail(const std::string& what, const absl::Status& status) {
  if (IsPeerDied(status)) {
    std::fprintf(stderr, "watch_client: %s: the server died or closed the link (%s)\n",
                 what.c_str(), status.ToString().c_str());
    return 3;
  }
  std::fprintf(stderr, "watch_client: %s: %s\n", what.c_str(), status.ToString().c_str());
  return 1;
}

int Watch(StoreStub& stub, const std::string& prefix) {
  WatchRequest request;
  request.set_prefix(prefix);
  rpc::ClientContext context;
  std::unique_ptr<rpc::ClientReader<Change>> reader = stub.Watch(request, &context);
  Change change;
  if (reader->Read(&change)) {  // the first message: where the watch begins
    std::fprintf(stderr, "watch_client: watching \"%s\" after revision %lld\n",
                 absl::Utf8SafeCEscape(prefix).c_str(), static_cast<long long>(change.revision()));
    while (reader->Read(&change)) {
      std::printf("%lld %s %s\n", static_cast<long long>(change.revision()),
                  absl::Utf8SafeCEscape(change.key()).c_str(),
                  absl::Utf8SafeCEscape(change.value()).c_str());
      std::fflush(stdout);
    }
  }
  absl::Status status = reader->Finish();
  return status.ok() ? 0 : Fail("the watch ended", status);
}

int Put(StoreStub& stub, const std::string& key, const std::string& value) {
  PutRequest request;
  request.set_key(key);
  request.set_value(value);
  absl::StatusOr<PutResponse> response = stub.Put(request);
  if (!response.ok()) return Fail("put", response.status());
  std::printf("revision %lld, queued for %d watch%s\n",
              static_cast<long long>(response->revision()), response->watchers(),
              response->watchers() == 1 ? "" : "es");
  return 0;
}

int Get(StoreStub& stub, const std::string& key) {
  GetRequest request;
  request.set_key(key);
  absl::StatusOr<GetResponse> response = stub.Get(request);
  if (!response.ok()) return Fail("get", response.status());
  std::printf("%s\n", response->value().c_str());
  return 0;
}

int PutMany(StoreStub& stub) {
  PutManySummary summary;
  rpc::ClientContext context;
  std::unique_ptr<rpc::ClientWriter<PutRequest>> writer = stub.PutMany(&summary, &context);
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    const size_t space = line.find(' ');
    PutRequest request;
    request.set_key(line.substr(0, space));
    request.set_value(space == std::string::npos ? "" : line.substr(space + 1));
    if (!writer->Write(request)) break;  // the stream ended: Finish() says why
  }
  writer->WritesDone();
  absl::Status status = writer->Finish();
  if (!status.ok()) return Fail("put-many", status);
  std::printf("%lld puts, revision %lld\n", static_cast<long long>(summary.puts()),
              static_cast<long long>(summary.revision()));
  return 0;
}

int Run(const std::string& service, const std::vector<std::string>& command) {
  absl::StatusOr<std::shared_ptr<rpc::Channel>> channel = rpc::ConnectChannel(service);
  if (!channel.ok()) {
    return Fail("cannot connect to " + service, channel.status());
  }
  StoreStub stub(*channel);
  if (command[0] == "watch") return Watch(stub, command.size() > 1 ? command[1] : "");
  if (command[0] == "put") return Put(stub, command[1], command[2]);
  if (command[0] == "get") return Get(stub, command[1]);
  return PutMany(stub);
}

// Whether `command` names a command with the arguments it takes.
bool WellFormed(const std::vector<std::string>& command) {
  if (command.empty()) return false;
  const std::string& name = command[0];
  return (name == "watch" && command.size() <= 2) || (name == "put" && command.size() == 3) ||
         (name == "get" && command.size() == 2) || (name == "put-many" && command.size() == 1);
}

}  // namespace
}  // namespace syslink::examples::watch

int main(int argc, char** argv) {
  using namespace syslink::examples::watch;
  std::string service(Store::kServiceName);
  std::vector<std::string> command;
  const std::vector<std::string> args(argv + 1, argv + argc);
  syslink::ArgReader reader(args);
  while (reader.Next()) {
    const std::string& flag = reader.flag();
    if (!reader.is_option()) {  // the command: its words are taken as they are
      command.push_back(reader.arg());
      command.insert(command.end(), reader.rest().begin(), reader.rest().end());
      break;
    }
    if (flag == "--help" || flag == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    std::optional<std::string> value;
    if (flag != "--service" || !(value = reader.Value()).has_value()) {
      std::fprintf(stderr, "watch_client: bad argument \"%s\"\n\n%s", reader.arg().c_str(), kUsage);
      return 2;
    }
    service = *value;
  }
  if (!WellFormed(command)) {
    std::fprintf(stderr, "watch_client: bad arguments\n\n%s", kUsage);
    return 2;
  }
  return Run(service, command);
}
