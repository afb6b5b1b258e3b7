#pragma once

#include <map>
#include <memory>

#include "collectors/collector.h"
#include "collectors/log_source.h"

namespace pgvigil::collectors {

// Counts server log messages by severity and SQLSTATE class (jsonlog or csvlog), and keeps the
// last 100 errors for /health. Errors logged by sessions named like the agent's
// (application_name "pgvigil") are its own: counted apart, never in the error ratio. With
// log_source.path it reads that file, and runs while the database is unreachable too; without one
// it reads the server's current log through SQL (ServerLogFollower). It polls every probe_interval.
class LogCollector final : public Collector {
 public:
  explicit LogCollector(const config::Target& target);

  [[nodiscard]] bool NeedsConnection() const override { return server_.has_value(); }
  void Collect(CollectContext& context, metrics::FamilySet& out) override;

  static constexpr std::size_t kMaxRecord = 64 * 1024;
  static constexpr std::size_t kRecentErrors = 100;
  // Error times kept for the error ratio at most; beyond, the oldest go first.
  static constexpr std::size_t kErrorTimes = 200000;

 private:
  void Count(const LogRecord& record, CollectContext& context);

  bool csv_;
  std::optional<FileFollower> file_;         // log_source.path is set
  std::optional<ServerLogFollower> server_;  // otherwise
  RecordSplitter splitter_;
  std::map<std::pair<std::string, std::string>, double> counts_;  // (severity, class)
  std::map<std::string, double> errors_by_source_;                // application, agent
};

// A log line's time ("2026-11-22 09:59:31.123 UTC") as milliseconds of that wall time read as
// UTC, the zone ignored; nullopt if it is not in that form.
[[nodiscard]] std::optional<std::int64_t> LogTimeMillis(std::string_view log_time);

// A log line's time as ISO 8601 in UTC when the server logs in UTC, else as the server wrote it.
[[nodiscard]] std::string IsoTimestamp(const std::string& log_time);

}  // namespace pgvigil::collectors
