// A main() for fuzz targets built without libFuzzer: feeds every file of the given
// directories (or single files) to LLVMFuzzerTestOneInput once, so a seed corpus and any
// saved crash run as an ordinary test.
//
//   message_check_corpus_test tests/fuzz/corpus/message_check [crash-1234 ...]
//   FUZZ_CORPUS_DIRS=dir1:dir2 message_check_corpus_test
//
// Prints how many inputs it replayed. Exit status: 0 after replaying at least one input,
// 1 when a path is missing or unreadable or nothing was found. A target that finds a
// violation aborts the process itself.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;

std::vector<std::string> PathsFromEnv() {
  std::vector<std::string> paths;
  const char* env = std::getenv("FUZZ_CORPUS_DIRS");
  if (env == nullptr) return paths;
  std::string list = env;
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(':', start);
    if (end == std::string::npos) end = list.size();
    if (end > start) paths.push_back(list.substr(start, end - start));
    start = end + 1;
  }
  return paths;
}

bool Replay(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "corpus_replay: cannot read %s\n", file.c_str());
    return false;
  }
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  // Like libFuzzer, hand over a heap copy of exactly the input's size, so that a read past
  // its end is caught by AddressSanitizer.
  uint8_t* copy = static_cast<uint8_t*>(std::malloc(bytes.empty() ? 1 : bytes.size()));
  std::copy(bytes.begin(), bytes.end(), copy);
  LLVMFuzzerTestOneInput(copy, bytes.size());
  std::free(copy);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> paths(argv + 1, argv + argc);
  for (std::string& p : PathsFromEnv()) paths.push_back(std::move(p));
  if (paths.empty()) {
    std::fprintf(stderr, "usage: %s DIR_OR_FILE... (or FUZZ_CORPUS_DIRS=dir1:dir2)\n", argv[0]);
    return 1;
  }

  size_t replayed = 0;
  for (const std::string& path : paths) {
    std::error_code error;
    if (fs::is_regular_file(path, error)) {
      if (!Replay(path)) return 1;
      ++replayed;
      continue;
    }
    if (!fs::is_directory(path, error)) {
      std::fprintf(stderr, "corpus_replay: %s is neither a file nor a directory\n", path.c_str());
      return 1;
    }
    std::vector<fs::path> files;
    for (const fs::directory_entry& entry : fs::directory_iterator(path, error)) {
      if (entry.is_regular_file()) files.push_back(entry.path());  // follows symlinks
    }
    std::sort(files.begin(), files.end());
    for (const fs::path& file : files) {
      if (!Replay(file)) return 1;
      ++replayed;
    }
    std::printf("corpus_replay: %zu inputs from %s\n", files.size(), path.c_str());
  }
  std::printf("corpus_replay: replayed %zu inputs\n", replayed);
  if (replayed == 0) {
    std::fprintf(stderr, "corpus_replay: no inputs found\n");
    return 1;
  }
  return 0;
}
