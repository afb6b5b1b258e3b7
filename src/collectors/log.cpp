#include "collectors/log.h"

#include <set>

namespace pgvigil::collectors {
namespace {

const std::set<std::string> kCounted = {"WARNING", "ERROR", "FATAL", "PANIC"};
const std::set<std::string> kErrors = {"ERROR", "FATAL", "PANIC"};
constexpr std::size_t kMessageLength = 200;

}  // namespace

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

LogCollector::LogCollector(const config::Target& target)
    : csv_(target.settings.log_source.format == "csvlog"), splitter_(csv_, kMaxRecord) {
  if (target.settings.log_source.path.empty()) {
    server_.emplace(target.settings.log_source.format);
  } else {
    file_.emplace(target.settings.log_source.path);
  }
  // One series per severity exists from the start, so sums over them are 0 rather than empty.
  for (const char* severity : {"WARNING", "ERROR", "FATAL", "PANIC"}) counts_[{severity, ""}];
  errors_by_source_["application"];
  errors_by_source_["agent"];
}

void LogCollector::Count(const LogRecord& record, CollectContext& context) {
  if (!kCounted.contains(record.severity)) return;
  counts_[{record.severity, record.sqlstate.substr(0, 2)}] += 1;
  if (!kErrors.contains(record.severity)) return;
  if (record.application_name == pg::kApplicationName) {
    errors_by_source_["agent"] += 1;
    return;
  }
  errors_by_source_["application"] += 1;
  auto& times = context.observations.log.error_times;
  // A line without a readable time counts as logged with the newest one seen.
  const auto at = LogTimeMillis(record.time);
  if (at || !times.empty()) times.push_back(at.value_or(times.empty() ? 0 : times.back()));
  if (times.size() > kErrorTimes) times.pop_front();
  auto& recent = context.observations.log.recent;
  recent.push_back({IsoTimestamp(record.time), record.severity, record.sqlstate,
                    record.message.substr(0, kMessageLength)});
  while (recent.size() > kRecentErrors) recent.pop_front();
}

void LogCollector::Collect(CollectContext& context, metrics::FamilySet& out) {
  auto& log = context.observations.log;
  // Until this poll succeeds the window may be stale: /health then uses the rollback ratio.
  log.available = false;
  const RecordSplitter::Sink on_record = [&](std::string_view record, bool truncated) {
    auto parsed = csv_ ? ParseCsvlog(record) : ParseJsonlog(record, truncated);
    if (parsed) Count(*parsed, context);
  };
  const auto data = [&](std::string_view bytes) { splitter_.Feed(bytes, on_record); };
  const auto rotated = [&] { splitter_.Flush(on_record); };
  if (server_) {
    server_->Poll(*context.session, data, rotated);
  } else {
    file_->Poll(data, rotated);
  }
  log.available = true;
  if (!log.started) log.started = context.now;  // it starts at the end of the log
  // Keep what the health window needs, by the newest line's time.
  const auto window_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(context.health_window).count();
  while (!log.error_times.empty() && log.error_times.front() < log.error_times.back() - window_ms) {
    log.error_times.pop_front();
  }
  for (const auto& [key, count] : counts_) {
    out.Counter("pg_log_messages_total",
                "Server log messages by severity and SQLSTATE class (its first two characters).",
                {{"severity", key.first}, {"sqlstate_class", key.second}}, count);
  }
  for (const auto& [source, count] : errors_by_source_) {
    out.Counter("pgvigil_log_errors_total",
                "ERROR, FATAL and PANIC log lines: the application's, and the agent's own (by "
                "its application_name).",
                {{"source", source}}, count);
  }
}

}  // namespace pgvigil::collectors
