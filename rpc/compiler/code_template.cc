#include "rpc/compiler/code_template.h"

#include <string>
#include <vector>

#include "google/protobuf/io/printer.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "rpc/compiler/cpp_layout.h"

namespace syslink::rpc::compiler {

std::string CodeTemplate::Fill(const char* text) const {
  std::string filled;
  {
    google::protobuf::io::StringOutputStream stream(&filled);
    google::protobuf::io::Printer printer(&stream, '$');
    printer.Print(vars_, text);
  }  // The printer hands back its last buffer when it is destroyed.
  return filled;
}

void CodeTemplate::SetCall(const std::string& name, int indent, const char* head,
                           const std::vector<const char*>& args, const char* tail,
                           const char* separator) {
  vars_[name] = LayOutCall(indent, Fill(head), FillAll(args), tail, separator);
}

void CodeTemplate::SetFunction(const std::string& name, int indent, const char* return_type,
                               const char* function, const std::vector<const char*>& args,
                               const char* tail) {
  vars_[name] = LayOutFunction(indent, Fill(return_type), Fill(function), FillAll(args), tail);
}

std::vector<std::string> CodeTemplate::FillAll(const std::vector<const char*>& texts) const {
  std::vector<std::string> filled;
  filled.reserve(texts.size());
  for (const char* text : texts) filled.push_back(Fill(text));
  return filled;
}

}  // namespace syslink::rpc::compiler
