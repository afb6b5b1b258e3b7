#include "collectors/database.h"

#include <array>
#include <vector>

namespace pgvigil::collectors {
namespace {

using prometheus::MetricType;

const metrics::Descriptor kNumbackends{"pg_stat_database_numbackends",
                                       MetricType::Gauge,
                                       "Backends connected to the database.",
                                       {"datname"}};

// A pg_stat_database column exported as a counter of its own.
struct Counter {
  const char* column;
  metrics::Descriptor metric;
  bool since_14;
};

metrics::Descriptor PerDatabase(const char* name, const char* help) {
  return {name, MetricType::Counter, help, {"datname"}};
}

const std::array<Counter, 12> kCounters{{
    {"xact_commit", PerDatabase("pg_stat_database_xact_commit_total", "Transactions committed."),
     false},
    {"xact_rollback",
     PerDatabase("pg_stat_database_xact_rollback_total", "Transactions rolled back."), false},
    {"deadlocks", PerDatabase("pg_stat_database_deadlocks_total", "Deadlocks detected."), false},
    {"conflicts",
     PerDatabase("pg_stat_database_conflicts_total",
                 "Queries cancelled by recovery conflicts (standbys)."),
     false},
    {"temp_files",
     PerDatabase("pg_stat_database_temp_files_total", "Temporary files created by queries."),
     false},
    {"temp_bytes",
     PerDatabase("pg_stat_database_temp_bytes_total",
                 "Bytes written to temporary files by queries."),
     false},
    {"blks_read",
     PerDatabase("pg_stat_database_blks_read_total", "Disk blocks read (not in shared buffers)."),
     false},
    {"blks_hit",
     PerDatabase("pg_stat_database_blks_hit_total", "Disk blocks found in shared buffers."), false},
    {"sessions",
     PerDatabase("pg_stat_database_sessions_total", "Sessions established (PostgreSQL 14+)."),
     true},
    {"sessions_fatal",
     PerDatabase("pg_stat_database_sessions_fatal_total",
                 "Sessions terminated by a fatal error (PostgreSQL 14+)."),
     true},
    {"sessions_killed",
     PerDatabase("pg_stat_database_sessions_killed_total",
                 "Sessions terminated by operator intervention (PostgreSQL 14+)."),
     true},
    {"sessions_abandoned",
     PerDatabase("pg_stat_database_sessions_abandoned_total",
                 "Sessions whose client disconnected without ending them (PostgreSQL 14+)."),
     true},
}};

}  // namespace

std::span<const metrics::Descriptor> DatabaseMetrics() {
  static const std::vector<metrics::Descriptor> all = [] {
    std::vector<metrics::Descriptor> metrics{kNumbackends};
    for (const Counter& counter : kCounters) metrics.push_back(counter.metric);
    return metrics;
  }();
  return all;
}

std::string DatabaseSql(int server_version_num) {
  std::string sql =
      "SELECT datname, numbackends, xact_commit, xact_rollback, deadlocks, conflicts, "
      "temp_files, temp_bytes, blks_read, blks_hit";
  if (server_version_num >= 140000) {
    sql += ", sessions, sessions_fatal, sessions_killed, sessions_abandoned";
  }
  // The row with a NULL datname holds shared catalogs, not a database anyone connects to.
  return sql + " FROM pg_stat_database WHERE datname IS NOT NULL";
}

void DatabaseCollector::Collect(CollectContext& context, metrics::FamilySet& out) {
  const int version = context.session->ServerVersionNum();
  const pg::Rows rows = context.session->Query(DatabaseSql(version));
  const std::size_t datname = rows.Column("datname");
  const std::size_t numbackends = rows.Column("numbackends");
  Totals totals;
  for (std::size_t row = 0; row < rows.size(); ++row) {
    const metrics::Labels labels{{"datname", rows.Text(row, datname)}};
    if (auto backends = rows.Number(row, numbackends)) {
      out.Add(kNumbackends, labels, *backends);
    }
    for (const Counter& counter : kCounters) {
      if (counter.since_14 && version < 140000) continue;
      // A NULL counter is skipped, never reported as 0.
      auto value = rows.Number(row, rows.Column(counter.column));
      if (!value) continue;
      out.Add(counter.metric, labels, *value);
      if (std::string_view(counter.column) == "xact_commit") totals.commits += *value;
      if (std::string_view(counter.column) == "xact_rollback") totals.rollbacks += *value;
      if (std::string_view(counter.column) == "deadlocks") totals.deadlocks += *value;
    }
  }

  // Window deltas for /health, without the agent's own transactions (its statements and the
  // sessions it opened).
  if (previous_) {
    auto delta = [](double now, double before) { return now >= before ? now - before : now; };
    Observations::DatabaseDelta step;
    step.from = previous_at_;
    step.at = context.now;
    const double commits = delta(totals.commits, previous_->commits);
    const double rollbacks = delta(totals.rollbacks, previous_->rollbacks);
    const auto own = own_.Take(context.own_load, context.now, commits, rollbacks);
    step.commits = commits - own.commits;
    step.rollbacks = rollbacks - own.rollbacks;
    step.deadlocks = delta(totals.deadlocks, previous_->deadlocks);
    context.observations.database.push_back(step);
  } else {
    (void)own_.Take(context.own_load, context.now, 0, 0);
  }
  previous_ = totals;
  previous_at_ = context.now;
  while (!context.observations.database.empty() &&
         context.observations.database.front().at < context.now - context.health_window) {
    context.observations.database.pop_front();
  }
}

}  // namespace pgvigil::collectors
