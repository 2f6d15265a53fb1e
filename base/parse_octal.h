// ParseOctal(): permission bits given on a command line ("600", "0755").
//
//   uint32_t mode;
//   if (!ParseOctal(text, 0777, &mode)) Usage("--socket-mode wants octal bits, 0 to 777");
//
// Accepts what strtoul(text, &end, 8) reads to the end of a non-empty `text`, at most
// `max`. Thread safety: a pure function. Errors: false, `*value` untouched.

#ifndef SYSLINK_BASE_PARSE_OCTAL_H_
#define SYSLINK_BASE_PARSE_OCTAL_H_

#include <cstdint>
#include <cstdlib>
#include <string>

namespace syslink {

inline bool ParseOctal(const std::string& text, uint32_t max, uint32_t* value) {
  char* end = nullptr;
  unsigned long number = std::strtoul(text.c_str(), &end, 8);
  if (text.empty() || *end != '\0' || number > max) return false;
  *value = static_cast<uint32_t>(number);
  return true;
}

}  // namespace syslink

#endif  // SYSLINK_BASE_PARSE_OCTAL_H_
