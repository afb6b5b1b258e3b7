#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "collectors/collector.h"

namespace pgvigil::collectors {

// pg_stat_statements, read without query text. Counters are turned into deltas in the agent,
// keyed by (userid, dbid, queryid); resets and evictions never yield a negative or doubled
// delta. The top statements_top_n by recent execution time are exported one series each, with
// hysteresis so series do not churn; everything else goes to one queryid="other" series per
// (datname, user). Every delta lands in exactly one series, so sums over queryid equal the
// server's totals and every exported counter only grows.
class StatementsCollector final : public Collector {
 public:
  explicit StatementsCollector(const config::Target& target);
  void Collect(CollectContext& context, metrics::FamilySet& out) override;

  // Polls a statement stays exported after leaving the top N.
  static constexpr int kHysteresisPolls = 10;

 private:
  struct Key {
    std::uint32_t userid = 0;
    std::uint32_t dbid = 0;
    std::int64_t queryid = 0;
    auto operator<=>(const Key&) const = default;
  };
  struct Counters {
    double calls = 0;
    double exec_ms = 0;
    double rows = 0;
  };
  struct Statement {
    Counters last;     // the server's values at the last poll
    Counters delta;    // since the poll before
    double score = 0;  // execution time, exponentially decayed per poll
    std::string datname;
    std::string user;
    // Non-zero deltas within the health window. A vector: most statements have none, and an
    // empty std::deque still allocates, thousands of times over.
    std::vector<std::pair<SteadyClock::time_point, Counters>> recent;
    std::optional<bool> own;  // the agent's own statement; unknown until its text is read
  };
  struct Exported {
    Counters total;
    std::string datname;
    std::string user;
    int polls_outside_top = 0;
  };

  void ReadInfo(pg::Session& session, bool& reset_all);
  void UpdateExportedSet(bool baseline);
  void FetchTexts(pg::Session& session, const std::vector<Key>& wanted);
  // Exports the series and the /health view; returns the keys of view.top, slowest first.
  std::vector<Key> Publish(CollectContext& context, metrics::FamilySet& out);

  int top_n_;
  double slow_threshold_ms_;
  bool baseline_done_ = false;
  std::map<Key, Statement> statements_;
  std::map<Key, Exported> exported_;
  std::map<std::pair<std::string, std::string>, Counters> other_;
  std::map<Key, std::string> texts_;  // truncated query text, bounded by the tracked entries
  std::optional<std::string> stats_reset_;
  std::optional<double> dealloc_;
  double tracked_ = 0;
  std::optional<double> max_;
  std::uint32_t own_userid_ = 0;
  std::uint32_t own_dbid_ = 0;
};

// The counters query for a server version: 12 names the execution time total_time, 13+
// total_exec_time; 14+ may hold a statement twice (toplevel true and false), summed here.
[[nodiscard]] std::string StatementsSql(int server_version_num);

}  // namespace pgvigil::collectors
