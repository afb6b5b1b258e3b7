#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace pgvigil::logs {

// One syslog message, RFC 5424 ("<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG") or
// RFC 3164 ("<PRI>Mmm dd hh:mm:ss HOSTNAME TAG[PID]: MSG"). Views into the text it was parsed
// from; "-" (RFC 5424's NILVALUE) reads as empty.
struct SyslogMessage {
  int priority = 0;
  std::string_view hostname;
  std::string_view app_name;
  std::string_view procid;
  std::string_view text;                 // MSG, without a leading BOM
  std::optional<std::int64_t> epoch_ms;  // RFC 5424's TIMESTAMP; RFC 3164 has no year or zone
};

// Parses one framed message; nullopt when it is neither form.
[[nodiscard]] std::optional<SyslogMessage> ParseSyslogMessage(std::string_view frame);

// An RFC 3339 time ("2026-12-07T02:00:00.123456+01:00", "…Z") as milliseconds since the epoch.
[[nodiscard]] std::optional<std::int64_t> Rfc3339Millis(std::string_view text);

}  // namespace pgvigil::logs
