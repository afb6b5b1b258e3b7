#include "pg/connect_error.h"

namespace pgvigil::pg {
namespace {

bool IsSqlstateChar(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'); }

// The SQLSTATE of one line of libpq's verbose error text: the first `:  XXXXX:` (or `:  XXXXX`
// ending the line, as PQERRORS_SQLSTATE writes it) after the severity. Only the first match of
// a line counts, so a role or database name quoted in the text after it cannot pose as one.
std::string_view LineSqlstate(std::string_view line) {
  constexpr std::string_view kAfterSeverity = ":  ";
  constexpr std::size_t kLength = 5;
  for (std::size_t at = line.find(kAfterSeverity); at != std::string_view::npos;
       at = line.find(kAfterSeverity, at + 1)) {
    const std::size_t start = at + kAfterSeverity.size();
    if (line.size() < start + kLength) return {};
    const std::string_view candidate = line.substr(start, kLength);
    bool shaped = true;
    for (char c : candidate) shaped = shaped && IsSqlstateChar(c);
    const std::size_t end = start + kLength;
    if (shaped && (end == line.size() || line[end] == ':' || line[end] == '\r')) {
      return candidate;
    }
  }
  return {};
}

}  // namespace

ConnectFailure ParseConnectError(std::string_view libpq_message) {
  ConnectFailure failure;
  std::string_view rest = libpq_message;
  while (!rest.empty()) {
    const std::size_t newline = rest.find('\n');
    const std::string_view line = rest.substr(0, newline);
    rest = newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);
    if (line.starts_with("LOCATION:  ")) continue;
    if (const std::string_view state = LineSqlstate(line); !state.empty()) {
      failure.sqlstate = state;
    }
    if (!failure.message.empty()) failure.message += '\n';
    failure.message += line;
  }
  while (!failure.message.empty() &&
         (failure.message.back() == '\n' || failure.message.back() == ' ')) {
    failure.message.pop_back();
  }
  if (failure.message.empty()) failure.message = "unknown libpq error";
  return failure;
}

}  // namespace pgvigil::pg
