#include "logs/csvlog.h"

#include <string>
#include <vector>

#include "logs/log_time.h"

namespace pgvigil::logs {

std::optional<LogRecord> ParseCsvlog(std::string_view record) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  constexpr std::size_t kApplicationName = 22;
  for (std::size_t i = 0; i < record.size() && fields.size() <= kApplicationName + 1; ++i) {
    const char c = record[i];
    if (quoted) {
      if (c == '"' && i + 1 < record.size() && record[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  if (fields.size() < 13 || fields[11].empty()) return std::nullopt;
  if (fields.size() > kApplicationName + 1) fields.resize(kApplicationName + 1);
  LogRecord out;
  out.time = fields[0];
  out.severity = fields[11];
  out.sqlstate = fields[12];
  out.message = fields.size() > 13 ? fields[13] : "";
  out.application_name = fields.size() > kApplicationName ? fields[kApplicationName] : "";
  out.pid = PidOf(fields[3]).value_or(0);
  return out;
}

}  // namespace pgvigil::logs
