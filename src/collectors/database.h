#pragma once

#include <span>
#include <string>

#include "collectors/collector.h"
#include "pg/own_load.h"

namespace pgvigil::collectors {

// pg_stat_database: commits, rollbacks, deadlocks, conflicts, temp files, block I/O and, on
// PostgreSQL 14+, session outcomes, per database. Also feeds the rollback ratio and deadlock
// count that /health reports over its window.
class DatabaseCollector final : public Collector {
 public:
  explicit DatabaseCollector(const config::Target& /*target*/) {}
  void Collect(CollectContext& context, metrics::FamilySet& out) override;

 private:
  struct Totals {
    double commits = 0;
    double rollbacks = 0;
    double deadlocks = 0;
  };
  std::optional<Totals> previous_;
  SteadyClock::time_point previous_at_{};
  pg::OwnTransactions own_;  // the agent's own transactions, taken out of the window's deltas
};

// The series the database collector exports (docs/metrics.md).
[[nodiscard]] std::span<const metrics::Descriptor> DatabaseMetrics();

// PostgreSQL 14 added the sessions_* columns.
[[nodiscard]] std::string DatabaseSql(int server_version_num);

}  // namespace pgvigil::collectors
