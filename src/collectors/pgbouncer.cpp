#include "collectors/pgbouncer.h"

#include <map>
#include <vector>

namespace pgvigil::collectors {
namespace {

using prometheus::MetricType;

const metrics::Descriptor kPoolSize{
    "pgbouncer_pool_size",
    MetricType::Gauge,
    "Server connections a pool of the database may open: pool_size + its reserve "
    "(reserve_pool_size; reserve_pool before PgBouncer 1.24).",
    {"database"}};
const metrics::Descriptor kDatabaseMaxConnections{
    "pgbouncer_database_max_connections",
    MetricType::Gauge,
    "max_db_connections of the database entry (0 = no limit).",
    {"database"}};
const metrics::Descriptor kDatabaseCurrentConnections{
    "pgbouncer_database_current_connections",
    MetricType::Gauge,
    "Server connections of the database entry now.",
    {"database"}};
const metrics::Descriptor kPoolClientConnections{"pgbouncer_pool_client_connections",
                                                 MetricType::Gauge,
                                                 "Client connections of the pool by state.",
                                                 {"database", "user", "state"}};
const metrics::Descriptor kPoolServerConnections{"pgbouncer_pool_server_connections",
                                                 MetricType::Gauge,
                                                 "Server connections of the pool by state.",
                                                 {"database", "user", "state"}};
const metrics::Descriptor kPoolMaxWait{"pgbouncer_pool_max_wait_seconds",
                                       MetricType::Gauge,
                                       "Age of the pool's oldest waiting client.",
                                       {"database", "user"}};
const metrics::Descriptor kMaxClientConnections{
    "pgbouncer_config_max_client_connections", MetricType::Gauge, "max_client_conn.", {}};
const metrics::Descriptor kMaxUserConnections{"pgbouncer_config_max_user_connections",
                                              MetricType::Gauge,
                                              "max_user_connections (0 = no limit).",
                                              {}};
const metrics::Descriptor kClientConnections{
    "pgbouncer_client_connections",
    MetricType::Gauge,
    "Client connections to PgBouncer (SHOW LISTS used_clients).",
    {}};

// A value of a named column, if this version has the column and the value is a number.
std::optional<double> Value(const pg::Rows& rows, std::size_t row, std::string_view column) {
  const auto index = rows.FindColumn(column);
  return index ? rows.Number(row, *index) : std::nullopt;
}

std::string Text(const pg::Rows& rows, std::size_t row, std::string_view column) {
  const auto index = rows.FindColumn(column);
  return index ? rows.Text(row, *index) : std::string();
}

struct State {
  const char* column;
  const char* state;
};
constexpr State kClientStates[] = {{"cl_active", "active"},
                                   {"cl_waiting", "waiting"},
                                   {"cl_active_cancel_req", "active_cancel_req"},
                                   {"cl_waiting_cancel_req", "waiting_cancel_req"}};
constexpr State kServerStates[] = {{"sv_active", "active"},
                                   {"sv_idle", "idle"},
                                   {"sv_used", "used"},
                                   {"sv_tested", "tested"},
                                   {"sv_login", "login"},
                                   {"sv_active_cancel", "active_cancel"},
                                   {"sv_being_canceled", "being_canceled"}};

// A SHOW STATS column exported as a counter of its own.
struct StatsCounter {
  const char* column;
  metrics::Descriptor metric;
  double scale;  // to base units: PgBouncer's times are microseconds
};

metrics::Descriptor PerDatabase(const char* name, const char* help) {
  return {name, MetricType::Counter, help, {"database"}};
}

const StatsCounter kStats[] = {
    {"total_xact_count",
     PerDatabase("pgbouncer_stats_transactions_total",
                 "Transactions pooled (SHOW STATS total_xact_count)."),
     1},
    {"total_query_count",
     PerDatabase("pgbouncer_stats_queries_total", "Queries pooled (SHOW STATS total_query_count)."),
     1},
    {"total_received",
     PerDatabase("pgbouncer_stats_received_bytes_total",
                 "Bytes received from clients (SHOW STATS total_received)."),
     1},
    {"total_sent",
     PerDatabase("pgbouncer_stats_sent_bytes_total",
                 "Bytes sent to clients (SHOW STATS total_sent)."),
     1},
    {"total_xact_time",
     PerDatabase("pgbouncer_stats_transaction_seconds_total",
                 "Time spent in transactions, in seconds (SHOW STATS total_xact_time)."),
     1e-6},
    {"total_query_time",
     PerDatabase("pgbouncer_stats_query_seconds_total",
                 "Time spent in queries, in seconds (SHOW STATS total_query_time)."),
     1e-6},
    {"total_wait_time",
     PerDatabase("pgbouncer_stats_wait_seconds_total",
                 "Time clients waited for a server connection, in seconds (SHOW STATS "
                 "total_wait_time)."),
     1e-6},
};

}  // namespace

std::span<const metrics::Descriptor> PgBouncerMetrics() {
  static const std::vector<metrics::Descriptor> all = [] {
    std::vector<metrics::Descriptor> metrics{kPoolSize,
                                             kDatabaseMaxConnections,
                                             kDatabaseCurrentConnections,
                                             kPoolClientConnections,
                                             kPoolServerConnections,
                                             kPoolMaxWait};
    for (const StatsCounter& counter : kStats) metrics.push_back(counter.metric);
    metrics.insert(metrics.end(), {kMaxClientConnections, kMaxUserConnections, kClientConnections});
    return metrics;
  }();
  return all;
}

PgBouncerCollector::PgBouncerCollector(const config::Target& /*target*/) {}

void PgBouncerCollector::Collect(CollectContext& context, metrics::FamilySet& out) {
  pg::Session& session = *context.session;
  Observations::Pooler pooler;
  // Every command but SHOW POOLS may be refused to a less privileged account: then its series
  // are left out, and /health says which and why.
  auto show = [&](const char* command) -> std::optional<pg::Rows> {
    try {
      return session.Query(command);
    } catch (const pg::Error& error) {
      if (error.kind() != pg::ErrorKind::kQuery) throw;  // the connection is gone: a failure
      pooler.unavailable.push_back(std::string(command) + ": " + error.what());
      return std::nullopt;
    }
  };

  // SHOW DATABASES first: pool sizes are per database entry.
  std::map<std::string, double> pool_sizes;
  if (const auto databases = show("SHOW DATABASES")) {
    for (std::size_t row = 0; row < databases->size(); ++row) {
      const std::string name = Text(*databases, row, "name");
      const auto size = Value(*databases, row, "pool_size");
      if (size) {
        // The reserve's column is reserve_pool_size from 1.24, reserve_pool before.
        auto reserve = Value(*databases, row, "reserve_pool_size");
        if (!reserve) reserve = Value(*databases, row, "reserve_pool");
        pool_sizes[name] = *size + reserve.value_or(0);
        out.Add(kPoolSize, {{"database", name}}, pool_sizes[name]);
      }
      if (const auto max = Value(*databases, row, "max_connections")) {
        out.Add(kDatabaseMaxConnections, {{"database", name}}, *max);
      }
      if (const auto current = Value(*databases, row, "current_connections")) {
        out.Add(kDatabaseCurrentConnections, {{"database", name}}, *current);
      }
    }
  }

  const pg::Rows pools = session.Query("SHOW POOLS");
  for (std::size_t row = 0; row < pools.size(); ++row) {
    Observations::Pooler::Pool pool;
    pool.database = Text(pools, row, "database");
    pool.user = Text(pools, row, "user");
    const metrics::Labels labels{{"database", pool.database}, {"user", pool.user}};
    auto by_state = [&](const auto& states, const metrics::Descriptor& metric) {
      for (const auto& [column, state] : states) {
        if (const auto value = Value(pools, row, column)) {
          metrics::Labels with_state = labels;
          with_state.push_back({"state", state});
          out.Add(metric, with_state, *value);
        }
      }
    };
    by_state(kClientStates, kPoolClientConnections);
    by_state(kServerStates, kPoolServerConnections);
    pool.client_active = Value(pools, row, "cl_active").value_or(0);
    pool.client_waiting = Value(pools, row, "cl_waiting").value_or(0);
    pool.server_active = Value(pools, row, "sv_active").value_or(0) +
                         Value(pools, row, "sv_active_cancel").value_or(0);
    pool.server_idle = Value(pools, row, "sv_idle").value_or(0);
    pool.server_used = Value(pools, row, "sv_used").value_or(0);
    pool.max_wait_seconds = Value(pools, row, "maxwait").value_or(0) +
                            Value(pools, row, "maxwait_us").value_or(0) / 1e6;
    out.Add(kPoolMaxWait, labels, pool.max_wait_seconds);
    const auto size = pool_sizes.find(pool.database);
    pool.pool_size = size == pool_sizes.end() ? 0 : size->second;
    // The admin console's own virtual pool serves no client of the database: not judged.
    if (pool.database == "pgbouncer" && pool.user == "pgbouncer") continue;
    pooler.pools.push_back(std::move(pool));
  }

  if (const auto stats = show("SHOW STATS")) {
    for (std::size_t row = 0; row < stats->size(); ++row) {
      const metrics::Labels labels{{"database", Text(*stats, row, "database")}};
      for (const auto& counter : kStats) {
        if (const auto value = Value(*stats, row, counter.column)) {
          out.Add(counter.metric, labels, *value * counter.scale);
        }
      }
    }
  }

  if (const auto config = show("SHOW CONFIG")) {
    for (std::size_t row = 0; row < config->size(); ++row) {
      const std::string key = Text(*config, row, "key");
      if (key != "max_client_conn" && key != "max_user_connections") continue;  // not numbers all
      const auto value = Value(*config, row, "value");
      if (!value) continue;
      if (key == "max_client_conn") {
        pooler.max_clients = value;
        out.Add(kMaxClientConnections, {}, *value);
      } else if (key == "max_user_connections") {
        out.Add(kMaxUserConnections, {}, *value);
      }
    }
  }

  if (const auto lists = show("SHOW LISTS")) {
    for (std::size_t row = 0; row < lists->size(); ++row) {
      if (Text(*lists, row, "list") != "used_clients") continue;
      pooler.clients = Value(*lists, row, "items");
      if (pooler.clients) {
        out.Add(kClientConnections, {}, *pooler.clients);
      }
    }
  }

  pooler.known = true;
  context.observations.pooler = std::move(pooler);
}

}  // namespace pgvigil::collectors
