#include "examples/fs/exercise/exerciser.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "examples/fs/fs_status.h"

namespace syslink::examples::fs {
namespace {

constexpr char kSubdirectory[] = "sub";
constexpr size_t kLogLength = 12;  // operations shown before a failure

// One run: the filesystem under test, the model, and the random choices.
class Run {
 public:
  Run(FileOps& ops, const ExerciseOptions& options) : ops_(ops), options_(options) {
    rng_.seed(options.seed);
    for (const char* dir : {"", "sub/"}) {
      for (int i = 0; i < options.names_per_directory; ++i) {
        paths_.push_back(absl::StrCat(dir, "f", i));
      }
    }
  }

  absl::Status Go() {
    if (absl::Status s = Start(); !s.ok()) return s;
    for (step_ = 1; step_ <= options_.operations; ++step_) {
      if (absl::Status s = Step(); !s.ok()) return s;
    }
    return Finish();
  }

 private:
  using Model = std::map<std::string, std::string>;

  absl::Status Start() {
    std::vector<std::string> names;
    if (int e = ops_.List("", &names); e != 0) return Failed("list the root", 0, e);
    if (!names.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat(ops_.Name(), ": the root is not empty: ", absl::StrJoin(names, ", ")));
    }
    Log("mkdir sub");
    return Expect(ops_.MakeDirectory(kSubdirectory), 0);
  }

  absl::Status Step() {
    const std::string& path = Pick(paths_);
    switch (Uniform(0, 99) / 10) {
      case 0:
        return Create(path);
      case 1:
      case 2:
        return Write(path);
      case 3:
      case 4:
        return Read(path);
      case 5:
        return Truncate(path);
      case 6:
        return Rename(path, Pick(paths_));
      case 7:
        return Unlink(path);
      case 8:
        return Size(path);
      default:
        return List(Uniform(0, 1) == 0 ? "" : kSubdirectory);
    }
  }

  absl::Status Create(const std::string& path) {
    Log(absl::StrCat("create ", path));
    bool exists = model_.count(path) != 0;
    absl::Status s = Expect(ops_.Create(path), exists ? EEXIST : 0);
    if (!exists) model_[path];
    return s;
  }

  absl::Status Write(const std::string& path) {
    int64_t offset = Uniform(0, options_.max_offset);
    size_t length = Uniform(1, options_.max_length);
    std::string data = RandomBytes(length);
    Log(absl::StrCat("write ", path, " at ", offset, ", ", length, " bytes"));
    auto it = model_.find(path);
    if (it == model_.end()) {
      return Expect(ops_.Write(path, offset, std::as_bytes(std::span(data))), ENOENT);
    }
    std::string& contents = it->second;
    if (contents.size() < offset + length) contents.resize(offset + length, '\0');
    contents.replace(offset, length, data);
    return Expect(ops_.Write(path, offset, std::as_bytes(std::span(data))), 0);
  }

  absl::Status Read(const std::string& path) {
    int64_t offset = Uniform(0, options_.max_offset + options_.max_length);
    size_t length = Uniform(1, options_.max_length);
    Log(absl::StrCat("read ", path, " at ", offset, ", ", length, " bytes"));
    std::string got;
    auto it = model_.find(path);
    if (absl::Status s =
            Expect(ops_.Read(path, offset, length, &got), it == model_.end() ? ENOENT : 0);
        !s.ok() || it == model_.end()) {
      return s;
    }
    const std::string& contents = it->second;
    std::string want = offset >= static_cast<int64_t>(contents.size())
                           ? std::string()
                           : contents.substr(offset, length);
    return CompareBytes(path, offset, want, got);
  }

  absl::Status Truncate(const std::string& path) {
    int64_t size = Uniform(0, options_.max_offset + options_.max_length);
    Log(absl::StrCat("truncate ", path, " to ", size));
    auto it = model_.find(path);
    if (it == model_.end()) return Expect(ops_.Truncate(path, size), ENOENT);
    it->second.resize(size, '\0');
    return Expect(ops_.Truncate(path, size), 0);
  }

  absl::Status Rename(const std::string& from, const std::string& to) {
    Log(absl::StrCat("rename ", from, " to ", to));
    auto it = model_.find(from);
    if (it == model_.end()) return Expect(ops_.Rename(from, to), ENOENT);
    if (from != to) {
      std::string contents = std::move(it->second);
      model_.erase(it);
      model_[to] = std::move(contents);
    }
    return Expect(ops_.Rename(from, to), 0);
  }

  absl::Status Unlink(const std::string& path) {
    Log(absl::StrCat("unlink ", path));
    bool exists = model_.erase(path) != 0;
    return Expect(ops_.Unlink(path), exists ? 0 : ENOENT);
  }

  absl::Status Size(const std::string& path) {
    Log(absl::StrCat("stat ", path));
    int64_t size = -1;
    auto it = model_.find(path);
    if (absl::Status s = Expect(ops_.Size(path, &size), it == model_.end() ? ENOENT : 0);
        !s.ok() || it == model_.end()) {
      return s;
    }
    if (size == static_cast<int64_t>(it->second.size())) return absl::OkStatus();
    return Mismatch(absl::StrCat(path, " has size ", size, ", the model ", it->second.size()));
  }

  absl::Status List(const std::string& dir) {
    Log(absl::StrCat("list '", dir, "'"));
    std::vector<std::string> got;
    if (absl::Status s = Expect(ops_.List(dir, &got), 0); !s.ok()) return s;
    std::vector<std::string> want;
    std::string prefix = dir.empty() ? "" : dir + "/";
    if (dir.empty()) want.push_back(kSubdirectory);
    for (const auto& [path, contents] : model_) {
      if (path.compare(0, prefix.size(), prefix) != 0) continue;
      std::string rest = path.substr(prefix.size());
      if (rest.find('/') == std::string::npos) want.push_back(rest);
    }
    std::sort(got.begin(), got.end());
    std::sort(want.begin(), want.end());
    if (got == want) return absl::OkStatus();
    return Mismatch(absl::StrCat("'", dir, "' lists [", absl::StrJoin(got, ", "), "], the model [",
                                 absl::StrJoin(want, ", "), "]"));
  }

  // Every file read whole, every directory listed.
  absl::Status Finish() {
    Log("final check");
    for (const std::string& path : paths_) {
      auto it = model_.find(path);
      std::string got;
      size_t whole = options_.max_offset + options_.max_length + 1;
      if (absl::Status s = Expect(ops_.Read(path, 0, whole, &got), it == model_.end() ? ENOENT : 0);
          !s.ok()) {
        return s;
      }
      if (it == model_.end()) continue;
      if (absl::Status s = CompareBytes(path, 0, it->second, got); !s.ok()) return s;
    }
    if (absl::Status s = List(""); !s.ok()) return s;
    return List(kSubdirectory);
  }

  absl::Status CompareBytes(const std::string& path, int64_t offset, const std::string& want,
                            const std::string& got) {
    if (got == want) return absl::OkStatus();
    size_t common = std::min(got.size(), want.size());
    size_t first =
        std::mismatch(got.begin(), got.begin() + common, want.begin()).first - got.begin();
    return Mismatch(absl::StrCat(
        "read of ", path, " at ", offset, " gave ", got.size(), " bytes, the model ", want.size(),
        first < common ? absl::StrCat("; they differ from byte ", offset + first)
                       : std::string("; the shorter is a prefix")));
  }

  absl::Status Expect(int got, int want) {
    if (got == want) return absl::OkStatus();
    return Failed(log_.back(), want, got);
  }

  absl::Status Failed(const std::string& what, int want, int got) {
    return Mismatch(absl::StrCat(what, " gave ", got == 0 ? "success" : ErrnoName(got),
                                 ", the model expects ", want == 0 ? "success" : ErrnoName(want)));
  }

  absl::Status Mismatch(const std::string& what) {
    return absl::InternalError(absl::StrCat(ops_.Name(), ", seed ", options_.seed, ", operation ",
                                            step_, ": ", what, "\n  operations up to it:\n    ",
                                            absl::StrJoin(log_, "\n    ")));
  }

  void Log(std::string line) {
    if (log_.size() == kLogLength) log_.pop_front();
    log_.push_back(absl::StrCat(step_, ": ", line));
  }

  std::string RandomBytes(size_t length) {
    std::string bytes(length, '\0');
    for (size_t i = 0; i < length; i += sizeof(uint64_t)) {
      uint64_t word = rng_();
      std::memcpy(bytes.data() + i, &word, std::min(sizeof word, length - i));
    }
    return bytes;
  }
  int64_t Uniform(int64_t low, int64_t high) {
    return std::uniform_int_distribution<int64_t>(low, high)(rng_);
  }
  const std::string& Pick(const std::vector<std::string>& from) {
    return from[Uniform(0, static_cast<int64_t>(from.size()) - 1)];
  }

  FileOps& ops_;
  const ExerciseOptions& options_;
  std::mt19937_64 rng_;
  std::vector<std::string> paths_;
  Model model_;
  std::deque<std::string> log_;
  int step_ = 0;
};

}  // namespace

absl::Status Exercise(FileOps& ops, const ExerciseOptions& options) {
  return Run(ops, options).Go();
}

}  // namespace syslink::examples::fs
