// libFuzzer target for RingConsumer reading a ring whose producer is hostile: the input is a
// script of what the peer writes into the ring (well-formed records, headers, raw bytes in
// the record space or the control block) and of what the consumer does between the writes.
//
//   tools/fuzz --target ring_records 60                # libFuzzer, outside Bazel
//   bazel test //tests/fuzz:ring_records_corpus_test   # replays the seed corpus
//
// Input layout: byte 0 sets up the ring, the rest is a sequence of operations, each an opcode
// byte (taken modulo kOpCount) and its operands, little-endian; operands cut short by the end
// of the input read as 0.
//
//   byte 0     bits 0-1: record space of 4096, 1024, 256 or 64 bytes; bits 2-3: wait mode
//              (0 and 1 spin, 2 hybrid, 3 blocking)
//   0 publish  u8 count, u16 size: count % 16 + 1 well-formed records of size % (C - 15)
//              payload bytes (at most C - 16), written as a producer would at the script's
//              own producer index (padding first when a record does not fit before the end,
//              the header after the last one marked not published); room is never checked
//   1 header   s8 delta, u8 stamp, u32 payload_size: a header at the consumer's read index
//              plus 8 * delta, stamped (stamp % 4) for that index, for the next lap, for the
//              previous lap, or as not published
//   2 records  u16 offset, u8 n, n bytes: raw bytes into the record space, wrapping at its end
//   3 control  u16 offset, u8 n, n bytes: raw bytes into the control block, up to its end
//   4 next     u8 n: n % 8 + 1 calls of TryNext(), or of TryRead() when bit 7 is set
//   5 read     Read() with a deadline already past
//   6 release  Release()
//   7 ready    Ready(), then PrepareExternalWait() and EndExternalWait()
//   8 attach   u8 how, u32 value: a new consumer attaches to the ring as it is; first, when
//              bit 0 of `how` is set, `tail` is set to value (times 8 with bit 1, negated
//              with bit 2, so near 2^64)
//
// Each result is compared with what the format (docs/ring.md) says the consumer must do,
// recomputed here from the bytes in the ring: which record comes next and where its payload
// lies, or that nothing is published, or that the ring is broken (DATA_LOSS naming the
// offset and the reason). Any of these aborts: a payload outside the record space, a record
// the format does not allow, a valid record refused, a broken ring that hands out a record
// or changes its status, an Attach() that accepts a control block it should refuse (or the
// reverse), a Release() that stores the wrong tail. Under AddressSanitizer the ring is a
// heap block of exactly its size, every payload byte handed out is read, and the producer's
// lines of the control block are poisoned while the consumer runs, so reading them traps
// too. libFuzzer's -timeout (tools/fuzz sets 10 s) catches a consumer that hangs.

#include <sanitizer/asan_interface.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <optional>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "ring/ring_consumer.h"
#include "ring/ring_control.h"
#include "ring/ring_format.h"
#include "ring/wait_mode.h"

namespace {

using syslink::ring::kRecordHeaderSize;
using syslink::ring::kRecordSpaceOffset;
using syslink::ring::Record;
using syslink::ring::RingConsumer;
using syslink::ring::RingControl;
using syslink::ring::WaitMode;
using syslink::ring::WaitOptions;

enum Op : uint8_t {
  kPublish,
  kHeader,
  kRecordBytes,
  kControlBytes,
  kNext,
  kRead,
  kRelease,
  kReady,
  kAttach,
  kOpCount,
};

constexpr uint32_t kPadding = 0xffffffffu;

// The operands of the script; past the end of the input every byte reads as 0.
class Script {
 public:
  Script(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool done() const { return at_ >= size_; }
  uint8_t U8() { return at_ < size_ ? data_[at_++] : 0; }
  uint16_t U16() {
    const uint16_t low = U8();  // one statement each: the order of the reads is fixed
    return static_cast<uint16_t>(low | U8() << 8);
  }
  uint32_t U32() {
    const uint32_t low = U16();
    return low | static_cast<uint32_t>(U16()) << 16;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t at_ = 0;
};

// The ring in a heap block of exactly its footprint, and what the format says the consumer
// has done so far.
struct Fixture {
  size_t capacity = 0;
  WaitMode mode = WaitMode::kSpin;
  std::byte* memory = nullptr;
  std::byte* records = nullptr;
  std::optional<RingConsumer> consumer;

  uint64_t read = 0;      // the consumer's read index, by the format
  uint64_t released = 0;  // what its last Release() stored (or Attach() found) in tail
  uint64_t put = 0;       // the script's producer index, for kPublish
  uint32_t sequence = 0;  // payload pattern of the next published record
  absl::Status broken;    // the consumer's first DATA_LOSS

  int op_number = 0;
  const char* op_name = "setup";

  RingControl* control() const { return std::launder(reinterpret_cast<RingControl*>(memory)); }
  uint64_t mask() const { return capacity - 1; }
};

[[noreturn]] void Fail(const Fixture& f, const std::string& what) {
  std::fprintf(stderr,
               "ring_records_fuzzer: %s\n  operation %d (%s), capacity %zu, wait mode %u, "
               "read %llu, released %llu, put %llu\n  consumer status: %s\n",
               what.c_str(), f.op_number, f.op_name, f.capacity, static_cast<unsigned>(f.mode),
               static_cast<unsigned long long>(f.read), static_cast<unsigned long long>(f.released),
               static_cast<unsigned long long>(f.put),
               f.consumer ? f.consumer->status().ToString().c_str() : "(no consumer)");
  std::abort();
}

// The producer's lines (the constant line, read only by Attach(), and `head`, never read
// by the consumer) are poisoned whenever the consumer runs.
void GuardProducerLines(const Fixture& f) {
  ASAN_POISON_MEMORY_REGION(f.memory, offsetof(RingControl, tail));
}
void UnguardProducerLines(const Fixture& f) {
  ASAN_UNPOISON_MEMORY_REGION(f.memory, offsetof(RingControl, tail));
}

uint64_t WordAt(const Fixture& f, uint64_t index) {
  uint64_t word;
  std::memcpy(&word, f.records + (index & f.mask()), sizeof(word));
  return word;
}
void PutWord(const Fixture& f, uint64_t index, uint64_t word) {
  std::memcpy(f.records + (index & f.mask()), &word, sizeof(word));
}
// The header word of `payload_size` with the stamp a record published at `index` carries,
// written out from docs/ring.md rather than taken from ring_format.h.
uint64_t Stamped(uint32_t payload_size, uint64_t index) {
  return payload_size | uint64_t{~static_cast<uint32_t>(index / 8)} << 32;
}

// What the consumer's next TryNext() must do.
struct Expected {
  enum Kind { kRecord, kNothing, kBroken } kind = kNothing;
  const std::byte* data = nullptr;
  size_t size = 0;
  std::string reason;  // for kBroken, found by this call: what the message must say
};

// Follows the format from `f.read`, stepping over padding as the consumer does, and
// updates the model as a successful TryNext() would.
Expected ExpectNext(Fixture& f) {
  while (true) {
    if (!f.broken.ok()) return {Expected::kBroken};
    const uint64_t word = WordAt(f, f.read);
    if (word != Stamped(static_cast<uint32_t>(word), f.read)) return {Expected::kNothing};
    const uint32_t payload = static_cast<uint32_t>(word);
    const uint64_t position = f.read & f.mask();
    const uint64_t left = f.capacity - position;
    const bool padding = payload == kPadding;
    const uint64_t size = padding ? left : (uint64_t{payload} + 8 + 7) / 8 * 8;
    if (size > left) {
      return {Expected::kBroken, nullptr, 0,
              absl::StrFormat("offset %d has a payload of %d bytes, past the end of the record "
                              "space",
                              position, payload)};
    }
    // The record, and the header the producer marks after it, within a lap of `released`.
    if (f.read - f.released + size + 8 > f.capacity) {
      return {Expected::kBroken, nullptr, 0,
              absl::StrFormat("%s at offset %d (%d bytes) runs into space the consumer has not "
                              "released",
                              padding ? "padding" : "record", position, size)};
    }
    f.read += size;
    if (!padding) return {Expected::kRecord, f.records + position + 8, payload};
  }
}

// A payload the consumer handed out: inside the record space, after an aligned header.
void CheckPayload(const Fixture& f, std::span<const std::byte> payload) {
  const std::byte* begin = f.records;
  const std::byte* end = f.records + f.capacity;
  if (payload.data() < begin + kRecordHeaderSize || payload.data() > end ||
      payload.size() > static_cast<size_t>(end - payload.data())) {
    Fail(f, absl::StrFormat("payload [%+d, +%d) lies outside the record space of %d bytes",
                            payload.data() - begin, payload.size(), f.capacity));
  }
  if ((payload.data() - begin) % 8 != 0) {
    Fail(f, absl::StrFormat("payload at %d is not 8-byte aligned", payload.data() - begin));
  }
  volatile unsigned sum = 0;  // every byte read, for AddressSanitizer
  for (std::byte b : payload) sum = sum + static_cast<unsigned>(b);
}

// A status the consumer reported: the ring must be broken, by this call for the reason the
// model found, or earlier with exactly the status it reported then.
void CheckBroken(Fixture& f, const Expected& expected, const absl::Status& status,
                 const char* call) {
  if (status.code() != absl::StatusCode::kDataLoss) {
    Fail(f, absl::StrFormat("%s returned %s; a broken ring reports DATA_LOSS", call,
                            status.ToString()));
  }
  if (f.broken.ok()) {  // broken by this call
    if (status.message().find(expected.reason) == std::string::npos) {
      Fail(f, absl::StrFormat("%s broke the ring with \"%s\"; expected it to say \"%s\"", call,
                              status.message(), expected.reason));
    }
    f.broken = status;
  } else if (status != f.broken) {
    Fail(f, absl::StrFormat("%s returned %s, but the ring broke with %s", call, status.ToString(),
                            f.broken.ToString()));
  }
  if (f.consumer->status() != f.broken) Fail(f, "status() differs from the status returned");
}

void CheckRecord(Fixture& f, const Expected& expected, const Record& record, const char* call) {
  CheckPayload(f, record.payload);
  if (expected.kind != Expected::kRecord) {
    Fail(f, absl::StrFormat(
                "%s handed out a record at %d of %d bytes where the format has %s", call,
                record.payload.data() - f.records, record.payload.size(),
                expected.kind == Expected::kNothing ? "nothing published" : "a broken ring"));
  }
  if (record.payload.data() != expected.data || record.payload.size() != expected.size) {
    Fail(f, absl::StrFormat("%s handed out %d bytes at %d; the format says %d bytes at %d", call,
                            record.payload.size(), record.payload.data() - f.records, expected.size,
                            expected.data - f.records));
  }
}

void CheckNothing(Fixture& f, const Expected& expected, const char* call) {
  if (expected.kind == Expected::kRecord) {
    Fail(f, absl::StrFormat("%s found nothing; the format has a record of %d bytes at %d", call,
                            expected.size, expected.data - f.records));
  }
  if (expected.kind == Expected::kBroken) {
    Fail(f, absl::StrFormat("%s found nothing and no error; expected DATA_LOSS: %s", call,
                            f.broken.ok() ? expected.reason : f.broken.ToString()));
  }
  if (!f.consumer->status().ok()) Fail(f, "status() is not OK after an ordinary empty read");
}

void Next(Fixture& f, bool wrapped) {
  Expected expected = ExpectNext(f);
  if (wrapped) {
    absl::StatusOr<std::optional<Record>> record = f.consumer->TryRead();
    if (!record.ok()) {
      if (expected.kind != Expected::kBroken) {
        Fail(f, "TryRead() failed with " + record.status().ToString());
      }
      CheckBroken(f, expected, record.status(), "TryRead()");
    } else if (record->has_value()) {
      CheckRecord(f, expected, **record, "TryRead()");
    } else {
      CheckNothing(f, expected, "TryRead()");
    }
    return;
  }
  Record record;
  if (f.consumer->TryNext(record)) {
    CheckRecord(f, expected, record, "TryNext()");
  } else if (!f.consumer->status().ok()) {
    if (expected.kind != Expected::kBroken) {
      Fail(f, "TryNext() broke the ring with " + f.consumer->status().ToString());
    }
    CheckBroken(f, expected, f.consumer->status(), "TryNext()");
  } else {
    CheckNothing(f, expected, "TryNext()");
  }
}

void Read(Fixture& f) {
  Expected expected = ExpectNext(f);
  absl::StatusOr<Record> record = f.consumer->Read(absl::InfinitePast());
  if (record.ok()) {
    CheckRecord(f, expected, *record, "Read()");
  } else if (record.status().code() == absl::StatusCode::kDeadlineExceeded) {
    CheckNothing(f, expected, "Read()");
  } else {
    if (expected.kind != Expected::kBroken) {
      Fail(f, "Read() failed with " + record.status().ToString());
    }
    CheckBroken(f, expected, record.status(), "Read()");
  }
}

void Release(Fixture& f) {
  const bool stores = f.read != f.released;
  f.consumer->Release();
  if (!stores) return;
  f.released = f.read;
  const uint64_t tail = f.control()->tail.load(std::memory_order_relaxed);
  if (tail != f.read) {
    Fail(f,
         absl::StrFormat("Release() stored tail %d; the consumer has read up to %d", tail, f.read));
  }
}

void Ready(Fixture& f) {
  const uint64_t word = WordAt(f, f.read);
  const bool published = word == Stamped(static_cast<uint32_t>(word), f.read);
  const bool ready = !f.broken.ok() || published;
  if (f.consumer->Ready() != ready) {
    Fail(f, absl::StrFormat("Ready() says %s; the next header is %s and the ring is %s",
                            ready ? "false" : "true", published ? "published" : "not published",
                            f.broken.ok() ? "whole" : "broken"));
  }
  if (f.consumer->PrepareExternalWait() == ready) {
    Fail(f, ready ? "PrepareExternalWait() announced a wait with a record (or an error) there"
                  : "PrepareExternalWait() refused to wait with nothing there");
  }
  const uint32_t announced = f.control()->consumer_waiting.load(std::memory_order_relaxed);
  if (announced != (ready ? syslink::ring::kNotWaiting : syslink::ring::kWaitingElsewhere)) {
    Fail(f, absl::StrFormat("PrepareExternalWait() left consumer_waiting at %d", announced));
  }
  f.consumer->EndExternalWait();
}

// The script's producer: `count` records of `size` payload bytes at `put`.
void Publish(Fixture& f, uint8_t count, uint16_t size) {
  const uint32_t payload = size % (f.capacity - 16 + 1);  // at most C - 16 bytes
  const uint64_t bytes = (payload + 8 + 7) / 8 * 8;
  for (int i = 0; i < count % 16 + 1; ++i) {
    const uint64_t left = f.capacity - (f.put & f.mask());
    if (bytes > left) {
      PutWord(f, f.put, Stamped(kPadding, f.put));
      f.put += left;
    }
    std::byte* out = f.records + (f.put & f.mask()) + 8;
    for (uint32_t j = 0; j < payload; ++j) out[j] = static_cast<std::byte>(f.sequence + j);
    ++f.sequence;
    PutWord(f, f.put + bytes, ~Stamped(0, f.put + bytes));  // not published
    PutWord(f, f.put, Stamped(payload, f.put));
    f.put += bytes;
  }
}

void Header(Fixture& f, int8_t delta, uint8_t stamp, uint32_t payload_size) {
  const uint64_t index = f.read + 8 * static_cast<int64_t>(delta);
  switch (stamp % 4) {
    case 0:
      PutWord(f, index, Stamped(payload_size, index));
      break;
    case 1:
      PutWord(f, index, Stamped(payload_size, index + f.capacity));
      break;
    case 2:
      PutWord(f, index, Stamped(payload_size, index - f.capacity));
      break;
    case 3:
      PutWord(f, index, Stamped(payload_size, index) ^ (uint64_t{0xffffffff} << 32));
      break;
  }
}

void RecordBytes(Fixture& f, Script& script) {
  uint64_t offset = script.U16() & f.mask();
  for (int n = script.U8(); n > 0; --n) {
    f.records[offset] = static_cast<std::byte>(script.U8());
    offset = (offset + 1) & f.mask();
  }
}

void ControlBytes(Fixture& f, Script& script) {
  size_t offset = script.U16() % kRecordSpaceOffset;
  UnguardProducerLines(f);
  for (int n = script.U8(); n > 0; --n) {
    const uint8_t byte = script.U8();
    if (offset < kRecordSpaceOffset) f.memory[offset++] = static_cast<std::byte>(byte);
  }
  GuardProducerLines(f);
}

// A consumer attaches to the ring as the peer left it: it must accept exactly a control
// block of this ring's shape with an aligned tail, and start from that tail.
void Attach(Fixture& f, uint8_t how, uint32_t value) {
  if (how & 1) {
    uint64_t tail = value;
    if (how & 2) tail *= 8;
    if (how & 4) tail = -tail;
    f.control()->tail.store(tail, std::memory_order_relaxed);
  }
  UnguardProducerLines(f);
  const RingControl& c = *f.control();
  const uint64_t tail = c.tail.load(std::memory_order_relaxed);
  const std::string shape =
      absl::StrFormat("magic 0x%08x, version %d, capacity %d, wait mode %d, tail %d", c.magic,
                      c.version, c.capacity, c.wait_mode, tail);
  const bool valid = c.magic == syslink::ring::kRingMagic &&
                     c.version == syslink::ring::kRingVersion && c.capacity == f.capacity &&
                     c.wait_mode == static_cast<uint32_t>(f.mode) && tail % 8 == 0;
  absl::StatusOr<RingConsumer> consumer = RingConsumer::Attach(
      {f.memory, syslink::ring::RingFootprint(f.capacity)}, WaitOptions{.mode = f.mode});
  GuardProducerLines(f);
  if (consumer.ok() != valid) {
    Fail(f, absl::StrFormat("Attach() %s a control block with %s: %s",
                            consumer.ok() ? "accepted" : "refused", shape,
                            consumer.status().ToString()));
  }
  if (!consumer.ok()) {
    if (consumer.status().code() != absl::StatusCode::kFailedPrecondition ||
        consumer.status().message().empty()) {
      Fail(f, "Attach() refused with " + consumer.status().ToString());
    }
    return;  // the consumer attached before keeps going
  }
  f.consumer.emplace(*std::move(consumer));
  f.read = f.released = f.put = tail;
  f.broken = absl::OkStatus();
}

void Run(Fixture& f, Script& script) {
  while (!script.done()) {
    ++f.op_number;
    switch (script.U8() % kOpCount) {
      case kPublish: {
        f.op_name = "publish";
        uint8_t count = script.U8();
        Publish(f, count, script.U16());
        break;
      }
      case kHeader: {
        f.op_name = "header";
        int8_t delta = static_cast<int8_t>(script.U8());
        uint8_t stamp = script.U8();
        Header(f, delta, stamp, script.U32());
        break;
      }
      case kRecordBytes:
        f.op_name = "record bytes";
        RecordBytes(f, script);
        break;
      case kControlBytes:
        f.op_name = "control bytes";
        ControlBytes(f, script);
        break;
      case kNext: {
        f.op_name = "next";
        uint8_t n = script.U8();
        for (int i = 0; i < n % 8 + 1; ++i) Next(f, n & 0x80);
        break;
      }
      case kRead:
        f.op_name = "read";
        Read(f);
        break;
      case kRelease:
        f.op_name = "release";
        Release(f);
        break;
      case kReady:
        f.op_name = "ready";
        Ready(f);
        break;
      case kAttach: {
        f.op_name = "attach";
        uint8_t how = script.U8();
        Attach(f, how, script.U32());
        break;
      }
    }
  }
}

constexpr size_t kCapacities[] = {4096, 1024, 256, 64};
constexpr WaitMode kModes[] = {WaitMode::kSpin, WaitMode::kSpin, WaitMode::kHybrid,
                               WaitMode::kBlocking};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Script script(data, size);
  const uint8_t setup = script.U8();
  Fixture f;
  f.capacity = kCapacities[setup & 3];
  f.mode = kModes[(setup >> 2) & 3];
  const size_t footprint = syslink::ring::RingFootprint(f.capacity);
  const std::align_val_t alignment{syslink::ring::kCacheLineSize};
  f.memory = static_cast<std::byte*>(::operator new(footprint, alignment));
  f.records = f.memory + kRecordSpaceOffset;
  std::memset(f.memory, 0, footprint);
  if (!syslink::ring::InitializeRing({f.memory, footprint}, f.mode).ok()) {
    Fail(f, "InitializeRing() failed");
  }
  absl::StatusOr<RingConsumer> consumer =
      RingConsumer::Attach({f.memory, footprint}, WaitOptions{.mode = f.mode});
  if (!consumer.ok()) Fail(f, "Attach() to a new ring failed: " + consumer.status().ToString());
  f.consumer.emplace(*std::move(consumer));
  GuardProducerLines(f);

  Run(f, script);

  UnguardProducerLines(f);
  f.consumer.reset();
  ::operator delete(f.memory, alignment);
  return 0;
}
