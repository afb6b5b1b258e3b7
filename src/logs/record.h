#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace pgvigil::logs {

// One server log message, whatever source and format it came in: what the log collector counts
// and /health shows. Never the statement or its parameters.
struct LogRecord {
  std::string time;      // as the server wrote it ("2026-11-22 09:59:31.123 UTC"); may be ""
  std::string severity;  // ERROR, FATAL, ...
  std::string sqlstate;  // may be empty
  std::string message;   // never the statement or its parameters
  std::string application_name;  // of the session that logged it; "" when unknown
  int pid = 0;                   // of the backend that logged it; 0 when unknown
  // The message's instant as milliseconds since the epoch, where only an absolute time is known
  // (a syslog header), not the server's wall time.
  std::optional<std::int64_t> epoch_ms;
};

}  // namespace pgvigil::logs
