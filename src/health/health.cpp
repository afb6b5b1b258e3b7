#include "health/health.h"

#include <cmath>

namespace pgvigil::health {
namespace {

using json = nlohmann::ordered_json;

double Milliseconds(double seconds) { return std::round(seconds * 1e6) / 1e3; }

long long Count(double value) { return std::llround(value); }

double Rounded(double value) { return std::round(value * 1e4) / 1e4; }

std::string Level(double value, double warn, double critical) {
  if (value > critical) return "critical";
  if (value > warn) return "warn";
  return "ok";
}

json Unknown(const std::string& name, const std::string& detail) {
  return {{"name", name}, {"level", "unknown"}, {"detail", detail}};
}

// Why a collector's data is missing, in words an operator can act on.
std::string MissingData(const TargetInput& input, const std::string& collector) {
  for (const auto& status : input.collectors) {
    if (status.name != collector) continue;
    if (!status.ran) return "the " + collector + " collector has not run yet";
    if (!status.success) return "the " + collector + " collector failed: " + status.error;
    return "the " + collector + " collector returned no data";
  }
  return "the " + collector + " collector is disabled for this target";
}

std::optional<double> RollbackRatio(const collectors::Observations& obs) {
  if (obs.database.empty()) return std::nullopt;
  double commits = 0;
  double rollbacks = 0;
  for (const auto& step : obs.database) {
    commits += step.commits;
    rollbacks += step.rollbacks;
  }
  return commits + rollbacks > 0 ? rollbacks / (commits + rollbacks) : 0.0;
}

double Deadlocks(const collectors::Observations& obs) {
  double deadlocks = 0;
  for (const auto& step : obs.database) deadlocks += step.deadlocks;
  return deadlocks;
}

struct ErrorRatio {
  std::optional<double> value;
  std::string source;  // "log" or "rollbacks"
  std::string detail;  // why there is no value
};

// errors / (statements + errors) when the server log is read, else the rollback ratio.
ErrorRatio ComputeErrorRatio(const TargetInput& input, const collectors::Observations& obs,
                             std::optional<double> rollback_ratio) {
  if (obs.log.available && obs.statements.available) {
    double errors = 0;
    double statements = 0;
    for (const auto& step : obs.log.window) errors += step.errors;
    for (const auto& step : obs.statements.window) statements += step.calls;
    const double total = statements + errors;
    return {total > 0 ? errors / total : 0.0, "log", ""};
  }
  if (rollback_ratio) return {rollback_ratio, "rollbacks", ""};
  if (obs.log.available) {
    return {std::nullopt, "", "needs statement counts: " + MissingData(input, "statements")};
  }
  return {std::nullopt, "",
          "no log source, and " + MissingData(input, "database") +
              " (the rollback ratio needs two collections)"};
}

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

json LatencyJson(const collectors::Observations::Probe& probe) {
  json latency = json::object();
  auto put = [&](const char* key, std::optional<double> seconds) {
    latency[key] = seconds ? json(Milliseconds(*seconds)) : json(nullptr);
  };
  put("last",
      probe.ran && probe.last_ok ? std::optional<double>(probe.last_seconds) : std::nullopt);
  put("p50", probe.latencies.Quantile(0.50));
  put("p95", probe.latencies.Quantile(0.95));
  put("p99", probe.latencies.Quantile(0.99));
  put("connect_last", probe.connect_last_seconds);
  return latency;
}

}  // namespace

json EvaluateTarget(const TargetInput& input, const config::HealthConfig& config) {
  const collectors::Observations& obs = *input.observations;
  const auto& conn = obs.connections;
  json checks = json::array();
  json notes = json::array();

  if (input.reachable) {
    checks.push_back({{"name", "reachable"}, {"level", "ok"}});
  } else {
    checks.push_back({{"name", "reachable"},
                      {"level", "critical"},
                      {"detail", obs.last_error.value_or("no successful probe yet")}});
  }

  json connections = nullptr;
  if (input.reachable && conn.known && conn.max > 0) {
    const double ratio = conn.used / conn.max;
    connections = {
        {"used", Count(conn.used)},      {"max", Count(conn.max)},
        {"usage_ratio", Rounded(ratio)}, {"active", Count(conn.active)},
        {"idle", Count(conn.idle)},      {"idle_in_transaction", Count(conn.idle_in_transaction)},
        {"waiting", Count(conn.waiting)}};
    checks.push_back(
        {{"name", "connection_usage"},
         {"level", Level(ratio, config.connection_usage.warn, config.connection_usage.critical)},
         {"value", Rounded(ratio)},
         {"warn", config.connection_usage.warn},
         {"critical", config.connection_usage.critical}});
  } else {
    checks.push_back(Unknown("connection_usage", input.reachable ? MissingData(input, "activity")
                                                                 : "the target is unreachable"));
  }

  const std::optional<double> rollback_ratio = RollbackRatio(obs);
  const ErrorRatio ratio = ComputeErrorRatio(input, obs, rollback_ratio);
  if (ratio.value) {
    checks.push_back(
        {{"name", "error_ratio"},
         {"level", Level(*ratio.value, config.error_ratio.warn, config.error_ratio.critical)},
         {"value", Rounded(*ratio.value)},
         {"warn", config.error_ratio.warn},
         {"critical", config.error_ratio.critical},
         {"source", ratio.source}});
  } else {
    checks.push_back(Unknown("error_ratio", ratio.detail));
  }

  const auto p95 = obs.probe.latencies.Quantile(0.95);
  if (p95) {
    const double warn_ms = static_cast<double>(config.probe_latency.warn.count());
    const double critical_ms = static_cast<double>(config.probe_latency.critical.count());
    checks.push_back({{"name", "probe_latency"},
                      {"level", Level(Milliseconds(*p95), warn_ms, critical_ms)},
                      {"value_ms", Milliseconds(*p95)},
                      {"warn_ms", warn_ms},
                      {"critical_ms", critical_ms}});
  } else {
    checks.push_back(Unknown("probe_latency", "no successful probe within the health window"));
  }

  const auto& statements = obs.statements;
  double window_calls = 0;
  double window_exec_ms = 0;
  for (const auto& step : statements.window) {
    window_calls += step.calls;
    window_exec_ms += step.exec_ms;
  }
  if (!statements.available) {
    checks.push_back(Unknown("mean_query_time", MissingData(input, "statements")));
  } else if (window_calls <= 0) {
    checks.push_back(Unknown("mean_query_time", "no statements completed within the window"));
  } else {
    const double mean_ms = window_exec_ms / window_calls;
    checks.push_back(
        {{"name", "mean_query_time"},
         {"level", Level(mean_ms, static_cast<double>(config.mean_query_time.warn.count()),
                         static_cast<double>(config.mean_query_time.critical.count()))},
         {"value_ms", Rounded(mean_ms)},
         {"warn_ms", config.mean_query_time.warn.count()},
         {"critical_ms", config.mean_query_time.critical.count()}});
  }

  if (input.reachable && conn.known) {
    const bool slow =
        conn.slow_active > 0 || (statements.available && statements.over_threshold > 0);
    checks.push_back({{"name", "slow_queries"},
                      {"level", slow ? "warn" : "ok"},
                      {"value", Count(conn.slow_active)},
                      {"statements_over_threshold",
                       statements.available ? json(statements.over_threshold) : json(nullptr)}});
  } else {
    checks.push_back(Unknown("slow_queries", input.reachable ? MissingData(input, "activity")
                                                             : "the target is unreachable"));
  }

  if (!input.connect_probe_enabled) {
    checks.push_back(Unknown("connect_probe", "connect_probe_interval is 0s"));
  } else if (obs.probe.connect_error) {
    checks.push_back({{"name", "connect_probe"},
                      {"level", "critical"},
                      {"detail", "a new connection failed: " + *obs.probe.connect_error}});
  } else if (obs.probe.connect_last_seconds) {
    checks.push_back({{"name", "connect_probe"}, {"level", "ok"}});
  } else {
    checks.push_back(Unknown("connect_probe", "no connect probe has run yet"));
  }

  if (obs.capabilities.known && !obs.capabilities.pg_monitor) {
    notes.push_back(
        "the monitoring role lacks pg_monitor: other roles' sessions show state 'unknown' and "
        "their queries are hidden; GRANT pg_monitor TO the monitoring role");
  }
  if (obs.capabilities.known && !obs.capabilities.pg_stat_statements) {
    notes.push_back(
        "pg_stat_statements is not installed in the monitored database: statement timing is "
        "unavailable (CREATE EXTENSION pg_stat_statements)");
  }

  std::string status = "ok";
  if (!input.reachable) {
    status = "down";
  } else {
    for (const auto& check : checks) {
      const auto& level = check["level"];
      if (level == "warn" || level == "critical") status = "degraded";
    }
  }

  json collectors = json::array();
  for (const auto& c : input.collectors) {
    collectors.push_back({{"name", c.name},
                          {"success", c.ran && c.success},
                          {"error", c.error.empty() ? json(nullptr) : json(c.error)}});
  }

  return {
      {"name", input.name},
      {"status", status},
      {"reachable", input.reachable},
      {"server_version", obs.server.known ? json(obs.server.version) : json(nullptr)},
      {"in_recovery", conn.known
                          ? json(conn.in_recovery)
                          : (obs.server.known ? json(obs.server.in_recovery) : json(nullptr))},
      {"last_error", input.reachable ? json(nullptr) : json(obs.last_error.value_or(""))},
      {"latency_ms", LatencyJson(obs.probe)},
      {"connections", connections},
      {"slow_queries",
       {{"threshold_ms", input.slow_query_threshold.count()},
        {"active", input.reachable && conn.known ? json(Count(conn.slow_active)) : json(nullptr)},
        {"statements_over_threshold",
         statements.available ? json(statements.over_threshold) : json(nullptr)},
        {"top", SlowTopJson(statements)}}},
      {"errors",
       {{"window_seconds", std::chrono::duration_cast<std::chrono::seconds>(config.window).count()},
        {"error_ratio", ratio.value ? json(Rounded(*ratio.value)) : json(nullptr)},
        {"error_ratio_source", ratio.value ? json(ratio.source) : json(nullptr)},
        {"rollback_ratio", rollback_ratio ? json(Rounded(*rollback_ratio)) : json(nullptr)},
        {"deadlocks", obs.database.empty() ? json(nullptr) : json(Count(Deadlocks(obs)))},
        {"probe_failures", obs.probe.failures.size()},
        {"recent", RecentErrorsJson(obs.log)}}},
      {"checks", checks},
      {"notes", notes},
      {"collectors", collectors},
  };
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
