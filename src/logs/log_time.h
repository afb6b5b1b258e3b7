#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pgvigil::logs {

// A log line's time ("2026-11-22 09:59:31.123 UTC") as milliseconds of that wall time read as
// UTC, the zone ignored; nullopt if it is not in that form.
[[nodiscard]] std::optional<std::int64_t> LogTimeMillis(std::string_view log_time);

// A log line's time as ISO 8601 in UTC when the server logs in UTC, else as the server wrote it.
[[nodiscard]] std::string IsoTimestamp(const std::string& log_time);

// Milliseconds since the epoch as ISO 8601 in UTC, to the second ("2026-11-22T09:59:31Z").
[[nodiscard]] std::string IsoFromEpochMillis(std::int64_t epoch_ms);

// A decimal number of at most 18 digits; nullopt for anything else.
[[nodiscard]] std::optional<std::int64_t> DecimalOf(std::string_view text);

// A process id written in decimal; nullopt for anything else.
[[nodiscard]] std::optional<int> PidOf(std::string_view text);

}  // namespace pgvigil::logs
