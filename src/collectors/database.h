#pragma once

#include <deque>
#include <string>

#include "collectors/collector.h"

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
  // The agent's own transactions due in pg_stat_database (completed a flush lag before the
  // poll) and not yet taken out of what it showed: a backend flushes its counts lazily, so
  // some show an interval late. Taken out as counts show, oldest first, so that over the
  // window the sum is exact; forgotten after kOwnLagLimit.
  struct Pending {
    SteadyClock::time_point due;  // the poll they became due at
    double count;
  };
  static double TakeOwn(std::deque<Pending>& pending, double observed);

  std::optional<Totals> previous_;
  SteadyClock::time_point previous_at_{};
  pg::OwnLoad::Counts previous_own_;
  std::deque<Pending> own_commits_;
  std::deque<Pending> own_rollbacks_;
};

// PostgreSQL 14 added the sessions_* columns.
[[nodiscard]] std::string DatabaseSql(int server_version_num);

}  // namespace pgvigil::collectors
