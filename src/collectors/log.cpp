#include "collectors/log.h"

#include <set>

#include "logs/csvlog.h"
#include "logs/jsonlog.h"
#include "logs/log_time.h"

namespace pgvigil::collectors {
namespace {

using prometheus::MetricType;

const metrics::Descriptor kMessages{
    "pg_log_messages_total",
    MetricType::Counter,
    "Server log messages by severity and SQLSTATE class (its first two characters).",
    {"severity", "sqlstate_class"}};
const metrics::Descriptor kErrorsBySource{
    "pgvigil_log_errors_total",
    MetricType::Counter,
    "ERROR, FATAL and PANIC log lines: the application's, and the agent's own (by its "
    "application_name or its sessions' pids).",
    {"source"}};
const metrics::Descriptor kLines{
    "pgvigil_log_lines_total",
    MetricType::Counter,
    "Server log lines received, by source and outcome (parsed, unparsed by the format or line "
    "prefix, dropped before parsing).",
    {"source", "outcome"}};
const metrics::Descriptor kDelay{
    "pgvigil_log_delay_seconds",
    MetricType::Gauge,
    "How long the newest heartbeat line took from the server to the agent.",
    {}};

const std::set<std::string> kCounted = {"WARNING", "ERROR", "FATAL", "PANIC"};
const std::set<std::string> kErrors = {"ERROR", "FATAL", "PANIC"};
constexpr std::size_t kMessageLength = 200;

std::int64_t EpochMillisNow() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::span<const metrics::Descriptor> LogMetrics() {
  static const metrics::Descriptor all[] = {kMessages, kErrorsBySource, kLines, kDelay};
  return all;
}

std::string LogCollector::HeartbeatSql() {
  // One statement of fixed text (pg_stat_statements keeps one entry for it), read-only; the
  // numbers are in the message, not the text. LOG passes every log_min_messages short of FATAL.
  return "DO $pgvigil$BEGIN RAISE LOG 'pgvigil heartbeat % %', "
         "floor(date_part('epoch', clock_timestamp()) * 1000)::bigint, "
         "floor(date_part('epoch', clock_timestamp() AT TIME ZONE "
         "current_setting('log_timezone')) * 1000)::bigint; END$pgvigil$";
}

LogCollector::LogCollector(const config::Target& target)
    : source_(target.settings.log_source.Kind()),
      format_(target.settings.log_source.StderrLines() ? "stderr"
                                                       : target.settings.log_source.format),
      heartbeat_(target.settings.log_source.heartbeat),
      heartbeat_every_(target.settings.Interval("statements_interval")),
      splitter_(format_ == "csvlog", kMaxRecord),
      prefix_(std::make_shared<const logs::LinePrefix>(target.settings.log_source.line_prefix)) {
  const auto& source = target.settings.log_source;
  if (source_ == "file") {
    file_.emplace(source.path);
  } else if (source_ == "sql" && source.sql == "log_fdw") {
    fdw_.emplace(source.format, source.log_fdw.server, source.log_fdw.schema);
  } else if (source_ == "sql") {
    server_.emplace(source.format);
  } else {
    inbox_ = logs::Inboxes::For(target.name);
    inbox_->Configure(prefix_, source_ == "drain");
  }
  // One series per severity exists from the start, so sums over them are 0 rather than empty.
  for (const char* severity : {"WARNING", "ERROR", "FATAL", "PANIC"}) counts_[{severity, ""}];
  errors_by_source_["application"];
  errors_by_source_["agent"];
  for (const char* outcome : {"parsed", "unparsed", "dropped"}) lines_[outcome];
  if (source_ == "drain") lines_["ignored"];
}

std::optional<std::int64_t> LogCollector::LogTime(const logs::LogRecord& record) const {
  if (auto at = logs::LogTimeMillis(record.time)) return at;
  if (record.epoch_ms) return *record.epoch_ms + log_offset_ms_.value_or(0);
  return std::nullopt;
}

void LogCollector::Heartbeat(const logs::LogRecord& record, CollectContext& context) {
  const std::string_view text = std::string_view(record.message).substr(logs::kHeartbeatTag.size());
  const std::size_t space = text.find(' ');
  if (space == std::string_view::npos) return;
  const auto epoch_ms = logs::DecimalOf(text.substr(0, space));
  const auto log_ms = logs::DecimalOf(text.substr(space + 1));
  if (!epoch_ms || !log_ms) return;
  auto& log = context.observations.log;
  log_offset_ms_ = *log_ms - *epoch_ms;
  if (!log.delivered_to_ms || *log_ms > *log.delivered_to_ms) log.delivered_to_ms = *log_ms;
  log.last_heartbeat = context.now;
  // The agent's clock against the server's: the delay includes any skew between the two hosts.
  log.delay_seconds =
      static_cast<double>(std::max<std::int64_t>(0, EpochMillisNow() - *epoch_ms)) / 1000.0;
}

void LogCollector::Count(const logs::LogRecord& record, CollectContext& context) {
  // Known by its text: prefixes without %a and %p (Heroku's shorter ones, Azure's default)
  // cannot tell whose it is, and a window must still be judged there.
  if (record.severity == "LOG" && record.message.starts_with(logs::kHeartbeatTag)) {
    Heartbeat(record, context);
    return;
  }
  const bool own =
      record.application_name == pg::kApplicationName || context.own_load.IsOwnBackend(record.pid);
  if (!kCounted.contains(record.severity)) return;
  counts_[{record.severity, record.sqlstate.substr(0, 2)}] += 1;
  if (!kErrors.contains(record.severity)) return;
  if (own) {
    errors_by_source_["agent"] += 1;
    return;
  }
  errors_by_source_["application"] += 1;
  auto& log = context.observations.log;
  if (record.sqlstate.empty()) log.errors_without_sqlstate += 1;
  auto& times = log.error_times;
  // A line without a readable time counts as logged with the newest one seen.
  const auto at = LogTime(record);
  if (at) newest_log_ms_ = std::max(newest_log_ms_, *at);
  if (at || newest_log_ms_ > 0) times.push_back(at.value_or(newest_log_ms_));
  if (times.size() > kErrorTimes) times.pop_front();
  auto& recent = log.recent;
  // A prefix without a time (Aiven's pid=… choices): the syslog header's instant, in UTC.
  std::string when = logs::IsoTimestamp(record.time);
  if (when.empty() && record.epoch_ms) when = logs::IsoFromEpochMillis(*record.epoch_ms);
  recent.push_back({std::move(when), record.severity, record.sqlstate,
                    record.message.substr(0, kMessageLength)});
  while (recent.size() > kRecentErrors) recent.pop_front();
}

void LogCollector::StderrLine(std::string_view line, CollectContext& context) {
  auto parsed = prefix_->Parse(line);
  switch (parsed.kind) {
    case logs::PrefixedLine::Kind::kMessage:
      lines_["parsed"] += 1;
      Count(parsed.record, context);
      break;
    case logs::PrefixedLine::Kind::kContinuation:
      lines_["parsed"] += 1;
      break;
    case logs::PrefixedLine::Kind::kUnparsed:
      lines_["unparsed"] += 1;
      break;
  }
}

void LogCollector::Collect(CollectContext& context, metrics::FamilySet& out) {
  auto& log = context.observations.log;
  log.source = source_;
  log.heartbeat = heartbeat_;
  log.silent_after = std::max<SteadyClock::duration>(kSilentAfter, 3 * heartbeat_every_);
  // Until this poll succeeds the window may be stale: /health then uses the rollback ratio.
  log.available = false;
  // The heartbeat goes out first: where the pipeline is quick (a file, a local forwarder) this
  // very read finds it, and the windows up to now can be judged at once.
  if (heartbeat_ && context.session != nullptr &&
      (!next_heartbeat_ || context.now >= *next_heartbeat_)) {
    (void)context.session->Query(HeartbeatSql());
    next_heartbeat_ = context.now + heartbeat_every_;
  }
  const double lines_before = lines_["parsed"] + lines_["unparsed"];
  const logs::RecordSplitter::Sink on_record = [&](std::string_view record, bool truncated) {
    if (format_ == "stderr") {
      StderrLine(record, context);
      return;
    }
    auto parsed =
        format_ == "csvlog" ? logs::ParseCsvlog(record) : logs::ParseJsonlog(record, truncated);
    lines_[parsed ? "parsed" : "unparsed"] += 1;
    if (parsed) Count(*parsed, context);
  };
  const auto data = [&](std::string_view bytes) { splitter_.Feed(bytes, on_record); };
  const auto rotated = [&] { splitter_.Flush(on_record); };
  if (server_) {
    server_->Poll(*context.session, data, rotated);
  } else if (fdw_) {
    fdw_->Poll(*context.session, data, rotated);
  } else if (file_) {
    file_->Poll(data, rotated);
  } else {
    // The receivers' threads parsed what arrived (logs::LogInbox): what is left to count.
    auto taken = inbox_->Take();
    for (const auto& record : taken.records) Count(record, context);
    lines_["parsed"] += taken.parsed;
    lines_["unparsed"] += taken.unparsed;
    lines_["dropped"] += taken.dropped;
    if (source_ == "drain") lines_["ignored"] += taken.ignored;
  }
  log.available = true;
  if (!log.started) log.started = context.now;  // it starts at the end of the log
  if (lines_["parsed"] + lines_["unparsed"] > lines_before) log.last_line = context.now;
  // Keep what the health window needs, by the newest line's time.
  const auto window_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(context.health_window).count();
  while (!log.error_times.empty() && log.error_times.front() < newest_log_ms_ - window_ms) {
    log.error_times.pop_front();
  }
  for (const auto& [key, count] : counts_) {
    out.Add(kMessages, {{"severity", key.first}, {"sqlstate_class", key.second}}, count);
  }
  for (const auto& [source, count] : errors_by_source_) {
    out.Add(kErrorsBySource, {{"source", source}}, count);
  }
  for (const auto& [outcome, count] : lines_) {
    out.Add(kLines, {{"source", source_}, {"outcome", outcome}}, count);
  }
  if (log.delay_seconds) out.Add(kDelay, {}, *log.delay_seconds);
}

}  // namespace pgvigil::collectors
