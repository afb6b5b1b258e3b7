#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace pgvigil::config {

using Duration = std::chrono::milliseconds;

// Parses Go-style durations as Prometheus writes them: "250ms", "5s", "1m30s", "1h", "0s".
[[nodiscard]] std::optional<Duration> ParseDuration(std::string_view text);

// The shortest form that ParseDuration reads back to the same value ("90s" -> "1m30s").
[[nodiscard]] std::string FormatDuration(Duration duration);

}  // namespace pgvigil::config
