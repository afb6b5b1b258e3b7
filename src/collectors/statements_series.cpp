#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>
#include <set>

#include "collectors/statements.h"

// The statements collector's series: what it declares and how a collection is published
// (docs/metrics.md, pg_stat_statements).
namespace pgvigil::collectors {
namespace {

using prometheus::MetricType;

// The slowest statements /health lists.
constexpr std::size_t kTopSlow = 10;

const metrics::Descriptor kCalls{"pg_stat_statements_calls_total",
                                 MetricType::Counter,
                                 "Statement executions (top N, and the rest as queryid=\"other\").",
                                 {"datname", "user", "queryid"}};
const metrics::Descriptor kSeconds{"pg_stat_statements_seconds_total",
                                   MetricType::Counter,
                                   "Statement execution time, in seconds.",
                                   {"datname", "user", "queryid"}};
const metrics::Descriptor kRows{"pg_stat_statements_rows_total",
                                MetricType::Counter,
                                "Rows returned or affected by statements.",
                                {"datname", "user", "queryid"}};
const metrics::Descriptor kTransactions{
    "pgvigil_transactions_total",
    MetricType::Counter,
    "pg_stat_database transactions by kind: the application's, its pools' housekeeping run as "
    "transactions of their own, the agent's own.",
    {"kind"}};
const metrics::Descriptor kRollbacks{"pgvigil_transaction_rollbacks_total",
                                     MetricType::Counter,
                                     "Of those transactions, the ones rolled back.",
                                     {"kind"}};
const metrics::Descriptor kStatementsByKind{
    "pgvigil_statements_total",
    MetricType::Counter,
    "pg_stat_statements calls by kind: the application's work, its pools' housekeeping, the "
    "agent's own.",
    {"kind"}};
const metrics::Descriptor kSecondsByKind{"pgvigil_statement_seconds_total",
                                         MetricType::Counter,
                                         "Execution time of those calls, in seconds.",
                                         {"kind"}};
const metrics::Descriptor kSlowStatements{
    "pg_stat_statements_slow_statements",
    MetricType::Gauge,
    "Statements whose mean execution time over the last interval exceeded slow_query_threshold.",
    {}};
const metrics::Descriptor kTracked{
    "pg_stat_statements_tracked", MetricType::Gauge, "Entries in pg_stat_statements.", {}};
const metrics::Descriptor kMax{"pg_stat_statements_max",
                               MetricType::Gauge,
                               "pg_stat_statements.max: entries it can hold.",
                               {}};
const metrics::Descriptor kDealloc{
    "pg_stat_statements_dealloc_total",
    MetricType::Counter,
    "Times pg_stat_statements evicted its least-used entries (PostgreSQL 14+).",
    {}};

}  // namespace

std::span<const metrics::Descriptor> StatementsMetrics() {
  static const metrics::Descriptor all[] = {
      kCalls,         kSeconds,        kRows,    kTransactions, kRollbacks, kStatementsByKind,
      kSecondsByKind, kSlowStatements, kTracked, kMax,          kDealloc};
  return all;
}

std::vector<StatementKey> StatementsCollector::Publish(CollectContext& context,
                                                       metrics::FamilySet& out,
                                                       const Observations::StatementsDelta& step) {
  for (const auto& [key, member] : exported_.members()) {
    const Exported& series = member.value;
    const metrics::Labels labels{{"datname", series.datname},
                                 {"user", series.user},
                                 {"queryid", std::to_string(key.queryid)}};
    out.Add(kCalls, labels, series.total.calls);
    out.Add(kSeconds, labels, series.total.exec_ms / 1000);
    out.Add(kRows, labels, series.total.rows);
  }
  for (const auto& [names, totals] : other_) {
    const metrics::Labels labels{
        {"datname", names.first}, {"user", names.second}, {"queryid", "other"}};
    out.Add(kCalls, labels, totals.calls);
    out.Add(kSeconds, labels, totals.exec_ms / 1000);
    out.Add(kRows, labels, totals.rows);
  }

  kinds_["work"].calls += step.work_calls;
  kinds_["work"].seconds += step.work_ms / 1000;
  kinds_["housekeeping"].calls += step.housekeeping_calls;
  kinds_["housekeeping"].seconds += step.housekeeping_ms / 1000;
  kinds_["agent"].calls += step.agent_calls;
  kinds_["agent"].seconds += step.agent_ms / 1000;
  if (step.has_transactions || transactions_.all > 0) {
    out.Add(kTransactions, {{"kind", "work"}}, transactions_.work);
    out.Add(kTransactions, {{"kind", "housekeeping"}}, transactions_.housekeeping);
    out.Add(kTransactions, {{"kind", "agent"}}, transactions_.agent);
    out.Add(kRollbacks, {{"kind", "work"}}, transactions_.rollbacks);
    out.Add(kRollbacks, {{"kind", "agent"}}, transactions_.agent_rollbacks);
  }
  for (const auto& [kind, totals] : kinds_) {
    out.Add(kStatementsByKind, {{"kind", kind}}, totals.calls);
    out.Add(kSecondsByKind, {{"kind", kind}}, totals.seconds);
  }

  // Slow statements, the agent's own calls left out: by the last interval for the gauge, by the
  // health window for /health.
  double slow_last_interval = 0;
  std::vector<std::pair<StatementKey, Observations::SlowStatement>> slow;
  std::size_t over_threshold = 0;
  for (const auto& [key, statement] : statements_) {
    const double others = statement.delta.calls - statement.own_delta.calls;
    const double others_ms = statement.delta.exec_ms - statement.own_delta.exec_ms;
    if (others > 0 && others_ms / others > slow_threshold_ms_) slow_last_interval += 1;
    StatementCounters window;
    for (const auto& [at, recent] : statement.recent) {
      window.calls += recent.calls;
      window.exec_ms += recent.exec_ms;
    }
    if (window.calls <= 0 || window.exec_ms / window.calls <= slow_threshold_ms_) continue;
    ++over_threshold;
    slow.push_back(
        {key,
         {key.queryid == kHiddenQueryId ? "" : std::to_string(key.queryid), DatabaseName(key.dbid),
          RoleName(key.userid), window.calls, window.exec_ms / window.calls, ""}});
  }
  std::sort(slow.begin(), slow.end(),
            [](const auto& a, const auto& b) { return a.second.mean_ms > b.second.mean_ms; });
  if (slow.size() > kTopSlow) slow.resize(kTopSlow);
  out.Add(kSlowStatements, {}, slow_last_interval);
  out.Add(kTracked, {}, tracked_);
  if (max_) out.Add(kMax, {}, *max_);
  if (dealloc_) out.Add(kDealloc, {}, *dealloc_);

  auto& view = context.observations.statements;
  view.over_threshold = over_threshold;
  view.top.clear();
  std::vector<StatementKey> keys;
  for (auto& [key, statement] : slow) {
    keys.push_back(key);
    view.top.push_back(std::move(statement));
  }
  return keys;
}

}  // namespace pgvigil::collectors
