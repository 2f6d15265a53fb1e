#include "base/arg_reader.h"

namespace syslink {

bool ArgReader::Next() {
  if (!operands_only_ && next_ < args_.size() && args_[next_] == "--") {
    operands_only_ = true;
    ++next_;
  }
  if (next_ >= args_.size()) return false;
  current_ = next_++;
  const std::string& text = args_[current_];
  is_option_ = !operands_only_ && text.size() > 1 && text[0] == '-';
  attached_.reset();
  flag_ = text;
  if (is_option_ && text.starts_with("--")) {
    if (size_t equals = text.find('='); equals != std::string::npos) {
      flag_.resize(equals);
      attached_ = text.substr(equals + 1);
    }
  }
  return true;
}

std::optional<std::string> ArgReader::Value() {
  if (attached_.has_value()) return attached_;
  if (next_ >= args_.size()) return std::nullopt;
  return args_[next_++];
}

}  // namespace syslink
