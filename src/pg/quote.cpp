#include "pg/quote.h"

namespace pgvigil::pg {
namespace {

// `text` between `quote`s, each `quote` (and each backslash when `backslashes`) doubled.
std::string Delimited(std::string_view text, char quote, bool backslashes) {
  std::string out;
  out.reserve(text.size() + 2);
  out += quote;
  for (const char c : text) {
    if (c == quote || (backslashes && c == '\\')) out += c;
    out += c;
  }
  out += quote;
  return out;
}

}  // namespace

std::string QuoteIdentifier(std::string_view name) { return Delimited(name, '"', false); }

std::string QuoteLiteral(std::string_view text) {
  const bool backslashes = text.find('\\') != std::string_view::npos;
  return (backslashes ? "E" : "") + Delimited(text, '\'', backslashes);
}

}  // namespace pgvigil::pg
