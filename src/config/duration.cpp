#include "config/duration.h"

#include <array>
#include <cctype>
#include <cstdint>
#include <utility>

namespace pgvigil::config {
namespace {

struct Unit {
  std::string_view suffix;
  std::int64_t millis;
};

// Longest suffixes first so that "ms" is not read as "m" followed by "s".
constexpr std::array<Unit, 5> kUnits{{
    {"ms", 1},
    {"h", 3'600'000},
    {"m", 60'000},
    {"s", 1'000},
    {"d", 86'400'000},
}};

}  // namespace

constexpr std::int64_t kLongestMillis = 1000LL * 86400 * 365 * 1000;  // a thousand years

std::optional<Duration> ParseDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (text == "0") return Duration::zero();
  std::int64_t total = 0;
  while (!text.empty()) {
    std::size_t digits = 0;
    std::int64_t value = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) {
      value = value * 10 + (text[digits] - '0');
      if (value > 1'000'000'000) return std::nullopt;
      ++digits;
    }
    if (digits == 0) return std::nullopt;
    text.remove_prefix(digits);
    const Unit* unit = nullptr;
    for (const Unit& candidate : kUnits) {
      if (text.starts_with(candidate.suffix)) {
        unit = &candidate;
        break;
      }
    }
    if (unit == nullptr) return std::nullopt;
    text.remove_prefix(unit->suffix.size());
    total += value * unit->millis;
    // Far beyond any sensible setting, and before int64 milliseconds could overflow.
    if (total > kLongestMillis) return std::nullopt;
  }
  return Duration(total);
}

std::string FormatDuration(Duration duration) {
  std::int64_t millis = duration.count();
  if (millis == 0) return "0s";
  std::string out;
  for (auto [suffix, size] : {std::pair{"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}}) {
    if (millis >= size) {
      out += std::to_string(millis / size) + suffix;
      millis %= size;
    }
  }
  if (millis > 0) out += std::to_string(millis) + "ms";
  return out;
}

}  // namespace pgvigil::config
