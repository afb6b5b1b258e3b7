#include "logs/syslog_message.h"

#include <chrono>

#include "logs/log_time.h"

namespace pgvigil::logs {
namespace {

// The next space-separated field of `text` from `at`; advances past it and one space.
std::optional<std::string_view> Field(std::string_view text, std::size_t& at) {
  if (at >= text.size()) return std::nullopt;
  const std::size_t end = text.find(' ', at);
  const std::string_view field =
      text.substr(at, end == std::string_view::npos ? text.npos : end - at);
  at = end == std::string_view::npos ? text.size() : end + 1;
  if (field.empty()) return std::nullopt;
  return field;
}

std::string_view Nil(std::string_view field) { return field == "-" ? std::string_view() : field; }

// RFC 5424's STRUCTURED-DATA at `at`: "-" or one or more [id param="value" …] elements, values
// escaping '"', '\' and ']' with a backslash. Advances past it and the space after.
bool SkipStructuredData(std::string_view text, std::size_t& at) {
  if (at < text.size() && text[at] == '-') {
    ++at;
  } else {
    bool any = false;
    while (at < text.size() && text[at] == '[') {
      any = true;
      bool quoted = false;
      ++at;
      while (at < text.size() && (quoted || text[at] != ']')) {
        if (quoted && text[at] == '\\') {
          ++at;
        } else if (text[at] == '"') {
          quoted = !quoted;
        }
        ++at;
      }
      if (at >= text.size()) return false;
      ++at;  // ']'
    }
    if (!any) return false;
  }
  if (at < text.size() && text[at] == ' ') ++at;
  return true;
}

std::string_view WithoutBom(std::string_view text) {
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  if (text.starts_with(kBom)) text.remove_prefix(kBom.size());
  return text;
}

constexpr std::string_view kMonths = "JanFebMarAprMayJunJulAugSepOctNovDec";

}  // namespace

std::optional<std::int64_t> Rfc3339Millis(std::string_view text) {
  // "YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)"
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != 't') || text[13] != ':' || text[16] != ':') {
    return std::nullopt;
  }
  const auto year = DecimalOf(text.substr(0, 4));
  const auto month = DecimalOf(text.substr(5, 2));
  const auto day = DecimalOf(text.substr(8, 2));
  const auto hour = DecimalOf(text.substr(11, 2));
  const auto minute = DecimalOf(text.substr(14, 2));
  const auto second = DecimalOf(text.substr(17, 2));
  if (!year || !month || !day || !hour || !minute || !second || *month < 1 || *month > 12 ||
      *day < 1 || *day > 31 || *hour > 23 || *minute > 59 || *second > 60) {
    return std::nullopt;
  }
  std::size_t at = 19;
  std::int64_t millis = 0;
  if (at < text.size() && text[at] == '.') {
    std::size_t digits = 0;
    for (++at; at < text.size() && text[at] >= '0' && text[at] <= '9'; ++at, ++digits) {
      if (digits < 3) millis = millis * 10 + (text[at] - '0');
    }
    if (digits == 0) return std::nullopt;
    for (; digits < 3; ++digits) millis *= 10;
  }
  std::int64_t offset_minutes = 0;
  const std::string_view zone = text.substr(at);
  if (zone == "Z" || zone == "z") {
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    const auto hours = DecimalOf(zone.substr(1, 2));
    const auto minutes = DecimalOf(zone.substr(4, 2));
    if (!hours || !minutes) return std::nullopt;
    offset_minutes = (*hours * 60 + *minutes) * (zone[0] == '-' ? -1 : 1);
  } else {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{std::chrono::year(static_cast<int>(*year)),
                                         std::chrono::month(static_cast<unsigned>(*month)),
                                         std::chrono::day(static_cast<unsigned>(*day))};
  if (!date.ok()) return std::nullopt;
  const std::int64_t days = std::chrono::sys_days(date).time_since_epoch().count();
  return ((days * 24 + *hour) * 60 + *minute - offset_minutes) * 60000 + *second * 1000 + millis;
}

std::optional<SyslogMessage> ParseSyslogMessage(std::string_view frame) {
  while (!frame.empty() && (frame.back() == '\n' || frame.back() == '\r' || frame.back() == '\0')) {
    frame.remove_suffix(1);
  }
  if (frame.size() < 3 || frame[0] != '<') return std::nullopt;
  const std::size_t close = frame.find('>');
  if (close == std::string_view::npos || close < 2 || close > 4) return std::nullopt;
  const auto priority = DecimalOf(frame.substr(1, close - 1));
  if (!priority || *priority > 191) return std::nullopt;
  SyslogMessage message;
  message.priority = static_cast<int>(*priority);
  std::string_view rest = frame.substr(close + 1);

  if (rest.starts_with("1 ")) {  // RFC 5424
    std::size_t at = 2;
    const auto timestamp = Field(rest, at);
    const auto hostname = Field(rest, at);
    const auto app_name = Field(rest, at);
    const auto procid = Field(rest, at);
    const auto msgid = Field(rest, at);
    if (!timestamp || !hostname || !app_name || !procid || !msgid) return std::nullopt;
    if (!SkipStructuredData(rest, at)) return std::nullopt;
    message.epoch_ms = Rfc3339Millis(*timestamp);
    message.hostname = Nil(*hostname);
    message.app_name = Nil(*app_name);
    message.procid = Nil(*procid);
    message.text = WithoutBom(rest.substr(std::min(at, rest.size())));
    return message;
  }

  // RFC 3164: "Mmm dd hh:mm:ss " (day space-padded), then HOSTNAME, then TAG[PID]: MSG.
  if (rest.size() < 16 || kMonths.find(rest.substr(0, 3)) == std::string_view::npos ||
      kMonths.find(rest.substr(0, 3)) % 3 != 0 || rest[3] != ' ' || rest[6] != ' ' ||
      rest[9] != ':' || rest[12] != ':' || rest[15] != ' ') {
    return std::nullopt;
  }
  std::size_t at = 16;
  // Some senders leave the hostname out: a field ending in ':' or holding '[' is the tag.
  std::size_t tag_at = at;
  const auto first = Field(rest, at);
  if (!first) return std::nullopt;
  if (!first->ends_with(':') && first->find('[') == std::string_view::npos) {
    message.hostname = *first;
    tag_at = at;
  }
  std::string_view after = rest.substr(tag_at);
  const std::size_t colon = after.find(": ");
  const std::size_t tag_end = after.find_first_of(" [:");
  if (colon == std::string_view::npos || tag_end == std::string_view::npos || tag_end > colon) {
    message.text = after;  // no tag: the whole rest is the message
    return message;
  }
  message.app_name = after.substr(0, tag_end);
  if (after[tag_end] == '[') {
    const std::size_t pid_end = after.find(']', tag_end);
    if (pid_end != std::string_view::npos && pid_end < colon) {
      message.procid = after.substr(tag_end + 1, pid_end - tag_end - 1);
    }
  }
  message.text = after.substr(colon + 2);
  return message;
}

}  // namespace pgvigil::logs
