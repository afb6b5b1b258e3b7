#include "health/health.h"

#include <algorithm>
#include <cmath>
#include <sstream>

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

std::string StatementsMissing(const TargetInput& input, const collectors::Observations& obs) {
  if (!obs.statements.unavailable.empty()) return obs.statements.unavailable;
  return MissingData(input, "statements");
}

std::string Format(double value, int digits) {
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(digits);
  out << value;
  std::string text = out.str();
  if (text.find('.') != std::string::npos) {
    while (text.back() == '0') text.pop_back();
    if (text.back() == '.') text.pop_back();
  }
  return text;
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
  double errors = 0;
  double statements = 0;
  // source "rollbacks" from pg_stat_statements' intervals: the application's transactions and
  // rollbacks (the agent's own and pool housekeeping left out).
  std::optional<double> transactions = std::nullopt;
  double rollbacks = 0;
};

// Rollbacks over the application's transactions (pg_stat_database less the agent's own and
// the pools' housekeeping run as transactions of their own), over the statements polls'
// intervals; nothing where those polls did not read pg_stat_database.
std::optional<ErrorRatio> ApplicationRollbackRatio(const collectors::Observations& obs) {
  if (!obs.statements.available) return std::nullopt;
  ErrorRatio ratio{std::nullopt, "rollbacks", ""};
  double transactions = 0;
  bool any = false;
  for (const auto& step : obs.statements.window) {
    if (!step.has_transactions) continue;
    any = true;
    transactions += step.transactions;
    ratio.rollbacks += step.rollbacks;
  }
  if (!any) return std::nullopt;
  ratio.transactions = transactions;
  // Rollbacks can show before the transactions they end are counted as the application's (the
  // housekeeping before them seen first): never more than every transaction failing.
  ratio.value = transactions > 0 ? std::min(1.0, ratio.rollbacks / transactions)
                                 : (ratio.rollbacks > 0 ? 1.0 : 0.0);
  return ratio;
}

// Application errors over work statements plus those errors, both over the same interval: the
// statements deltas taken while the log was followed, and the errors logged within them (by
// the lines' own times). Nothing until both have a first delta, so a ratio is never errors
// over nothing (README, the health report).
std::optional<ErrorRatio> LogErrorRatio(const collectors::Observations& obs) {
  if (!obs.log.started) return std::nullopt;
  ErrorRatio ratio{std::nullopt, "log", ""};
  std::optional<std::int64_t> from;
  std::int64_t to = 0;
  for (const auto& step : obs.statements.window) {
    if (step.from < *obs.log.started) continue;
    // A window is judged once the pipeline has delivered a heartbeat written after its end:
    // lines arrive late, and an error not here yet must not read as a success.
    if (obs.log.heartbeat &&
        (!obs.log.delivered_to_ms || step.at_log_ms > *obs.log.delivered_to_ms)) {
      break;
    }
    ratio.statements += step.work_calls;
    if (!from) from = step.from_log_ms;
    to = step.at_log_ms;
  }
  if (!from) return std::nullopt;
  for (const std::int64_t at : obs.log.error_times) {
    if (at > *from && at <= to) ratio.errors += 1;
  }
  const double total = ratio.statements + ratio.errors;
  ratio.value = total > 0 ? ratio.errors / total : 0.0;
  return ratio;
}

// errors / (work statements + errors) when the server log is read, else the rollback ratio.
ErrorRatio ComputeErrorRatio(const TargetInput& input, const collectors::Observations& obs,
                             std::optional<double> rollback_ratio) {
  if (obs.log.available && obs.statements.available) {
    if (auto ratio = LogErrorRatio(obs)) return *ratio;
    if (obs.log.heartbeat && !obs.statements.window.empty()) {
      return {std::nullopt, "",
              "waiting for the log pipeline to deliver the agent's heartbeat line past the end "
              "of a statements window (" +
                  (obs.log.delivered_to_ms ? std::string("it is behind")
                                           : std::string("no heartbeat has arrived yet")) +
                  ")"};
    }
    return {std::nullopt, "",
            "waiting for the first statement and log deltas over the same interval (one "
            "statements_interval after start or after pg_stat_statements appeared)"};
  }
  if (auto application = ApplicationRollbackRatio(obs)) return *application;
  if (rollback_ratio) return {rollback_ratio, "rollbacks", ""};
  if (obs.log.available) {
    return {std::nullopt, "", "needs statement counts: " + StatementsMissing(input, obs)};
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
  latency["late_probes"] = probe.late.size();
  return latency;
}

}  // namespace

// Down when unreachable, else degraded when any check warns or is critical, else ok.
std::string Status(const TargetInput& input, const json& checks) {
  if (!input.reachable) return "down";
  for (const auto& check : checks) {
    const auto& level = check["level"];
    if (level == "warn" || level == "critical") return "degraded";
  }
  return "ok";
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

// The checks of one target and the sentences saying why those not ok are not (README, the health
// report).
struct Checks {
  json checks = json::array();
  json reasons = json::array();

  void Add(json check, const std::string& why) {
    const std::string level = check["level"];
    if (level != "ok") {
      reasons.push_back(check["name"].get<std::string>() + " " + level + ": " +
                        (why.empty() ? check.value("detail", std::string()) : why));
    }
    checks.push_back(std::move(check));
  }

  // A share of a limit judged by warn/critical thresholds (connection slots, pool servers,
  // client connections): the check with its value and thresholds plus `extra`, and the reason
  // `what` followed by the threshold it passed.
  void Ratio(const char* name, double ratio, const config::Thresholds& thresholds,
             const std::string& what, json extra = json::object()) {
    const std::string level = Level(ratio, thresholds.warn, thresholds.critical);
    const double limit = level == "critical" ? thresholds.critical : thresholds.warn;
    json check = {{"name", name},
                  {"level", level},
                  {"value", Rounded(ratio)},
                  {"warn", thresholds.warn},
                  {"critical", thresholds.critical}};
    check.update(extra);
    Add(std::move(check), what + ", > " + Format(limit, 3) + ")");
  }

  void Reachable(const TargetInput& input, const collectors::Observations& obs) {
    if (input.reachable) {
      Add({{"name", "reachable"}, {"level", "ok"}}, "");
    } else {
      Add({{"name", "reachable"},
           {"level", "critical"},
           {"detail", obs.last_error.value_or("no successful probe yet")}},
          "");
    }
  }
};

json EvaluatePgBouncer(const TargetInput& input, const config::HealthConfig& config) {
  const collectors::Observations& obs = *input.observations;
  const auto& pooler = obs.pooler;
  Checks checks;
  checks.Reachable(input, obs);
  json pools = json::array();
  const bool known = input.reachable && pooler.known;
  if (known) {
    // The worst pool: server connections serving a client against what the pool may open.
    const collectors::Observations::Pooler::Pool* worst = nullptr;
    double worst_ratio = -1;
    double max_wait = 0;
    const collectors::Observations::Pooler::Pool* longest = nullptr;
    for (const auto& pool : pooler.pools) {
      const bool sized = pool.pool_size > 0;
      const double ratio = sized ? pool.server_active / pool.pool_size : 0;
      pools.push_back({{"database", pool.database},
                       {"user", pool.user},
                       {"client_active", Count(pool.client_active)},
                       {"client_waiting", Count(pool.client_waiting)},
                       {"server_active", Count(pool.server_active)},
                       {"server_idle", Count(pool.server_idle)},
                       {"server_used", Count(pool.server_used)},
                       {"pool_size", Count(pool.pool_size)},
                       {"usage_ratio", sized ? json(Rounded(ratio)) : json(nullptr)},
                       {"max_wait_seconds", Rounded(pool.max_wait_seconds)}});
      if (sized && ratio > worst_ratio) {
        worst_ratio = ratio;
        worst = &pool;
      }
      if (pool.max_wait_seconds >= max_wait) {
        max_wait = pool.max_wait_seconds;
        longest = &pool;
      }
    }
    if (worst != nullptr) {
      checks.Ratio("pool_usage", worst_ratio, config.connection_usage,
                   "pool " + worst->database + "/" + worst->user + " has " +
                       Format(worst->server_active, 0) + " of " + Format(worst->pool_size, 0) +
                       " server connections serving clients (" + Format(worst_ratio, 3),
                   {{"pool", worst->database + "/" + worst->user}});
    } else {
      checks.Add(Unknown("pool_usage", pooler.pools.empty()
                                           ? "no pool yet (pools open with their first client)"
                                           : "no pool size: SHOW DATABASES was not readable"),
                 "");
    }
    const bool waiting = max_wait > 1.0;
    checks.Add({{"name", "clients_waiting"},
                {"level", waiting ? "warn" : "ok"},
                {"value_seconds", Rounded(max_wait)}},
               longest == nullptr ? ""
                                  : Format(longest->client_waiting, 0) + " clients waiting in " +
                                        longest->database + "/" + longest->user +
                                        ", the oldest for " + Format(max_wait, 1) + " s (> 1 s)");
    if (pooler.clients && pooler.max_clients && *pooler.max_clients > 0) {
      const double ratio = *pooler.clients / *pooler.max_clients;
      checks.Ratio("client_connections", ratio, config.connection_usage,
                   Format(*pooler.clients, 0) + " of max_client_conn " +
                       Format(*pooler.max_clients, 0) + " client connections (" + Format(ratio, 3));
    } else {
      checks.Add(Unknown("client_connections",
                         "SHOW LISTS or SHOW CONFIG was not readable by this account"),
                 "");
    }
  } else {
    const std::string why =
        input.reachable ? MissingData(input, "pgbouncer") : "the target is unreachable";
    for (const char* name : {"pool_usage", "clients_waiting", "client_connections"}) {
      checks.Add(Unknown(name, why), "");
    }
  }
  json notes = json::array();
  for (const auto& refused : pooler.unavailable) {
    notes.push_back("the admin console refused " + refused);
  }
  return {
      {"name", input.name},
      {"kind", "pgbouncer"},
      {"status", Status(input, checks.checks)},
      {"reachable", input.reachable},
      {"last_error", input.reachable ? json(nullptr) : json(obs.last_error.value_or(""))},
      {"latency_ms", LatencyJson(obs.probe)},
      {"clients", known && pooler.clients ? json(Count(*pooler.clients)) : json(nullptr)},
      {"max_clients",
       known && pooler.max_clients ? json(Count(*pooler.max_clients)) : json(nullptr)},
      {"pools", pools},
      {"checks", checks.checks},
      {"reasons", checks.reasons},
      {"notes", notes},
      {"collectors", CollectorsJson(input)},
  };
}

json EvaluateTarget(const TargetInput& input, const config::HealthConfig& config) {
  if (input.kind == config::TargetKind::kPgBouncer) return EvaluatePgBouncer(input, config);
  const collectors::Observations& obs = *input.observations;
  const auto& conn = obs.connections;
  Checks report;
  json& checks = report.checks;
  json& reasons = report.reasons;
  json notes = json::array();
  auto add = [&](json check, const std::string& why) { report.Add(std::move(check), why); };
  report.Reachable(input, obs);

  json connections = nullptr;
  if (input.reachable && conn.known && conn.max > 0) {
    const double ratio = conn.used / conn.max;
    connections = {
        {"used", Count(conn.used)},      {"max", Count(conn.max)},
        {"usage_ratio", Rounded(ratio)}, {"active", Count(conn.active)},
        {"idle", Count(conn.idle)},      {"idle_in_transaction", Count(conn.idle_in_transaction)},
        {"waiting", Count(conn.waiting)}};
    json by_application = json::array();
    for (const auto& application : conn.by_application) {
      by_application.push_back({{"application_name", application.name},
                                {"sessions", Count(application.sessions)},
                                {"active", Count(application.active)},
                                {"idle_in_transaction", Count(application.idle_in_transaction)}});
    }
    connections["by_application"] = std::move(by_application);
    report.Ratio("connection_usage", ratio, config.connection_usage,
                 Format(ratio, 3) + " of " + std::to_string(Count(conn.max)) + " (" +
                     std::to_string(Count(conn.used)) + " connections used");
  } else {
    add(Unknown("connection_usage",
                input.reachable ? MissingData(input, "activity") : "the target is unreachable"),
        "");
  }

  const std::optional<double> rollback_ratio = RollbackRatio(obs);
  const ErrorRatio ratio = ComputeErrorRatio(input, obs, rollback_ratio);
  if (ratio.value) {
    const std::string level =
        Level(*ratio.value, config.error_ratio.warn, config.error_ratio.critical);
    const double limit =
        level == "critical" ? config.error_ratio.critical : config.error_ratio.warn;
    const std::string what =
        ratio.source == "log"
            ? Format(ratio.errors, 0) + " application errors against " +
                  Format(ratio.statements, 0) + " work statements in the server log's window"
        : ratio.transactions
            ? Format(ratio.rollbacks, 0) + " of " + Format(*ratio.transactions, 0) +
                  " application transactions rolled back (no log "
                  "source)"
            : "transactions rolled back (no log source)";
    add({{"name", "error_ratio"},
         {"level", level},
         {"value", Rounded(*ratio.value)},
         {"warn", config.error_ratio.warn},
         {"critical", config.error_ratio.critical},
         {"source", ratio.source}},
        Format(*ratio.value, 4) + ", " + what + " (> " + Format(limit, 4) + ")");
  } else {
    add(Unknown("error_ratio", ratio.detail), "");
  }

  if (!obs.log.source.empty() && obs.log.started) {
    const auto& log = obs.log;
    const auto quiet = input.now - log.last_line.value_or(*log.started);
    const auto quiet_seconds = std::chrono::duration_cast<std::chrono::seconds>(quiet).count();
    // With the heartbeat on, lines that arrive but never carry it (a wrong line_prefix) are as
    // useless as none: no window can be judged.
    const auto no_heartbeat = input.now - log.last_heartbeat.value_or(*log.started);
    const auto no_heartbeat_seconds =
        std::chrono::duration_cast<std::chrono::seconds>(no_heartbeat).count();
    if (quiet > log.silent_after) {
      add({{"name", "log_source"},
           {"level", "warn"},
           {"source", log.source},
           {"silent_seconds", quiet_seconds}},
          "no server log line from " + log.source + " for " + std::to_string(quiet_seconds) +
              " s, not even the agent's heartbeat: the error ratio cannot be judged (check the "
              "forwarder, the listener or drain address, and log_min_messages)");
    } else if (log.heartbeat && input.reachable && no_heartbeat > log.silent_after) {
      add({{"name", "log_source"},
           {"level", "warn"},
           {"source", log.source},
           {"silent_seconds", no_heartbeat_seconds}},
          "lines arrive from " + log.source + " but the agent's heartbeat has not for " +
              std::to_string(no_heartbeat_seconds) +
              " s: the error ratio cannot be judged (check line_prefix against the server's "
              "log_line_prefix; pgvigil_log_lines_total{outcome=\"unparsed\"} counts what did "
              "not match)");
    } else {
      add({{"name", "log_source"},
           {"level", "ok"},
           {"source", log.source},
           {"delay_seconds",
            log.delay_seconds ? json(Rounded(*log.delay_seconds)) : json(nullptr)}},
          "");
    }
    if (log.errors_without_sqlstate > 0) {
      notes.push_back(std::to_string(Count(log.errors_without_sqlstate)) +
                      " application errors in the server log carried no SQLSTATE, counted as "
                      "sqlstate_class \"\": add %e to log_line_prefix or set "
                      "log_error_verbosity = verbose where the provider allows it");
    }
  }

  const auto p95 = obs.probe.latencies.Quantile(0.95);
  if (p95) {
    const double warn_ms = static_cast<double>(config.probe_latency.warn.count());
    const double critical_ms = static_cast<double>(config.probe_latency.critical.count());
    const std::string level = Level(Milliseconds(*p95), warn_ms, critical_ms);
    add({{"name", "probe_latency"},
         {"level", level},
         {"value_ms", Milliseconds(*p95)},
         {"warn_ms", warn_ms},
         {"critical_ms", critical_ms}},
        "SELECT 1 takes " + Format(Milliseconds(*p95), 1) + " ms at the 95th percentile (> " +
            Format(level == "critical" ? critical_ms : warn_ms, 0) + " ms)");
  } else {
    add(Unknown("probe_latency", "no successful probe within the health window"), "");
  }

  const auto& statements = obs.statements;
  double work_calls = 0;
  double work_ms = 0;
  for (const auto& step : statements.window) {
    work_calls += step.work_calls;
    work_ms += step.work_ms;
  }
  if (!statements.available) {
    add(Unknown("mean_query_time", StatementsMissing(input, obs)), "");
  } else if (work_calls <= 0) {
    add(Unknown("mean_query_time",
                "no application statements completed within the window (the agent's own and "
                "pool housekeeping are left out)"),
        "");
  } else {
    const double mean_ms = work_ms / work_calls;
    const double warn_ms = static_cast<double>(config.mean_query_time.warn.count());
    const double critical_ms = static_cast<double>(config.mean_query_time.critical.count());
    const std::string level = Level(mean_ms, warn_ms, critical_ms);
    add({{"name", "mean_query_time"},
         {"level", level},
         {"value_ms", Rounded(mean_ms)},
         {"warn_ms", config.mean_query_time.warn.count()},
         {"critical_ms", config.mean_query_time.critical.count()}},
        "application statements took " + Format(mean_ms, 1) + " ms on average over " +
            Format(work_calls, 0) + " calls (> " +
            Format(level == "critical" ? critical_ms : warn_ms, 0) + " ms)");
  }

  if (input.reachable && conn.known) {
    const std::size_t over = statements.available ? statements.over_threshold : 0;
    const bool slow = conn.slow_active > 0 || over > 0;
    const std::string threshold = std::to_string(input.slow_query_threshold.count()) + " ms";
    add({{"name", "slow_queries"},
         {"level", slow ? "warn" : "ok"},
         {"value", Count(conn.slow_active) + static_cast<long long>(over)},
         {"active", Count(conn.slow_active)},
         {"statements_over_threshold", statements.available ? json(over) : json(nullptr)}},
        std::to_string(Count(conn.slow_active)) + " active queries running longer than " +
            threshold + ", " + std::to_string(over) + " statements with a mean over " + threshold +
            " in the window");
  } else {
    add(Unknown("slow_queries",
                input.reachable ? MissingData(input, "activity") : "the target is unreachable"),
        "");
  }

  if (!input.connect_probe_enabled) {
    add(Unknown("connect_probe", "connect_probe_interval is 0s"), "");
  } else if (obs.probe.connect_error) {
    add({{"name", "connect_probe"},
         {"level", "critical"},
         {"detail", "a new connection failed: " + *obs.probe.connect_error}},
        "");
  } else if (obs.probe.connect_last_seconds) {
    add({{"name", "connect_probe"}, {"level", "ok"}}, "");
  } else {
    add(Unknown("connect_probe", "no connect probe has run yet"), "");
  }

  if (obs.capabilities.known && !obs.capabilities.pg_monitor) {
    notes.push_back(
        "the monitoring role lacks pg_monitor: " + std::to_string(Count(conn.hidden)) +
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
  if (obs.capabilities.known && !obs.capabilities.pg_stat_statements) {
    notes.push_back(
        (statements.unavailable.empty() ? std::string("pg_stat_statements is not available")
                                        : statements.unavailable) +
        ": statement timing is unavailable and the error ratio falls back to rollbacks");
  }

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
      {"checks", checks},
      {"reasons", reasons},
      {"notes", notes},
      {"collectors", CollectorsJson(input)},
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
