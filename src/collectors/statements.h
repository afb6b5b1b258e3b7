#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "collectors/collector.h"
#include "collectors/own_load_attribution.h"
#include "collectors/statement_texts.h"
#include "collectors/statements_delta.h"
#include "collectors/statements_sql.h"
#include "collectors/top_n.h"
#include "pg/own_load.h"

namespace pgvigil::collectors {

// The series the statements collector exports (docs/metrics.md).
[[nodiscard]] std::span<const metrics::Descriptor> StatementsMetrics();

// pg_stat_statements, read without query text. Counters are turned into deltas in the agent,
// keyed by (userid, dbid, queryid); resets and evictions never yield a negative or doubled
// delta (statements_delta.h). The top statements_top_n by recent execution time are exported one
// series each, with hysteresis so series do not churn (top_n.h); everything else goes to one
// queryid="other" series per (datname, user). Every delta lands in exactly one series, so sums
// over queryid equal the server's totals and every exported counter only grows.
//
// Every delta is also split by kind (docs/configuration.md, how the agent counts its own load):
// `agent` is exactly what the agent's own load says it ran (own_load_attribution.h), taken out of
// the entry it landed in, so an application statement that shares the entry (a pool's SELECT 1
// under the same role) keeps its calls; `housekeeping` is what matches housekeeping_statements;
// the rest is the application's `work`. Texts are read only for the statements with the most
// calls that lack one, and cached while tracked (statement_texts.h).
//
// The extension is looked up (pg_extension, and the library loaded) before every poll
// (statements_sql.h), so the agent never queries it where it is missing and starts by itself
// once it appears.
class StatementsCollector final : public Collector {
 public:
  explicit StatementsCollector(const config::Target& target);
  void Collect(CollectContext& context, metrics::FamilySet& out) override;

 private:
  struct Exported {
    StatementCounters total;
    std::string datname;
    std::string user;
  };
  struct KindTotals {
    double calls = 0;
    double seconds = 0;
  };

  // Follows the tracked statements to this read (and the names of their databases and roles).
  void Track(pg::Session& session, const StatementsExtension& extension, const pg::Rows& rows,
             bool reset_all);
  // Adds this poll's deltas to the series they land in.
  void Accumulate(bool baseline);
  // Splits this poll's deltas by kind into `step`; returns the housekeeping run as transactions
  // of their own, and the transaction blocks opened, by others than the agent.
  std::pair<double, double> SplitByKind(CollectContext& context, pg::Session& session,
                                        const StatementsExtension& extension,
                                        std::vector<OwnStatements>& own_now,
                                        const std::vector<OwnStatements>& own_after,
                                        Observations::StatementsDelta& step);
  // The application's transactions and rollbacks in this delta, for the error ratio without a
  // log source: pg_stat_database's, less the agent's own and the pools' housekeeping run as
  // transactions of their own (`housekeeping`); at least the transaction blocks opened
  // (`blocks`).
  void CountTransactions(CollectContext& context, Observations::StatementsDelta& step,
                         bool baseline, double housekeeping, double blocks);
  void UpdateExportedSet(bool baseline);
  // Exports the series and the /health view; returns the keys of view.top, slowest first.
  std::vector<StatementKey> Publish(CollectContext& context, metrics::FamilySet& out,
                                    const Observations::StatementsDelta& step);
  [[nodiscard]] const std::string& DatabaseName(std::uint32_t oid) const;
  [[nodiscard]] const std::string& RoleName(std::uint32_t oid) const;

  int top_n_;
  double slow_threshold_ms_;
  bool baseline_done_ = false;
  bool was_available_ = true;

  TrackedStatements statements_;
  // Names of the databases and roles statements_ refers to, by oid (read when a new one shows).
  std::map<std::uint32_t, std::string> database_names_;
  std::map<std::uint32_t, std::string> role_names_;
  TopNWithHysteresis<StatementKey, Exported> exported_;
  std::map<std::pair<std::string, std::string>, StatementCounters> other_;
  StatementTexts texts_;
  std::set<std::string, std::less<>> monitoring_roles_;
  OwnLoadAttribution attribution_;
  std::optional<std::string> stats_reset_;
  std::optional<double> dealloc_;
  double tracked_ = 0;
  std::optional<double> max_;
  std::uint32_t own_userid_ = 0;
  std::uint32_t own_dbid_ = 0;
  SteadyClock::time_point previous_poll_{};
  std::int64_t log_now_ms_ = 0;  // the server's clock at this poll, as its log writes it
  std::int64_t previous_log_ms_ = 0;
  std::map<std::string, KindTotals> kinds_;          // work, housekeeping, agent
  std::optional<DatabaseTransactions> xact_now_;     // pg_stat_database's sums at this poll
  std::optional<DatabaseTransactions> xact_before_;  // and at the last one
  pg::OwnTransactions own_transactions_;
  // Running totals since the first delta.
  struct TransactionTotals {
    double all = 0;           // pg_stat_database's, the agent's own left out
    double rollbacks = 0;     // of those, rolled back
    double housekeeping = 0;  // housekeeping statements run as transactions of their own
    double blocks = 0;        // transaction blocks opened by others than the agent
    double work = 0;          // the application's: never decreasing
    double agent = 0;
    double agent_rollbacks = 0;
  } transactions_;
};

}  // namespace pgvigil::collectors
