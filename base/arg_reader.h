// ArgReader: a command line read one argument at a time, so that every syslink binary
// takes "--flag=VALUE" and "--flag VALUE" alike and says the same of a missing value.
//
//   ArgReader reader(args);
//   while (reader.Next()) {
//     if (!reader.is_option()) {
//       operands.push_back(reader.arg());
//     } else if (reader.flag() == "--name") {
//       std::optional<std::string> name = reader.Value();
//       if (!name) return Usage("--name needs a value");
//     } else if (reader.flag() == "--verbose") {
//       if (reader.has_attached_value()) return Usage("--verbose takes no value");
//     }
//   }
//
// An argument that starts with "--" and holds a '=' splits at its first '=': flag() is the
// part before it and Value() the rest ("--expose=kv.Store=kv" reads as "--expose" with
// "kv.Store=kv"). Any other argument is its own flag(), and Value() takes the next argument
// whole, even one that starts with '-' ("--text -1"). Arguments that do not start with
// '-', "-" alone, and everything after a lone "--" (which is skipped) are operands.
//
// Thread safety: one thread at a time. Ownership: the reader refers to `args`, which must
// outlive it. Errors: none of its own; Value() says when a value is missing.

#ifndef SYSLINK_BASE_ARG_READER_H_
#define SYSLINK_BASE_ARG_READER_H_

#include <cstddef>
#include <optional>
#include <span>
#include <string>

namespace syslink {

class ArgReader {
 public:
  explicit ArgReader(std::span<const std::string> args) : args_(args) {}

  // Moves to the next argument; false once every argument has been read.
  bool Next();

  // The current argument as given.
  const std::string& arg() const { return args_[current_]; }
  // Its option name: "--name" of "--name=VALUE", else the whole argument.
  const std::string& flag() const { return flag_; }
  // Whether it is an option rather than an operand.
  bool is_option() const { return is_option_; }
  // Whether its value came attached ("--name=VALUE"): a switch given one is misused.
  bool has_attached_value() const { return attached_.has_value(); }

  // The arguments after the current one that are not read yet, as given: for a command
  // line whose first operand starts a command with arguments of its own.
  std::span<const std::string> rest() const { return args_.subspan(next_); }

  // The current option's value: what follows its '=', else the next argument, which is
  // then read and skipped by Next(); nullopt if there is neither.
  std::optional<std::string> Value();

 private:
  std::span<const std::string> args_;
  size_t next_ = 0;             // index of the argument Next() moves to
  size_t current_ = 0;          // index of the current argument
  bool operands_only_ = false;  // a lone "--" was read
  bool is_option_ = false;
  std::string flag_;
  std::optional<std::string> attached_;
};

}  // namespace syslink

#endif  // SYSLINK_BASE_ARG_READER_H_
