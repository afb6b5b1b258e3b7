#include "logs/line_prefix.h"

#include <map>
#include <stdexcept>
#include <vector>

#include "logs/log_time.h"

namespace pgvigil::logs {
namespace {

// Backtracking steps one line may cost: free-text escapes next to text they may contain make
// matching ambiguous, and a hostile line must not make it expensive.
constexpr int kMatchBudget = 512;
constexpr std::size_t kMaxParts = 64;

constexpr std::string_view kKnownEscapes = "mtnspludahrexvciqbQPL%";
// Escapes whose value is free text (names, addresses, command tags): they end where what
// follows them in the prefix matches.
constexpr std::string_view kFreeText = "udahrbiL";

const std::map<std::string_view, PrefixedLine::Kind>& Severities() {
  static const std::map<std::string_view, PrefixedLine::Kind> severities = {
      {"DEBUG", PrefixedLine::Kind::kMessage},
      {"LOG", PrefixedLine::Kind::kMessage},
      {"INFO", PrefixedLine::Kind::kMessage},
      {"NOTICE", PrefixedLine::Kind::kMessage},
      {"WARNING", PrefixedLine::Kind::kMessage},
      {"ERROR", PrefixedLine::Kind::kMessage},
      {"FATAL", PrefixedLine::Kind::kMessage},
      {"PANIC", PrefixedLine::Kind::kMessage},
      {"DETAIL", PrefixedLine::Kind::kContinuation},
      {"HINT", PrefixedLine::Kind::kContinuation},
      {"QUERY", PrefixedLine::Kind::kContinuation},
      {"CONTEXT", PrefixedLine::Kind::kContinuation},
      {"LOCATION", PrefixedLine::Kind::kContinuation},
      {"STATEMENT", PrefixedLine::Kind::kContinuation},
      {"BACKTRACE", PrefixedLine::Kind::kContinuation},
  };
  return severities;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f'); }
bool IsSqlstateChar(char c) { return IsDigit(c) || (c >= 'A' && c <= 'Z'); }

// "SEVERITY:  " at `at` (DEBUG1 … DEBUG5 read as DEBUG): its kind and where the text starts.
std::optional<std::pair<PrefixedLine::Kind, std::size_t>> SeverityAt(std::string_view line,
                                                                     std::size_t at,
                                                                     std::string_view* word) {
  std::size_t end = at;
  while (end < line.size() && line[end] >= 'A' && line[end] <= 'Z') ++end;
  const std::string_view name = line.substr(at, end - at);
  if (name == "DEBUG" && end < line.size() && IsDigit(line[end])) ++end;
  if (line.substr(end, 3) != ":  ") return std::nullopt;
  const auto it = Severities().find(name);
  if (it == Severities().end()) return std::nullopt;
  if (word) *word = name;
  return std::make_pair(it->second, end + 3);
}

// The length of a fixed-format value at `at`, or nullopt when the text there is not one.
std::optional<std::size_t> FixedLength(char escape, std::string_view line, std::size_t at) {
  const std::string_view rest = line.substr(at);
  auto run = [&](std::size_t from, auto accept) {
    std::size_t i = from;
    while (i < rest.size() && accept(rest[i])) ++i;
    return i;
  };
  switch (escape) {
    case 'm':
    case 't':
    case 's': {
      // "2026-11-22 09:59:31[.123] ZONE", the zone a run without spaces.
      constexpr std::string_view kShape = "dddd-dd-dd dd:dd:dd";
      if (rest.size() < kShape.size()) return std::nullopt;
      for (std::size_t i = 0; i < kShape.size(); ++i) {
        if (kShape[i] == 'd' ? !IsDigit(rest[i]) : rest[i] != kShape[i]) return std::nullopt;
      }
      std::size_t i = kShape.size();
      if (escape == 'm') {
        if (rest.size() < i + 4 || rest[i] != '.') return std::nullopt;
        for (std::size_t k = 1; k <= 3; ++k) {
          if (!IsDigit(rest[i + k])) return std::nullopt;
        }
        i += 4;
      }
      if (i >= rest.size() || rest[i] != ' ') return std::nullopt;
      // A zone abbreviation or offset: UTC, CET, +03, -0330 (a sign only first: Azure's
      // "%t-%c-" puts a '-' right after the zone).
      std::size_t zone_start = i + 1;
      if (zone_start < rest.size() && (rest[zone_start] == '+' || rest[zone_start] == '-')) {
        ++zone_start;
      }
      const std::size_t zone_end = run(zone_start, [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || IsDigit(c);
      });
      if (zone_end == zone_start) return std::nullopt;
      return zone_end;
    }
    case 'n': {  // epoch seconds with milliseconds
      const std::size_t dot = run(0, IsDigit);
      if (dot == 0 || dot >= rest.size() || rest[dot] != '.') return std::nullopt;
      const std::size_t end = run(dot + 1, IsDigit);
      return end == dot + 1 ? std::nullopt : std::optional<std::size_t>(end);
    }
    case 'p':
    case 'l':
    case 'x': {
      const std::size_t end = run(0, IsDigit);
      return end == 0 ? std::nullopt : std::optional<std::size_t>(end);
    }
    case 'P':  // the parallel group leader's pid: empty outside parallel queries
      return run(0, IsDigit);
    case 'Q': {
      const std::size_t from = !rest.empty() && rest[0] == '-' ? 1 : 0;
      const std::size_t end = run(from, IsDigit);
      return end == from ? std::nullopt : std::optional<std::size_t>(end);
    }
    case 'v': {  // "3/45", or empty outside a transaction-capable process
      const std::size_t slash = run(0, IsDigit);
      if (slash == 0) return 0;
      if (slash >= rest.size() || rest[slash] != '/') return std::nullopt;
      return run(slash + 1, IsDigit);
    }
    case 'c': {  // session id: hex start time '.' hex pid
      const std::size_t dot = run(0, IsHex);
      if (dot == 0 || dot >= rest.size() || rest[dot] != '.') return std::nullopt;
      const std::size_t end = run(dot + 1, IsHex);
      return end == dot + 1 ? std::nullopt : std::optional<std::size_t>(end);
    }
    case 'e': {
      if (rest.size() < 5) return std::nullopt;
      for (std::size_t i = 0; i < 5; ++i) {
        if (!IsSqlstateChar(rest[i])) return std::nullopt;
      }
      return 5;
    }
    default:
      return std::nullopt;
  }
}

struct Capture {
  char escape = 0;
  std::string_view value;
};

}  // namespace

namespace {

// What each provider fixes or ships (docs/logs.md says where each comes from). Those marked
// there as unconfirmed are the upstream and Debian defaults the provider is believed to keep.
const std::vector<std::pair<std::string, std::vector<std::string>>>& Presets() {
  static const std::vector<std::pair<std::string, std::vector<std::string>>> presets = {
      {"aiven",
       {"%m [%p] %q[user=%u,db=%d,app=%a] ", "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",
        "pid=%p,user=%u,db=%d,app=%a,client=%h ",
        "pid=%p,user=%u,db=%d,app=%a,client=%h,txid=%x,qid=%Q "}},
      {"rds", {"%t:%r:%u@%d:[%p]:"}},
      {"heroku",
       {" sql_error_code = %e time_ms = \"%m\" pid=\"%p\" proc_start_time=\"%s\" "
        "session_id=\"%c\" vtid=\"%v\" tid=\"%x\" log_line=\"%l\" %qdatabase=\"%d\" "
        "connection_source=\"%r\" user=\"%u\" application_name=\"%a\" ",
        " database = %d connection_source = %r sql_error_code = %e ", " sql_error_code = %e "}},
      {"cloudsql", {"%m [%p]: [%l-1] db=%d,user=%u "}},
      {"azure", {"%t-%c-"}},
      {"neon", {"%m [%p] ", "%m [%p] %q%u@%d "}},
      {"crunchy", {"%m [%p] ", "%m [%p] %q%u@%d "}},
      {"debian", {"%m [%p] %q%u@%d ", "%t [%p-%l] %q%u@%d "}},
      {"default", {"%m [%p] "}},
  };
  return presets;
}

}  // namespace

namespace {

LinePrefix::Parts Compile(std::string_view prefix) {
  LinePrefix::Parts parts;
  std::string literal;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (prefix[i] != '%' || i + 1 >= prefix.size()) {
      literal += prefix[i];
      continue;
    }
    // Padding (%-10a, %5p) pads the value with spaces: matched as the value plus spaces.
    std::size_t j = i + 1;
    if (prefix[j] == '-') ++j;
    while (j < prefix.size() && IsDigit(prefix[j])) ++j;
    if (j >= prefix.size()) {
      literal += prefix.substr(i);
      break;
    }
    const char escape = prefix[j];
    if (kKnownEscapes.find(escape) == std::string_view::npos) {
      throw std::invalid_argument(std::string("unknown log_line_prefix escape %") + escape);
    }
    i = j;
    if (escape == '%') {
      literal += '%';
      continue;
    }
    if (!literal.empty()) parts.push_back({0, std::move(literal)});
    literal.clear();
    parts.push_back({escape, ""});
  }
  if (!literal.empty()) parts.push_back({0, std::move(literal)});
  if (parts.size() > kMaxParts) throw std::invalid_argument("log_line_prefix has too many parts");
  return parts;
}

}  // namespace

LinePrefix::LinePrefix(std::string_view value) {
  std::vector<std::string> prefixes;
  if (value.empty()) {
    for (const auto& [name, preset] : Presets()) {
      prefixes.insert(prefixes.end(), preset.begin(), preset.end());
    }
    prefixes.emplace_back();
  } else if (auto preset = PresetLinePrefixes(value)) {
    prefixes = std::move(*preset);
  } else {
    prefixes.emplace_back(value);
  }
  for (const auto& prefix : prefixes) alternatives_.push_back(Compile(prefix));
}

struct LinePrefix::MatchState {
  std::string_view line;
  std::vector<Capture> captures;  // one per part, for the path being tried
  int budget = kMatchBudget;
  std::size_t end = 0;  // where "SEVERITY:  " starts, once matched
};

bool LinePrefix::Match(const Parts& parts_, std::size_t part, std::size_t at,
                       MatchState& state) const {
  if (--state.budget < 0) return false;
  const std::string_view line = state.line;
  if (part == parts_.size()) {
    if (!SeverityAt(line, at, nullptr)) return false;
    state.end = at;
    return true;
  }
  const Part& p = parts_[part];
  state.captures[part] = {p.escape, {}};
  if (p.escape == 0) {
    if (line.substr(at, p.literal.size()) != p.literal) return false;
    return Match(parts_, part + 1, at + p.literal.size(), state);
  }
  if (p.escape == 'q') {
    if (Match(parts_, part + 1, at, state)) return true;
    // A process without a session stops the prefix here.
    for (std::size_t rest = part; rest < parts_.size(); ++rest) state.captures[rest] = {};
    if (!SeverityAt(line, at, nullptr)) return false;
    state.end = at;
    return true;
  }
  if (kFreeText.find(p.escape) == std::string_view::npos) {
    std::size_t from = at;
    while (from < line.size() && line[from] == ' ') ++from;  // left padding
    const auto length = FixedLength(p.escape, line, from);
    if (!length) return false;
    state.captures[part].value = line.substr(from, *length);
    std::size_t next = from + *length;
    if (Match(parts_, part + 1, next, state)) return true;
    while (next < line.size() && line[next] == ' ' && state.budget >= 0) {  // right padding
      ++next;
      if (Match(parts_, part + 1, next, state)) return true;
    }
    return false;
  }
  // Free text: each end, shortest first, where what follows in the prefix matches.
  const bool literal_next = part + 1 < parts_.size() && parts_[part + 1].escape == 0;
  for (std::size_t to = at; to <= line.size() && state.budget >= 0; ++to) {
    if (literal_next) {
      to = line.find(parts_[part + 1].literal, to);
      if (to == std::string_view::npos) return false;
    }
    state.captures[part] = {p.escape, line.substr(at, to - at)};
    if (Match(parts_, part + 1, to, state)) return true;
  }
  return false;
}

PrefixedLine LinePrefix::Parse(std::string_view line) const {
  PrefixedLine out;
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  MatchState state{line, {}};
  bool matched = false;
  for (const Parts& parts : alternatives_) {
    state.captures.assign(parts.size(), Capture{});
    state.budget = kMatchBudget;
    if (Match(parts, 0, 0, state)) {
      matched = true;
      break;
    }
  }
  if (!matched) {
    // The server continues a multi-line statement on lines of its own, starting with a tab:
    // they belong to the message before them.
    if (!line.empty() && line.front() == '\t') out.kind = PrefixedLine::Kind::kContinuation;
    return out;
  }
  std::string_view word;
  const auto severity = SeverityAt(line, state.end, &word);
  out.kind = severity->first;
  LogRecord& record = out.record;
  record.severity = std::string(word);
  std::string_view text = line.substr(severity->second);
  for (const Capture& capture : state.captures) {
    switch (capture.escape) {
      case 'm':
      case 't':
        record.time = std::string(capture.value);
        break;
      case 'n':
        if (const auto dot = capture.value.find('.'); dot != std::string_view::npos) {
          const auto seconds = DecimalOf(capture.value.substr(0, dot));
          const std::string_view fraction = capture.value.substr(dot + 1, 3);
          if (seconds && fraction.size() == 3) {
            record.epoch_ms = *seconds * 1000 + DecimalOf(fraction).value_or(0);
          }
        }
        break;
      case 'p':
        record.pid = PidOf(capture.value).value_or(0);
        break;
      case 'a':
        record.application_name = std::string(capture.value);
        break;
      case 'e':
        record.sqlstate = std::string(capture.value);
        break;
      default:
        break;
    }
  }
  // The verbose form: "ERROR:  23505: duplicate key value …".
  if (text.size() > 7 && text[5] == ':' && text[6] == ' ') {
    bool code = true;
    for (std::size_t i = 0; i < 5; ++i) code = code && IsSqlstateChar(text[i]);
    if (code) {
      if (record.sqlstate.empty() || record.sqlstate == "00000") {
        record.sqlstate = std::string(text.substr(0, 5));
      }
      text.remove_prefix(7);
    }
  }
  // %e writes 00000 for messages that are not errors.
  if (record.sqlstate == "00000" &&
      (record.severity == "ERROR" || record.severity == "FATAL" || record.severity == "PANIC")) {
    record.sqlstate.clear();
  }
  record.message = std::string(text);
  return out;
}

std::optional<std::vector<std::string>> PresetLinePrefixes(std::string_view name) {
  for (const auto& [preset, prefixes] : Presets()) {
    if (preset == name) return prefixes;
  }
  return std::nullopt;
}

const std::vector<std::string>& PresetNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& [preset, prefixes] : Presets()) out.push_back(preset);
    return out;
  }();
  return names;
}

}  // namespace pgvigil::logs
