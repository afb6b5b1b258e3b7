#include "pg/dsn.h"

#include <libpq-fe.h>

#include <memory>
#include <string_view>

namespace pgvigil::pg {
namespace {

struct ConninfoDeleter {
  void operator()(PQconninfoOption* options) const noexcept { PQconninfoFree(options); }
};
struct ErrorDeleter {
  void operator()(char* message) const noexcept { PQfreemem(message); }
};

std::string QuoteValue(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

}  // namespace

std::string DsnError(const std::string& dsn) {
  // libpq reads up to a NUL: the rest (a password, say) would be silently ignored.
  if (dsn.find('\0') != std::string::npos) return "the connection string contains a NUL byte";
  char* raw_error = nullptr;
  std::unique_ptr<PQconninfoOption, ConninfoDeleter> options(
      PQconninfoParse(dsn.c_str(), &raw_error));
  std::unique_ptr<char, ErrorDeleter> error(raw_error);
  if (options) return "";
  // libpq quotes the offending token, which may be (part of) a password:
  // invalid percent-encoded token: "S3cr3t%zz". Only its words before the first quote are
  // kept (a quote inside the token would defeat any attempt to cut out quoted parts).
  const std::string text = error ? error.get() : "cannot parse the connection string";
  std::string message = text.substr(0, text.find('"'));
  if (message.size() < text.size()) message += "\"…\"";
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

std::string RedactDsn(const std::string& dsn) {
  if (dsn.empty()) return dsn;
  if (dsn.find('\0') != std::string::npos) return "<unparsable DSN>";
  std::unique_ptr<PQconninfoOption, ConninfoDeleter> options(PQconninfoParse(dsn.c_str(), nullptr));
  if (!options) return "<unparsable DSN>";
  bool has_password = false;
  std::string redacted;
  for (const PQconninfoOption* option = options.get(); option->keyword != nullptr; ++option) {
    if (option->val == nullptr) continue;
    std::string keyword = option->keyword;
    std::string value = option->val;
    // libpq marks every secret option (password, sslpassword, and any it adds) with '*'.
    if (keyword == "password" || keyword == "sslpassword" ||
        (option->dispchar != nullptr && std::string_view(option->dispchar) == "*")) {
      has_password = true;
      value = "REDACTED";
    }
    if (!redacted.empty()) redacted += ' ';
    redacted += keyword + "=" + QuoteValue(value);
  }
  // Keep the user's own spelling when there is nothing to hide.
  return has_password ? redacted : dsn;
}

}  // namespace pgvigil::pg
