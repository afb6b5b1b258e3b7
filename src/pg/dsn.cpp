#include "pg/dsn.h"

#include <libpq-fe.h>

#include <memory>

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
  char* raw_error = nullptr;
  std::unique_ptr<PQconninfoOption, ConninfoDeleter> options(
      PQconninfoParse(dsn.c_str(), &raw_error));
  std::unique_ptr<char, ErrorDeleter> error(raw_error);
  if (options) return "";
  std::string message = error ? error.get() : "cannot parse the connection string";
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

std::string RedactDsn(const std::string& dsn) {
  if (dsn.empty()) return dsn;
  std::unique_ptr<PQconninfoOption, ConninfoDeleter> options(PQconninfoParse(dsn.c_str(), nullptr));
  if (!options) return "<unparsable DSN>";
  bool has_password = false;
  std::string redacted;
  for (const PQconninfoOption* option = options.get(); option->keyword != nullptr; ++option) {
    if (option->val == nullptr) continue;
    std::string keyword = option->keyword;
    std::string value = option->val;
    if (keyword == "password") {
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
