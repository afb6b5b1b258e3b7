#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "logs/record.h"

namespace pgvigil::logs {

// What one stderr-style line (a log file written with log_destination = 'stderr', or the text
// of a syslog message) holds after its log_line_prefix has been taken apart.
struct PrefixedLine {
  enum class Kind {
    kMessage,       // "ERROR:  …": the first line of a message, with its severity
    kContinuation,  // "DETAIL:  …", "STATEMENT:  …" and the like: part of the previous message
    kUnparsed,      // neither: the prefix or the severity did not match
  };
  Kind kind = Kind::kUnparsed;
  LogRecord record;
};

// A compiled log_line_prefix (see docs/logs.md): the escapes %m %t %n %s %p %l %u %d %a %h %r %e
// %x %v %c %i %b %q %Q %P %L %% and literal text. Parsing a line matches the prefix from the
// line's start (backtracking where a free-text escape such as %a is followed by text it may
// itself contain), then "SEVERITY:  " and, in the verbose form, "SQLSTATE: ". Immutable; may be
// used from any thread.
class LinePrefix {
 public:
  // `value` is a log_line_prefix, a preset's name (a provider's fixed prefixes: aiven matches
  // any of Aiven's four choices), or "" for every preset and the empty prefix, tried in turn.
  // Throws std::invalid_argument naming an escape the server does not know.
  explicit LinePrefix(std::string_view value);

  [[nodiscard]] PrefixedLine Parse(std::string_view line) const;

  struct Part {
    char escape = 0;  // 0: literal text
    std::string literal;
  };
  using Parts = std::vector<Part>;

 private:
  struct MatchState;
  [[nodiscard]] bool Match(const Parts& parts, std::size_t part, std::size_t at,
                           MatchState& state) const;

  std::vector<Parts> alternatives_;
};

// The prefixes a preset stands for (aiven, rds, heroku, cloudsql, azure, neon, crunchy, debian,
// default); nullopt for another name.
[[nodiscard]] std::optional<std::vector<std::string>> PresetLinePrefixes(std::string_view name);

// The preset names, for error messages and docs.
[[nodiscard]] const std::vector<std::string>& PresetNames();

}  // namespace pgvigil::logs
