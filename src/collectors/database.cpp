#include "collectors/database.h"

#include <array>

namespace pgvigil::collectors {
namespace {

// When the agent's own transactions show in pg_stat_database: a backend flushes its counts
// when it goes idle, at most once a second (PostgreSQL 15+; every 0.5 s to the collector
// before). Those completed this long before a poll are due in it.
constexpr std::chrono::milliseconds kOwnFlushLag{1000};
// Due ones not seen after this never will be (they are forgotten, not subtracted forever).
constexpr std::chrono::seconds kOwnLagLimit{30};

struct Counter {
  const char* column;
  const char* metric;
  const char* help;
  bool since_14;
};

constexpr std::array<Counter, 12> kCounters{{
    {"xact_commit", "pg_stat_database_xact_commit_total", "Transactions committed.", false},
    {"xact_rollback", "pg_stat_database_xact_rollback_total", "Transactions rolled back.", false},
    {"deadlocks", "pg_stat_database_deadlocks_total", "Deadlocks detected.", false},
    {"conflicts", "pg_stat_database_conflicts_total",
     "Queries cancelled by recovery conflicts (standbys).", false},
    {"temp_files", "pg_stat_database_temp_files_total", "Temporary files created by queries.",
     false},
    {"temp_bytes", "pg_stat_database_temp_bytes_total",
     "Bytes written to temporary files by queries.", false},
    {"blks_read", "pg_stat_database_blks_read_total", "Disk blocks read (not in shared buffers).",
     false},
    {"blks_hit", "pg_stat_database_blks_hit_total", "Disk blocks found in shared buffers.", false},
    {"sessions", "pg_stat_database_sessions_total", "Sessions established (PostgreSQL 14+).", true},
    {"sessions_fatal", "pg_stat_database_sessions_fatal_total",
     "Sessions terminated by a fatal error (PostgreSQL 14+).", true},
    {"sessions_killed", "pg_stat_database_sessions_killed_total",
     "Sessions terminated by operator intervention (PostgreSQL 14+).", true},
    {"sessions_abandoned", "pg_stat_database_sessions_abandoned_total",
     "Sessions whose client disconnected without ending them (PostgreSQL 14+).", true},
}};

}  // namespace

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

double DatabaseCollector::TakeOwn(std::deque<Pending>& pending, double observed) {
  double taken = 0;
  while (!pending.empty() && taken < observed) {
    const double take = std::min(pending.front().count, observed - taken);
    taken += take;
    pending.front().count -= take;
    if (pending.front().count <= 0) pending.pop_front();
  }
  return taken;
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
      out.Gauge("pg_stat_database_numbackends", "Backends connected to the database.", labels,
                *backends);
    }
    for (const Counter& counter : kCounters) {
      if (counter.since_14 && version < 140000) continue;
      // A NULL counter is skipped, never reported as 0.
      auto value = rows.Number(row, rows.Column(counter.column));
      if (!value) continue;
      out.Counter(counter.metric, counter.help, labels, *value);
      if (std::string_view(counter.column) == "xact_commit") totals.commits += *value;
      if (std::string_view(counter.column) == "xact_rollback") totals.rollbacks += *value;
      if (std::string_view(counter.column) == "deadlocks") totals.deadlocks += *value;
    }
  }

  // Window deltas for /health, without the agent's own transactions: each statement it sends
  // is one transaction, committed if it completed and rolled back if it failed.
  const pg::OwnLoad::Counts own = context.own_load.TotalAt(context.now - kOwnFlushLag);
  if (previous_) {
    auto delta = [](double now, double before) { return now >= before ? now - before : now; };
    for (auto* pending : {&own_commits_, &own_rollbacks_}) {
      while (!pending->empty() && pending->front().due < context.now - kOwnLagLimit) {
        pending->pop_front();
      }
    }
    own_commits_.push_back({context.now, static_cast<double>(own.ok - previous_own_.ok)});
    own_rollbacks_.push_back({context.now, static_cast<double>(own.failed - previous_own_.failed)});
    Observations::DatabaseDelta step;
    step.from = previous_at_;
    step.at = context.now;
    const double commits = delta(totals.commits, previous_->commits);
    const double rollbacks = delta(totals.rollbacks, previous_->rollbacks);
    step.commits = commits - TakeOwn(own_commits_, commits);
    step.rollbacks = rollbacks - TakeOwn(own_rollbacks_, rollbacks);
    step.deadlocks = delta(totals.deadlocks, previous_->deadlocks);
    context.observations.database.push_back(step);
  }
  previous_ = totals;
  previous_at_ = context.now;
  previous_own_ = own;
  while (!context.observations.database.empty() &&
         context.observations.database.front().at < context.now - context.health_window) {
    context.observations.database.pop_front();
  }
}

}  // namespace pgvigil::collectors
