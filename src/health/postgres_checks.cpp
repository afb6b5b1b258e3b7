#include "health/postgres_checks.h"

#include <chrono>
#include <string>

#include "health/maintenance_checks.h"
#include "health/replication_checks.h"

namespace pgvigil::health {
namespace {

using json = nlohmann::ordered_json;

void AddConnectionUsage(const TargetInput& input, const config::HealthConfig& config,
                        Checks& checks) {
  const auto& conn = input.observations->connections;
  if (input.reachable && conn.known && conn.max > 0) {
    const double ratio = conn.used / conn.max;
    checks.Ratio("connection_usage", ratio, config.connection_usage,
                 Format(ratio, 3) + " of " + std::to_string(Count(conn.max)) + " (" +
                     std::to_string(Count(conn.used)) + " connections used");
  } else {
    checks.Add(Unknown("connection_usage", input.reachable ? MissingData(input, "activity")
                                                           : "the target is unreachable"),
               "");
  }
}

void AddErrorRatio(const ErrorRatio& ratio, const config::HealthConfig& config, Checks& checks) {
  if (!ratio.value) {
    checks.Add(Unknown("error_ratio", ratio.detail), "");
    return;
  }
  const Level level = LevelOf(*ratio.value, config.error_ratio.warn, config.error_ratio.critical);
  const double limit =
      level == Level::kCritical ? config.error_ratio.critical : config.error_ratio.warn;
  const std::string what =
      ratio.source == "log"
          ? Format(ratio.errors, 0) + " application errors against " + Format(ratio.statements, 0) +
                " work statements in the server log's window"
      : ratio.transactions ? Format(ratio.rollbacks, 0) + " of " + Format(*ratio.transactions, 0) +
                                 " application transactions rolled back (no log "
                                 "source)"
                           : "transactions rolled back (no log source)";
  checks.Add({"error_ratio",
              level,
              std::nullopt,
              {{"value", Rounded(*ratio.value)},
               {"warn", config.error_ratio.warn},
               {"critical", config.error_ratio.critical},
               {"source", ratio.source}}},
             Format(*ratio.value, 4) + ", " + what + " (> " + Format(limit, 4) + ")");
}

void AddLogSource(const TargetInput& input, Checks& checks) {
  const auto& log = input.observations->log;
  if (log.source.empty() || !log.started) return;
  const auto quiet = input.now - log.last_line.value_or(*log.started);
  const auto quiet_seconds = std::chrono::duration_cast<std::chrono::seconds>(quiet).count();
  // With the heartbeat on, lines that arrive but never carry it (a wrong line_prefix) are as
  // useless as none: no window can be judged.
  const auto no_heartbeat = input.now - log.last_heartbeat.value_or(*log.started);
  const auto no_heartbeat_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(no_heartbeat).count();
  if (quiet > log.silent_after) {
    checks.Add({"log_source",
                Level::kWarn,
                std::nullopt,
                {{"source", log.source}, {"silent_seconds", quiet_seconds}}},
               "no server log line from " + log.source + " for " + std::to_string(quiet_seconds) +
                   " s, not even the agent's heartbeat: the error ratio cannot be judged (check "
                   "the forwarder, the listener or drain address, and log_min_messages)");
  } else if (log.heartbeat && input.reachable && no_heartbeat > log.silent_after) {
    checks.Add({"log_source",
                Level::kWarn,
                std::nullopt,
                {{"source", log.source}, {"silent_seconds", no_heartbeat_seconds}}},
               "lines arrive from " + log.source + " but the agent's heartbeat has not for " +
                   std::to_string(no_heartbeat_seconds) +
                   " s: the error ratio cannot be judged (check line_prefix against the "
                   "server's log_line_prefix; pgvigil_log_lines_total{outcome=\"unparsed\"} "
                   "counts what did not match)");
  } else {
    checks.Add({"log_source",
                Level::kOk,
                std::nullopt,
                {{"source", log.source},
                 {"delay_seconds",
                  log.delay_seconds ? json(Rounded(*log.delay_seconds)) : json(nullptr)}}},
               "");
  }
}

void AddProbeLatency(const TargetInput& input, const config::HealthConfig& config, Checks& checks) {
  const auto p95 = input.observations->probe.latencies.Quantile(0.95);
  if (!p95) {
    checks.Add(Unknown("probe_latency", "no successful probe within the health window"), "");
    return;
  }
  const double warn_ms = static_cast<double>(config.probe_latency.warn.count());
  const double critical_ms = static_cast<double>(config.probe_latency.critical.count());
  const Level level = LevelOf(Milliseconds(*p95), warn_ms, critical_ms);
  checks.Add(
      {"probe_latency",
       level,
       std::nullopt,
       {{"value_ms", Milliseconds(*p95)}, {"warn_ms", warn_ms}, {"critical_ms", critical_ms}}},
      "SELECT 1 takes " + Format(Milliseconds(*p95), 1) + " ms at the 95th percentile (> " +
          Format(level == Level::kCritical ? critical_ms : warn_ms, 0) + " ms)");
}

void AddMeanQueryTime(const TargetInput& input, const config::HealthConfig& config,
                      Checks& checks) {
  const auto& statements = input.observations->statements;
  double work_calls = 0;
  double work_ms = 0;
  for (const auto& step : statements.window) {
    work_calls += step.work_calls;
    work_ms += step.work_ms;
  }
  if (!statements.available) {
    checks.Add(Unknown("mean_query_time", StatementsMissing(input)), "");
  } else if (work_calls <= 0) {
    checks.Add(Unknown("mean_query_time",
                       "no application statements completed within the window (the agent's own "
                       "and pool housekeeping are left out)"),
               "");
  } else {
    const double mean_ms = work_ms / work_calls;
    const double warn_ms = static_cast<double>(config.mean_query_time.warn.count());
    const double critical_ms = static_cast<double>(config.mean_query_time.critical.count());
    const Level level = LevelOf(mean_ms, warn_ms, critical_ms);
    checks.Add({"mean_query_time",
                level,
                std::nullopt,
                {{"value_ms", Rounded(mean_ms)},
                 {"warn_ms", config.mean_query_time.warn.count()},
                 {"critical_ms", config.mean_query_time.critical.count()}}},
               "application statements took " + Format(mean_ms, 1) + " ms on average over " +
                   Format(work_calls, 0) + " calls (> " +
                   Format(level == Level::kCritical ? critical_ms : warn_ms, 0) + " ms)");
  }
}

void AddSlowQueries(const TargetInput& input, Checks& checks) {
  const auto& conn = input.observations->connections;
  const auto& statements = input.observations->statements;
  if (!input.reachable || !conn.known) {
    checks.Add(Unknown("slow_queries", input.reachable ? MissingData(input, "activity")
                                                       : "the target is unreachable"),
               "");
    return;
  }
  const std::size_t over = statements.available ? statements.over_threshold : 0;
  const bool slow = conn.slow_active > 0 || over > 0;
  const std::string threshold = std::to_string(input.slow_query_threshold.count()) + " ms";
  checks.Add({"slow_queries",
              slow ? Level::kWarn : Level::kOk,
              std::nullopt,
              {{"value", Count(conn.slow_active) + static_cast<long long>(over)},
               {"active", Count(conn.slow_active)},
               {"statements_over_threshold", statements.available ? json(over) : json(nullptr)}}},
             std::to_string(Count(conn.slow_active)) + " active queries running longer than " +
                 threshold + ", " + std::to_string(over) + " statements with a mean over " +
                 threshold + " in the window");
}

void AddConnectProbe(const TargetInput& input, Checks& checks) {
  const auto& probe = input.observations->probe;
  if (!input.connect_probe_enabled) {
    checks.Add(Unknown("connect_probe", "connect_probe_interval is 0s"), "");
  } else if (probe.connect_error) {
    checks.Add(
        {"connect_probe", Level::kCritical, "a new connection failed: " + *probe.connect_error},
        "");
  } else if (probe.connect_last_seconds) {
    checks.Add({"connect_probe", Level::kOk}, "");
  } else {
    checks.Add(Unknown("connect_probe", "no connect probe has run yet"), "");
  }
}

}  // namespace

Checks PostgresChecks(const TargetInput& input, const config::HealthConfig& config,
                      const ErrorRatio& ratio) {
  Checks checks;
  checks.Add(Reachable(input), "");
  AddConnectionUsage(input, config, checks);
  AddErrorRatio(ratio, config, checks);
  AddLogSource(input, checks);
  AddProbeLatency(input, config, checks);
  AddMeanQueryTime(input, config, checks);
  AddSlowQueries(input, checks);
  AddConnectProbe(input, checks);
  AddReplicationChecks(input, config, checks);
  AddMaintenanceChecks(input, config, checks);
  return checks;
}

json PostgresNotes(const TargetInput& input) {
  const collectors::Observations& obs = *input.observations;
  json notes = json::array();
  if (!obs.log.source.empty() && obs.log.started && obs.log.errors_without_sqlstate > 0) {
    notes.push_back(std::to_string(Count(obs.log.errors_without_sqlstate)) +
                    " application errors in the server log carried no SQLSTATE, counted as "
                    "sqlstate_class \"\": add %e to log_line_prefix or set "
                    "log_error_verbosity = verbose where the provider allows it");
  }
  if (obs.capabilities.known && !obs.capabilities.pg_monitor) {
    notes.push_back(
        "the monitoring role lacks pg_monitor: " + std::to_string(Count(obs.connections.hidden)) +
        " sessions of other roles count in connections.used but show state 'unknown' (their "
        "state, query and waits are hidden), and their statements have no queryid or text, so "
        "all of them count as work; GRANT pg_monitor TO the monitoring role");
  }
  if (!obs.probe.late.empty()) {
    notes.push_back(std::to_string(obs.probe.late.size()) +
                    " probes in the window started more than 250 ms late because the agent "
                    "itself was busy (its threads were not scheduled): their latencies may "
                    "include the agent's own delay, not only the database's");
  }
  if (obs.capabilities.known && !collectors::HasPgStatStatements(obs)) {
    notes.push_back((obs.statements.unavailable.empty()
                         ? std::string("pg_stat_statements is not available")
                         : obs.statements.unavailable) +
                    ": statement timing is unavailable and the error ratio falls back to "
                    "rollbacks");
  }
  AddReplicationNotes(input, notes);
  if (input.reachable) {
    for (const std::string& unavailable : obs.maintenance.unavailable) notes.push_back(unavailable);
  }
  return notes;
}

}  // namespace pgvigil::health
