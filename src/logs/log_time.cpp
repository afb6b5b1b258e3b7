#include "logs/log_time.h"

#include <chrono>
#include <cstdio>

namespace pgvigil::logs {

std::optional<std::int64_t> LogTimeMillis(std::string_view log_time) {
  // "YYYY-MM-DD HH:MM:SS[.mmm] ZONE"
  auto digits = [&](std::size_t at, std::size_t count) -> std::optional<int> {
    if (log_time.size() < at + count) return std::nullopt;
    int value = 0;
    for (std::size_t i = at; i < at + count; ++i) {
      if (log_time[i] < '0' || log_time[i] > '9') return std::nullopt;
      value = value * 10 + (log_time[i] - '0');
    }
    return value;
  };
  const auto year = digits(0, 4);
  const auto month = digits(5, 2);
  const auto day = digits(8, 2);
  const auto hour = digits(11, 2);
  const auto minute = digits(14, 2);
  const auto second = digits(17, 2);
  if (!year || !month || !day || !hour || !minute || !second || *month < 1 || *month > 12 ||
      *day < 1 || *day > 31) {
    return std::nullopt;
  }
  const auto millis = log_time.size() > 19 && log_time[19] == '.' ? digits(20, 3) : std::nullopt;
  const std::chrono::year_month_day date{std::chrono::year(*year),
                                         std::chrono::month(static_cast<unsigned>(*month)),
                                         std::chrono::day(static_cast<unsigned>(*day))};
  const std::chrono::sys_days days{date};
  return std::chrono::duration_cast<std::chrono::milliseconds>(days.time_since_epoch()).count() +
         ((*hour * 60LL + *minute) * 60 + *second) * 1000 + millis.value_or(0);
}

std::string IsoTimestamp(const std::string& log_time) {
  // "2026-11-22 09:59:31.123 UTC" -> "2026-11-22T09:59:31Z". Other zones stay as written:
  // turning a zone abbreviation into an offset needs the server's tz database.
  if (log_time.size() >= 19 && log_time.ends_with(" UTC") && log_time[10] == ' ') {
    return log_time.substr(0, 10) + "T" + log_time.substr(11, 8) + "Z";
  }
  return log_time;
}

std::string IsoFromEpochMillis(std::int64_t epoch_ms) {
  const std::chrono::sys_seconds at{std::chrono::seconds{epoch_ms / 1000}};
  const auto days = std::chrono::floor<std::chrono::days>(at);
  const std::chrono::year_month_day date{days};
  const std::chrono::hh_mm_ss time{at - days};
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02ld:%02ld:%02lldZ",
                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()), static_cast<long>(time.hours().count()),
                static_cast<long>(time.minutes().count()),
                static_cast<long long>(time.seconds().count()));
  return text;
}

std::optional<std::int64_t> DecimalOf(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  std::int64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

std::optional<int> PidOf(std::string_view text) {
  if (text.size() > 9) return std::nullopt;
  const auto value = DecimalOf(text);
  return value ? std::optional<int>(static_cast<int>(*value)) : std::nullopt;
}

}  // namespace pgvigil::logs
