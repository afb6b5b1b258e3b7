#include "collectors/log.h"

#include <set>

namespace pgvigil::collectors {
namespace {

const std::set<std::string> kCounted = {"WARNING", "ERROR", "FATAL", "PANIC"};
const std::set<std::string> kErrors = {"ERROR", "FATAL", "PANIC"};
constexpr std::size_t kMessageLength = 200;

}  // namespace

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

void LogCollector::Count(const LogRecord& record, CollectContext& context,
                         Observations::LogDelta& step) {
  if (!kCounted.contains(record.severity)) return;
  counts_[{record.severity, record.sqlstate.substr(0, 2)}] += 1;
  if (!kErrors.contains(record.severity)) return;
  if (record.application_name == pg::kApplicationName) {
    step.agent_errors += 1;
    errors_by_source_["agent"] += 1;
    return;
  }
  step.errors += 1;
  errors_by_source_["application"] += 1;
  auto& recent = context.observations.log.recent;
  recent.push_back({IsoTimestamp(record.time), record.severity, record.sqlstate,
                    record.message.substr(0, kMessageLength)});
  while (recent.size() > kRecentErrors) recent.pop_front();
}

void LogCollector::Collect(CollectContext& context, metrics::FamilySet& out) {
  auto& log = context.observations.log;
  // Until this poll succeeds the window may be stale: /health then uses the rollback ratio.
  log.available = false;
  Observations::LogDelta step{previous_poll_, context.now};
  const RecordSplitter::Sink on_record = [&](std::string_view record, bool truncated) {
    auto parsed = csv_ ? ParseCsvlog(record) : ParseJsonlog(record, truncated);
    if (parsed) Count(*parsed, context, step);
  };
  const auto data = [&](std::string_view bytes) { splitter_.Feed(bytes, on_record); };
  const auto rotated = [&] { splitter_.Flush(on_record); };
  if (server_) {
    server_->Poll(*context.session, data, rotated);
  } else {
    file_->Poll(data, rotated);
  }
  log.available = true;
  // The first poll starts at the end of the log: it counts nothing and covers nothing.
  if (previous_poll_ != SteadyClock::time_point{}) log.window.push_back(step);
  previous_poll_ = context.now;
  while (!log.window.empty() && log.window.front().at < context.now - context.health_window) {
    log.window.pop_front();
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
