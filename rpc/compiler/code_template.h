// CodeTemplate: the values of $var$ templates, and the ways of filling templates with them
// (protobuf's io::Printer does the substitution).
//
//   CodeTemplate t({{"method", "Get"}});
//   t.SetCall("declaration", 2, "absl::Status $method$", {"const Key& key"}, ";");
//   t.Fill("  $declaration$\n") == "  absl::Status Get(const Key& key);\n"
//
// Substituted values are never scanned for variables, so text from a .proto (comments) may
// contain '$'. Using an unset variable is a bug of the generator (io::Printer logs it).
//
// Thread safety: a value type; const methods may run concurrently.

#ifndef SYSLINK_RPC_COMPILER_CODE_TEMPLATE_H_
#define SYSLINK_RPC_COMPILER_CODE_TEMPLATE_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace syslink::rpc::compiler {

class CodeTemplate {
 public:
  using Variables = std::map<std::string, std::string>;

  explicit CodeTemplate(Variables vars) : vars_(std::move(vars)) {}

  void Set(const std::string& name, std::string value) { vars_[name] = std::move(value); }
  const Variables& vars() const { return vars_; }

  // `text` with the variables substituted.
  std::string Fill(const char* text) const;

  // Sets $name$ to the call or declaration `head(args...)tail`, each part filled first,
  // wrapped by LayOutCall() for text that starts at column `indent`.
  void SetCall(const std::string& name, int indent, const char* head,
               const std::vector<const char*>& args, const char* tail, const char* separator = ",");

  // Sets $name$ to the function declaration or definition `return_type function(args...)tail`,
  // each part filled first, wrapped by LayOutFunction().
  void SetFunction(const std::string& name, int indent, const char* return_type,
                   const char* function, const std::vector<const char*>& args, const char* tail);

 private:
  std::vector<std::string> FillAll(const std::vector<const char*>& texts) const;

  Variables vars_;
};

}  // namespace syslink::rpc::compiler

#endif  // SYSLINK_RPC_COMPILER_CODE_TEMPLATE_H_
