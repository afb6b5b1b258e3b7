#include "health/health.h"

#include <chrono>
#include <optional>

#include "health/check.h"
#include "health/error_ratio.h"
#include "health/maintenance_checks.h"
#include "health/pgbouncer_checks.h"
#include "health/postgres_checks.h"
#include "health/replication_checks.h"

namespace pgvigil::health {
namespace {

using json = nlohmann::ordered_json;

json SlowTopJson(const collectors::Observations::Statements& statements) {
  json top = json::array();
  for (const auto& statement : statements.top) {
    top.push_back({{"queryid", statement.queryid},
                   {"datname", statement.datname},
                   {"user", statement.user},
                   {"calls", Count(statement.calls)},
                   {"mean_ms", Rounded(statement.mean_ms)},
                   {"query", statement.query}});
  }
  return top;
}

json RecentErrorsJson(const collectors::Observations::Log& log) {
  json recent = json::array();
  for (auto it = log.recent.rbegin(); it != log.recent.rend(); ++it) {
    recent.push_back({{"at", it->at},
                      {"severity", it->severity},
                      {"sqlstate", it->sqlstate},
                      {"message", it->message}});
  }
  return recent;
}

// The numbers /health and the status page's charts share, each computed in one place.
std::optional<double> ProbeMs(const collectors::Observations::Probe& probe) {
  if (!probe.ran || !probe.last_ok) return std::nullopt;
  return Milliseconds(probe.last_seconds);
}

std::optional<double> ConnectMs(const collectors::Observations::Probe& probe) {
  if (!probe.connect_last_seconds) return std::nullopt;
  return Milliseconds(*probe.connect_last_seconds);
}

// The server's connections are known (else /health writes `connections: null`).
bool ConnectionsKnown(const TargetInput& input) {
  const auto& conn = input.observations->connections;
  return input.reachable && conn.known && conn.max > 0;
}

double ConnectionUsage(const collectors::Observations::Connections& conn) {
  return Rounded(conn.used / conn.max);
}

std::optional<double> PoolUsage(const collectors::Observations::Pooler::Pool& pool) {
  if (pool.pool_size <= 0) return std::nullopt;
  return Rounded(pool.server_active / pool.pool_size);
}

// The pools /health lists: none until the pooler is known.
bool PoolsKnown(const TargetInput& input) {
  return input.reachable && input.observations->pooler.known;
}

std::optional<double> ErrorRatioValue(const ErrorRatio& ratio) {
  if (!ratio.value) return std::nullopt;
  return Rounded(*ratio.value);
}

json Nullable(std::optional<double> value) { return value ? json(*value) : json(nullptr); }

json LatencyJson(const collectors::Observations::Probe& probe) {
  json latency = json::object();
  auto quantile = [&](double q) {
    const std::optional<double> seconds = probe.latencies.Quantile(q);
    return Nullable(seconds ? std::optional<double>(Milliseconds(*seconds)) : std::nullopt);
  };
  latency["last"] = Nullable(ProbeMs(probe));
  latency["p50"] = quantile(0.50);
  latency["p95"] = quantile(0.95);
  latency["p99"] = quantile(0.99);
  latency["connect_last"] = Nullable(ConnectMs(probe));
  latency["late_probes"] = probe.late.size();
  return latency;
}

json CollectorsJson(const TargetInput& input) {
  json collectors = json::array();
  for (const auto& c : input.collectors) {
    collectors.push_back({{"name", c.name},
                          {"success", c.ran && c.success},
                          {"error", c.error.empty() ? json(nullptr) : json(c.error)}});
  }
  return collectors;
}

// The server's connections by state and by application, or null when they are not known.
json ConnectionsJson(const TargetInput& input) {
  const auto& conn = input.observations->connections;
  if (!ConnectionsKnown(input)) return nullptr;
  json connections = {{"used", Count(conn.used)},
                      {"max", Count(conn.max)},
                      {"usage_ratio", ConnectionUsage(conn)},
                      {"active", Count(conn.active)},
                      {"idle", Count(conn.idle)},
                      {"idle_in_transaction", Count(conn.idle_in_transaction)},
                      {"waiting", Count(conn.waiting)}};
  json by_application = json::array();
  for (const auto& application : conn.by_application) {
    by_application.push_back({{"application_name", application.name},
                              {"sessions", Count(application.sessions)},
                              {"active", Count(application.active)},
                              {"idle_in_transaction", Count(application.idle_in_transaction)}});
  }
  connections["by_application"] = std::move(by_application);
  return connections;
}

// Every pool as the last collection saw it; empty until the pooler is known.
json PoolsJson(const TargetInput& input) {
  json pools = json::array();
  if (!PoolsKnown(input)) return pools;
  for (const auto& pool : input.observations->pooler.pools) {
    pools.push_back({{"database", pool.database},
                     {"user", pool.user},
                     {"client_active", Count(pool.client_active)},
                     {"client_waiting", Count(pool.client_waiting)},
                     {"server_active", Count(pool.server_active)},
                     {"server_idle", Count(pool.server_idle)},
                     {"server_used", Count(pool.server_used)},
                     {"pool_size", Count(pool.pool_size)},
                     {"usage_ratio", Nullable(PoolUsage(pool))},
                     {"max_wait_seconds", Rounded(pool.max_wait_seconds)}});
  }
  return pools;
}

json EvaluatePgBouncer(const TargetInput& input, const config::HealthConfig& config) {
  const collectors::Observations& obs = *input.observations;
  const auto& pooler = obs.pooler;
  const bool known = input.reachable && pooler.known;
  const Checks checks = PgBouncerChecks(input, config);
  return {
      {"name", input.name},
      {"kind", "pgbouncer"},
      {"status", Status(input, checks)},
      {"reachable", input.reachable},
      {"last_error", input.reachable ? json(nullptr) : json(obs.last_error.value_or(""))},
      {"latency_ms", LatencyJson(obs.probe)},
      {"clients", known && pooler.clients ? json(Count(*pooler.clients)) : json(nullptr)},
      {"max_clients",
       known && pooler.max_clients ? json(Count(*pooler.max_clients)) : json(nullptr)},
      {"pools", PoolsJson(input)},
      {"checks", checks.ToJson()},
      {"reasons", checks.reasons()},
      {"notes", PgBouncerNotes(input)},
      {"collectors", CollectorsJson(input)},
  };
}

json EvaluatePostgres(const TargetInput& input, const config::HealthConfig& config) {
  const collectors::Observations& obs = *input.observations;
  const auto& conn = obs.connections;
  const auto& statements = obs.statements;
  const std::optional<double> rollback_ratio = RollbackRatio(obs);
  const ErrorRatio ratio = ComputeErrorRatio(input, rollback_ratio);
  const Checks checks = PostgresChecks(input, config, ratio);
  return {
      {"name", input.name},
      {"status", Status(input, checks)},
      {"reachable", input.reachable},
      {"server_version", obs.server.known ? json(obs.server.version) : json(nullptr)},
      {"in_recovery", conn.known
                          ? json(conn.in_recovery)
                          : (obs.server.known ? json(obs.server.in_recovery) : json(nullptr))},
      {"last_error", input.reachable ? json(nullptr) : json(obs.last_error.value_or(""))},
      {"latency_ms", LatencyJson(obs.probe)},
      {"connections", ConnectionsJson(input)},
      {"slow_queries",
       {{"threshold_ms", input.slow_query_threshold.count()},
        {"active", input.reachable && conn.known ? json(Count(conn.slow_active)) : json(nullptr)},
        {"statements_over_threshold",
         statements.available ? json(statements.over_threshold) : json(nullptr)},
        {"top", SlowTopJson(statements)}}},
      {"errors",
       {{"window_seconds", std::chrono::duration_cast<std::chrono::seconds>(config.window).count()},
        {"error_ratio", Nullable(ErrorRatioValue(ratio))},
        {"application_errors",
         ratio.value && ratio.source == "log" ? json(Count(ratio.errors)) : json(nullptr)},
        {"work_statements",
         ratio.value && ratio.source == "log" ? json(Count(ratio.statements)) : json(nullptr)},
        {"application_transactions",
         ratio.transactions ? json(Count(*ratio.transactions)) : json(nullptr)},
        {"application_rollbacks",
         ratio.transactions ? json(Count(ratio.rollbacks)) : json(nullptr)},
        {"error_ratio_source", ratio.value ? json(ratio.source) : json(nullptr)},
        {"rollback_ratio", rollback_ratio ? json(Rounded(*rollback_ratio)) : json(nullptr)},
        {"deadlocks", obs.database.empty() ? json(nullptr) : json(Count(Deadlocks(obs)))},
        {"probe_failures", obs.probe.failures.size()},
        {"recent", RecentErrorsJson(obs.log)}}},
      {"replication", ReplicationJson(input)},
      {"maintenance", MaintenanceJson(input)},
      {"checks", checks.ToJson()},
      {"reasons", checks.reasons()},
      {"notes", PostgresNotes(input)},
      {"collectors", CollectorsJson(input)},
  };
}

}  // namespace

Headline HeadlineOf(const TargetInput& input) {
  const collectors::Observations& obs = *input.observations;
  Headline headline;
  headline.probe_ms = ProbeMs(obs.probe);
  headline.connect_ms = ConnectMs(obs.probe);
  if (input.kind == config::TargetKind::kPgBouncer) {
    // /health lists no pools while unreachable: no number then; reachable with none, 0 waiting.
    if (!input.reachable) return headline;
    double waiting = 0;
    if (PoolsKnown(input)) {
      for (const auto& pool : obs.pooler.pools) {
        const std::optional<double> usage = PoolUsage(pool);
        if (usage && (!headline.pool_usage || *usage > *headline.pool_usage)) {
          headline.pool_usage = usage;
        }
        waiting += static_cast<double>(Count(pool.client_waiting));
      }
    }
    headline.clients_waiting = waiting;
    return headline;
  }
  if (ConnectionsKnown(input)) {
    headline.connection_usage = ConnectionUsage(obs.connections);
    for (const auto& application : obs.connections.by_application) {
      headline.applications.emplace_back(application.name,
                                         static_cast<double>(Count(application.sessions)));
    }
  }
  headline.error_ratio = ErrorRatioValue(ComputeErrorRatio(input, RollbackRatio(obs)));
  return headline;
}

json EvaluateTarget(const TargetInput& input, const config::HealthConfig& config) {
  if (input.kind == config::TargetKind::kPgBouncer) return EvaluatePgBouncer(input, config);
  return EvaluatePostgres(input, config);
}

std::string WorstStatus(const json& targets) {
  std::string worst = "ok";
  for (const auto& target : targets) {
    const std::string status = target.value("status", "ok");
    if (status == "down") return "down";
    if (status == "degraded") worst = "degraded";
  }
  return worst;
}

}  // namespace pgvigil::health
