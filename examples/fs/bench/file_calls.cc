#include "examples/fs/bench/file_calls.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"

namespace syslink::examples::fs::bench {

const std::vector<std::byte>& Chunk() {
  static const std::vector<std::byte>* chunk = [] {
    auto* bytes = new std::vector<std::byte>(kChunk);
    for (size_t i = 0; i < kChunk; ++i) (*bytes)[i] = std::byte(i * 131 % 251 + 1);
    return bytes;
  }();
  return *chunk;
}

void BigFile(benchmark::internal::Benchmark* benchmark) {
  benchmark->Unit(benchmark::kMillisecond)->Iterations(kBigIterations)->UseRealTime();
}

std::string TmpfsPath(const char* name) {
  return absl::StrCat("/dev/shm/fs-benchmark-", getpid(), "-", name);
}

void WriteBigFile(benchmark::State& state, const std::string& path) {
  for (auto _ : state) {
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Fail(state, absl::StrCat("open ", path, ": ", strerror(errno)));
    for (size_t i = 0; i < kChunks; ++i) {
      if (write(fd, Chunk().data(), kChunk) != static_cast<ssize_t>(kChunk)) {
        close(fd);
        return Fail(state, absl::StrCat("write ", path, ": ", strerror(errno)));
      }
    }
    if (close(fd) != 0) return Fail(state, absl::StrCat("close ", path, ": ", strerror(errno)));
  }
  state.SetBytesProcessed(state.iterations() * kFileSize);
}

void ReadBigFile(benchmark::State& state, const std::string& path, Cache cache) {
  void* memory = nullptr;
  if (posix_memalign(&memory, 4096, kChunk) != 0) return Fail(state, "posix_memalign");
  std::unique_ptr<void, decltype(&free)> buffer(memory, &free);
  const int flags = O_RDONLY | O_CLOEXEC | (cache == Cache::kBypass ? O_DIRECT : 0);
  for (auto _ : state) {
    int fd = open(path.c_str(), flags);
    if (fd < 0) return Fail(state, absl::StrCat("open ", path, ": ", strerror(errno)));
    if (cache == Cache::kDrop) {
      state.PauseTiming();
      posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
      state.ResumeTiming();
    }
    size_t total = 0;
    for (ssize_t n; (n = read(fd, buffer.get(), kChunk)) > 0;) total += n;
    close(fd);
    if (total != kFileSize) return Fail(state, absl::StrCat(path, ": read ", total, " bytes"));
    benchmark::DoNotOptimize(buffer.get());
  }
  state.SetBytesProcessed(state.iterations() * kFileSize);
}

void SmallFiles(benchmark::State& state, const std::string& path) {
  struct stat st;
  for (auto _ : state) {
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 || close(fd) != 0 || stat(path.c_str(), &st) != 0 || unlink(path.c_str()) != 0) {
      return Fail(state, absl::StrCat("create, stat or unlink of ", path, ": ", strerror(errno)));
    }
  }
  state.SetItemsProcessed(state.iterations());
}

}  // namespace syslink::examples::fs::bench
