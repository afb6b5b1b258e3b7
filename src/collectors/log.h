#pragma once

#include <map>
#include <memory>
#include <optional>
#include <span>

#include "collectors/collector.h"
#include "logs/file_source.h"
#include "logs/inbox.h"
#include "logs/line_prefix.h"
#include "logs/log_fdw_source.h"
#include "logs/splitter.h"
#include "logs/sql_source.h"

namespace pgvigil::collectors {

// The series the log collector exports (docs/metrics.md).
[[nodiscard]] std::span<const metrics::Descriptor> LogMetrics();

// Counts server log messages by severity and SQLSTATE class, and keeps the last 100 errors for
// /health (docs/logs.md). Its lines come from one source: a file it follows, the server's current
// log over SQL (pg_read_file or RDS's log_fdw), or the inbox a syslog listener or HTTPS drain
// fills; they are jsonlog, csvlog or stderr-style lines taken apart by the target's
// log_line_prefix. Errors logged by the agent's own sessions (application_name "pgvigil", or one of
// its backends' pids) are counted apart, never in the error ratio. Each run it writes a heartbeat
// line through the server log, whose arrival says how far the pipeline has delivered and how late
// it is. It polls every probe_interval, and runs while the database is unreachable too (except over
// SQL).
class LogCollector final : public Collector {
 public:
  explicit LogCollector(const config::Target& target);

  [[nodiscard]] bool NeedsConnection() const override {
    return server_.has_value() || fdw_.has_value();
  }
  void Collect(CollectContext& context, metrics::FamilySet& out) override;

  static constexpr std::size_t kMaxRecord = 64 * 1024;
  static constexpr std::size_t kRecentErrors = 100;
  // Error times kept for the error ratio at most; beyond, the oldest go first.
  static constexpr std::size_t kErrorTimes = 200000;
  // The source is silent after this long without a line, or three heartbeats, if longer.
  static constexpr auto kSilentAfter = std::chrono::seconds(60);
  [[nodiscard]] static std::string HeartbeatSql();

 private:
  void Count(const logs::LogRecord& record, CollectContext& context);
  void StderrLine(std::string_view line, CollectContext& context);
  void Heartbeat(const logs::LogRecord& record, CollectContext& context);
  [[nodiscard]] std::optional<std::int64_t> LogTime(const logs::LogRecord& record) const;

  std::string source_;
  std::string format_;
  bool heartbeat_;
  // Once per statements_interval: a statements window is judged once a heartbeat written after
  // its end has come back, so the error ratio lags the windows by about one of these.
  config::Duration heartbeat_every_;
  std::optional<logs::FileFollower> file_;         // log_source.path
  std::optional<logs::ServerLogFollower> server_;  // SQL: pg_read_file
  std::optional<logs::LogFdwFollower> fdw_;        // SQL: log_fdw
  std::shared_ptr<logs::LogInbox> inbox_;          // syslog or drain
  logs::RecordSplitter splitter_;
  std::shared_ptr<const logs::LinePrefix> prefix_;
  std::optional<SteadyClock::time_point> next_heartbeat_;
  // Server log time minus the epoch, learned from heartbeats: places lines that carry only a
  // syslog header's time on the log's clock.
  std::optional<std::int64_t> log_offset_ms_;
  std::int64_t newest_log_ms_ = 0;
  std::map<std::pair<std::string, std::string>, double> counts_;  // (severity, class)
  std::map<std::string, double> errors_by_source_;                // application, agent
  std::map<std::string, double> lines_;                           // by outcome
};

}  // namespace pgvigil::collectors
