#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace pgvigil::pg {

// A statement's text reduced to what pg_stat_statements keeps of it, for comparison: leading
// comments dropped (PostgreSQL 18 stores statements without them), every constant, parameter
// ($1) and true/false/null as "?", whitespace runs as one space, ASCII letters outside quoted
// identifiers lower-cased, trailing semicolons dropped. The agent's own SQL and the text
// pg_stat_statements shows for it have the same fingerprint as long as that SQL holds no typed
// literal (interval '1 s') and no negative number, whose constant pg_stat_statements widens.
[[nodiscard]] std::string Fingerprint(std::string_view sql);

// What the agent itself ran against one target: every statement sent on the monitoring session
// and by the connect probe, with its outcome and time, keyed by fingerprint. The one place the
// agent's own load is counted; collectors and /health subtract these exact counts instead of
// guessing from query text. Owned by the target's worker and used on its thread only.
class OwnLoad {
 public:
  struct Counts {
    std::uint64_t ok = 0;      // statements that completed (pg_stat_statements counts these)
    std::uint64_t failed = 0;  // statements that ended in an error (rolled back)
    double seconds = 0;        // client-side round trips of the completed ones
  };
  using ByFingerprint = std::map<std::string, Counts, std::less<>>;

  using Clock = std::chrono::steady_clock;

  // One statement per call, completed `at`: the ledger is exact only if `sql` holds a single
  // statement.
  void Record(std::string_view sql, bool ok, double seconds, Clock::time_point at = Clock::now());

  // Cumulative counts since the worker started.
  [[nodiscard]] const ByFingerprint& Statements() const { return statements_; }
  [[nodiscard]] Counts Total() const { return total_; }
  // Cumulative counts of the statements completed by `at`, to 100 ms (within the last minute;
  // earlier times give the counts as of a minute ago).
  [[nodiscard]] Counts TotalAt(Clock::time_point at) const;

 private:
  static constexpr auto kHistory = std::chrono::seconds(60);
  static constexpr auto kResolution = std::chrono::milliseconds(100);

  ByFingerprint statements_;
  Counts total_;
  std::deque<std::pair<Clock::time_point, Counts>> history_;  // total_ after each statement
  Counts before_history_;
};

}  // namespace pgvigil::pg
