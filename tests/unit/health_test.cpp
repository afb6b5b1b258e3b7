#include "health/health.h"

#include <gtest/gtest.h>

namespace pgvigil::health {
namespace {

using json = nlohmann::ordered_json;
using namespace std::chrono_literals;

class HealthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto& conn = observations_.connections;
    conn.known = true;
    conn.max = 100;
    conn.used = 50;
    conn.active = 5;
    conn.idle = 40;
    conn.idle_in_transaction = 4;
    observations_.probe.ran = true;
    observations_.probe.last_ok = true;
    observations_.probe.last_seconds = 0.0004;
    observations_.probe.connect_last_seconds = 0.006;
    const auto now = collectors::SteadyClock::now();
    for (int i = 0; i < 20; ++i) observations_.probe.latencies.Add(now, 0.001);
    observations_.server = {true, "15.18", 150018, false};
    input_.name = "primary";
    input_.reachable = true;
    input_.observations = &observations_;
    input_.collectors = {{"probe", true, true, ""}, {"activity", true, true, ""}};
    input_.slow_query_threshold = 1s;
  }

  json Check(const json& target, const std::string& name) {
    for (const auto& check : target["checks"]) {
      if (check["name"] == name) return check;
    }
    ADD_FAILURE() << "no check " << name;
    return {};
  }

  collectors::Observations observations_;
  TargetInput input_;
  config::HealthConfig config_;
};

TEST_F(HealthTest, HealthyTargetIsOk) {
  const json target = EvaluateTarget(input_, config_);
  EXPECT_EQ(target["status"], "ok");
  EXPECT_EQ(target["reachable"], true);
  EXPECT_EQ(target["server_version"], "15.18");
  EXPECT_EQ(target["last_error"], nullptr);
  EXPECT_EQ(target["connections"]["used"], 50);
  EXPECT_EQ(target["connections"]["max"], 100);
  EXPECT_DOUBLE_EQ(target["connections"]["usage_ratio"].get<double>(), 0.5);
  EXPECT_EQ(target["connections"]["idle_in_transaction"], 4);
  EXPECT_DOUBLE_EQ(target["latency_ms"]["p95"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(target["latency_ms"]["last"].get<double>(), 0.4);
  EXPECT_DOUBLE_EQ(target["latency_ms"]["connect_last"].get<double>(), 6.0);
  EXPECT_EQ(Check(target, "reachable")["level"], "ok");
  EXPECT_EQ(Check(target, "connection_usage")["level"], "ok");
  EXPECT_EQ(Check(target, "probe_latency")["level"], "ok");
  EXPECT_EQ(Check(target, "slow_queries")["level"], "ok");
  EXPECT_EQ(Check(target, "connect_probe")["level"], "ok");
  EXPECT_EQ(target["slow_queries"]["threshold_ms"], 1000);
  EXPECT_EQ(target["errors"]["window_seconds"], 300);
}

TEST_F(HealthTest, ConnectionUsageLevels) {
  observations_.connections.used = 71;
  json check = Check(EvaluateTarget(input_, config_), "connection_usage");
  EXPECT_EQ(check["level"], "warn");
  EXPECT_DOUBLE_EQ(check["warn"].get<double>(), 0.7);
  EXPECT_DOUBLE_EQ(check["critical"].get<double>(), 0.9);
  observations_.connections.used = 91;
  const json target = EvaluateTarget(input_, config_);
  EXPECT_EQ(Check(target, "connection_usage")["level"], "critical");
  EXPECT_DOUBLE_EQ(Check(target, "connection_usage")["value"].get<double>(), 0.91);
  EXPECT_EQ(target["status"], "degraded");
  observations_.connections.used = 90;  // at the threshold is not past it
  EXPECT_EQ(Check(EvaluateTarget(input_, config_), "connection_usage")["level"], "warn");
}

TEST_F(HealthTest, ProbeLatencyUsesP95OverTheWindow) {
  const auto now = collectors::SteadyClock::now();
  observations_.probe.latencies.Add(now, 0.2);  // 1 of 21 slow: under 5%, p95 stays fast
  EXPECT_EQ(Check(EvaluateTarget(input_, config_), "probe_latency")["level"], "ok");
  for (int i = 0; i < 4; ++i) observations_.probe.latencies.Add(now, 0.6);
  const json check = Check(EvaluateTarget(input_, config_), "probe_latency");
  EXPECT_EQ(check["level"], "critical");
  EXPECT_DOUBLE_EQ(check["value_ms"].get<double>(), 600.0);
}

TEST_F(HealthTest, SlowActiveQueriesWarn) {
  observations_.connections.slow_active = 1;
  const json target = EvaluateTarget(input_, config_);
  EXPECT_EQ(Check(target, "slow_queries")["level"], "warn");
  EXPECT_EQ(Check(target, "slow_queries")["value"], 1);
  EXPECT_EQ(target["slow_queries"]["active"], 1);
  EXPECT_EQ(target["status"], "degraded");
}

TEST_F(HealthTest, UnreachableTargetIsDownWithTheReason) {
  input_.reachable = false;
  observations_.last_error = "connection refused";
  const json target = EvaluateTarget(input_, config_);
  EXPECT_EQ(target["status"], "down");
  EXPECT_EQ(target["last_error"], "connection refused");
  EXPECT_EQ(Check(target, "reachable")["level"], "critical");
  EXPECT_EQ(Check(target, "reachable")["detail"], "connection refused");
  EXPECT_EQ(Check(target, "connection_usage")["level"], "unknown");
  EXPECT_EQ(target["connections"], nullptr);
}

TEST_F(HealthTest, MissingDataIsUnknownWithAReason) {
  observations_.connections = {};
  input_.collectors = {{"probe", true, true, ""}, {"activity", true, false, "permission denied"}};
  const json target = EvaluateTarget(input_, config_);
  const json check = Check(target, "connection_usage");
  EXPECT_EQ(check["level"], "unknown");
  EXPECT_EQ(check["detail"], "the activity collector failed: permission denied");
  EXPECT_EQ(target["status"], "ok");
  EXPECT_EQ(Check(target, "error_ratio")["level"], "unknown");
  EXPECT_FALSE(Check(target, "error_ratio")["detail"].get<std::string>().empty());
  EXPECT_EQ(Check(target, "mean_query_time")["level"], "unknown");
  input_.collectors = {{"probe", true, true, ""}};
  EXPECT_EQ(Check(EvaluateTarget(input_, config_), "connection_usage")["detail"],
            "the activity collector is disabled for this target");
}

TEST_F(HealthTest, FailedConnectProbeIsCritical) {
  observations_.probe.connect_error = "FATAL: sorry, too many clients already";
  const json target = EvaluateTarget(input_, config_);
  EXPECT_EQ(Check(target, "connect_probe")["level"], "critical");
  EXPECT_EQ(target["status"], "degraded");
}

TEST_F(HealthTest, CapabilityNotes) {
  observations_.capabilities = {true, false, false};
  const json target = EvaluateTarget(input_, config_);
  ASSERT_EQ(target["notes"].size(), 2u);
  EXPECT_NE(target["notes"][0].get<std::string>().find("pg_monitor"), std::string::npos);
  EXPECT_NE(target["notes"][1].get<std::string>().find("pg_stat_statements"), std::string::npos);
}

using Statements = collectors::Observations::StatementsDelta;
using DatabaseStep = collectors::Observations::DatabaseDelta;

// The server's clock as its log writes time, at the start of a test's window (ms).
constexpr std::int64_t kLog0 = 1'800'000'000'000;

// Statement deltas of 30 s from t0 (kLog0 on the server's clock) on: work calls and their
// milliseconds, plus housekeeping and the agent's own in every step.
std::deque<Statements> StatementSteps(collectors::SteadyClock::time_point t0,
                                      const std::vector<std::pair<double, double>>& work) {
  std::deque<Statements> steps;
  for (std::size_t i = 0; i < work.size(); ++i) {
    const auto from = t0 + 30s * static_cast<int>(i);
    const std::int64_t from_log = kLog0 + 30'000 * static_cast<std::int64_t>(i);
    Statements step{from, from + 30s, from_log, from_log + 30'000};
    step.work_calls = work[i].first;
    step.work_ms = work[i].second;
    step.housekeeping_calls = 500;
    step.housekeeping_ms = 50;
    step.agent_calls = 40;
    step.agent_ms = 4;
    steps.push_back(step);
  }
  return steps;
}

// `count` application errors logged at `at_ms` on the server's clock.
void Errors(collectors::Observations& obs, std::int64_t at_ms, int count) {
  for (int i = 0; i < count; ++i) obs.log.error_times.push_back(at_ms);
}

TEST_F(HealthTest, ErrorRatioFromTheLogOverWorkStatements) {
  const auto t0 = collectors::SteadyClock::now() - 60s;
  input_.collectors.push_back({"statements", true, true, ""});
  observations_.statements.available = true;
  observations_.statements.window = StatementSteps(t0, {{60, 600}, {30, 300}});
  observations_.log.available = true;
  observations_.log.started = t0 - 1s;
  // Housekeeping and the agent's own statements never count (the agent's own errors are not
  // in error_times: the log collector counts them apart).
  Errors(observations_, kLog0 + 10'000, 4);
  Errors(observations_, kLog0 + 50'000, 6);
  observations_.database = {{t0, t0 + 60s, 95, 5, 1}};
  json target = EvaluateTarget(input_, config_);
  json check = Check(target, "error_ratio");
  EXPECT_EQ(check["level"], "critical");  // 10 / (90 + 10) = 0.1
  EXPECT_DOUBLE_EQ(check["value"].get<double>(), 0.1);
  EXPECT_EQ(check["source"], "log");
  EXPECT_EQ(target["errors"]["error_ratio_source"], "log");
  EXPECT_EQ(target["errors"]["application_errors"], 10);
  EXPECT_EQ(target["errors"]["work_statements"], 90);
  EXPECT_DOUBLE_EQ(target["errors"]["rollback_ratio"].get<double>(), 0.05);
  EXPECT_EQ(target["errors"]["deadlocks"], 1);
  // Work only: 900 ms over 90 calls, the 1,000 housekeeping calls at 0.1 ms left out.
  EXPECT_DOUBLE_EQ(Check(target, "mean_query_time")["value_ms"].get<double>(), 10.0);
  EXPECT_EQ(Check(target, "mean_query_time")["level"], "ok");

  observations_.log.error_times.clear();
  Errors(observations_, kLog0 + 1, 2);  // 2 / 92
  EXPECT_EQ(Check(EvaluateTarget(input_, config_), "error_ratio")["level"], "warn");
  observations_.log.error_times.clear();
  EXPECT_EQ(Check(EvaluateTarget(input_, config_), "error_ratio")["level"], "ok");
}

TEST_F(HealthTest, ErrorRatioCoversOneIntervalForBoth) {
  const auto t0 = collectors::SteadyClock::now() - 90s;
  input_.collectors.push_back({"statements", true, true, ""});
  observations_.statements.available = true;
  observations_.log.available = true;
  // Just started: errors already counted, no statement delta yet. Never 1.0, never critical.
  observations_.log.started = t0;
  Errors(observations_, kLog0 + 1'000, 1);
  json check = Check(EvaluateTarget(input_, config_), "error_ratio");
  EXPECT_EQ(check["level"], "unknown");
  EXPECT_NE(check["detail"].get<std::string>().find("same interval"), std::string::npos);

  // Errors logged before the statements' first interval (before CREATE EXTENSION, say, or
  // just before the baseline but written to the log after it) and after their last poll are
  // left out: only (kLog0 + 30 s, kLog0 + 60 s] counts, 1 error over 20 calls.
  observations_.statements.window = StatementSteps(t0 + 30s, {{19, 19}});
  for (auto& step : observations_.statements.window) {
    step.from_log_ms += 30'000;
    step.at_log_ms += 30'000;
  }
  Errors(observations_, kLog0 + 29'999, 40);
  Errors(observations_, kLog0 + 30'000, 3);  // at the baseline itself: before the interval
  Errors(observations_, kLog0 + 45'000, 1);
  Errors(observations_, kLog0 + 60'001, 9);
  check = Check(EvaluateTarget(input_, config_), "error_ratio");
  EXPECT_DOUBLE_EQ(check["value"].get<double>(), 0.05);
}

TEST_F(HealthTest, ErrorRatioFallsBackToRollbacks) {
  const auto now = collectors::SteadyClock::now();
  observations_.database = {{now - 15s, now, 90, 10, 0}};
  json check = Check(EvaluateTarget(input_, config_), "error_ratio");
  EXPECT_EQ(check["source"], "rollbacks");
  EXPECT_DOUBLE_EQ(check["value"].get<double>(), 0.1);
  observations_.database.clear();
  check = Check(EvaluateTarget(input_, config_), "error_ratio");
  EXPECT_EQ(check["level"], "unknown");
  EXPECT_FALSE(check["detail"].get<std::string>().empty());
}

TEST_F(HealthTest, MissingExtensionSaysWhyAndFallsBack) {
  const auto now = collectors::SteadyClock::now();
  input_.collectors.push_back({"statements", true, true, ""});
  observations_.capabilities = {true, true, false};
  observations_.statements.unavailable =
      "pg_stat_statements is not installed in the monitored "
      "database (CREATE EXTENSION pg_stat_statements)";
  observations_.log.available = true;
  observations_.log.started = now - 60s;
  observations_.database = {{now - 15s, now, 0, 0, 0}};  // an idle server
  const json target = EvaluateTarget(input_, config_);
  EXPECT_EQ(Check(target, "error_ratio")["level"], "ok");
  EXPECT_EQ(Check(target, "error_ratio")["source"], "rollbacks");
  const json mean = Check(target, "mean_query_time");
  EXPECT_EQ(mean["level"], "unknown");
  EXPECT_NE(mean["detail"].get<std::string>().find("CREATE EXTENSION"), std::string::npos);
}

TEST_F(HealthTest, SlowStatementsAndMeanQueryTime) {
  const auto now = collectors::SteadyClock::now();
  input_.collectors.push_back({"statements", true, true, ""});
  observations_.statements.available = true;
  observations_.statements.window = StatementSteps(now - 30s, {{10, 12000}});
  observations_.statements.over_threshold = 3;
  observations_.statements.top = {{"42", "app", "web", 10, 1200, "select pg_sleep($1)"}};
  const json target = EvaluateTarget(input_, config_);
  EXPECT_EQ(Check(target, "mean_query_time")["level"], "critical");  // 1.2 s > 1 s
  const json slow = Check(target, "slow_queries");
  EXPECT_EQ(slow["level"], "warn");
  // It warns because of statements alone: its value says so instead of reading 0.
  EXPECT_EQ(slow["value"], 3);
  EXPECT_EQ(slow["active"], 0);
  EXPECT_EQ(slow["statements_over_threshold"], 3);
  EXPECT_EQ(target["slow_queries"]["statements_over_threshold"], 3);
  const json& top = target["slow_queries"]["top"];
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0]["queryid"], "42");
  EXPECT_EQ(top[0]["calls"], 10);
  EXPECT_DOUBLE_EQ(top[0]["mean_ms"].get<double>(), 1200);
  EXPECT_EQ(top[0]["query"], "select pg_sleep($1)");
  EXPECT_EQ(target["status"], "degraded");
}

TEST_F(HealthTest, ReasonsSayWhyATargetIsDegraded) {
  observations_.connections.used = 92;
  observations_.connections.slow_active = 1;
  const json target = EvaluateTarget(input_, config_);
  ASSERT_EQ(target["status"], "degraded");
  std::vector<std::string> reasons;
  for (const auto& reason : target["reasons"]) reasons.push_back(reason.get<std::string>());
  ASSERT_GE(reasons.size(), 2u);
  EXPECT_EQ(reasons[0], "connection_usage critical: 0.92 of 100 (92 connections used, > 0.9)");
  bool slow = false;
  for (const auto& reason : reasons)
    slow = slow || reason.starts_with("slow_queries warn: 1 active");
  EXPECT_TRUE(slow);
  // Every check that is not ok has its sentence, and an ok one has none.
  std::size_t not_ok = 0;
  for (const auto& check : target["checks"]) not_ok += check["level"] != "ok" ? 1 : 0;
  EXPECT_EQ(reasons.size(), not_ok);
}

TEST_F(HealthTest, RecentErrorsNewestFirst) {
  observations_.log.available = true;
  observations_.log.recent = {{"t1", "ERROR", "22012", "division by zero"},
                              {"t2", "FATAL", "53300", "sorry, too many clients already"}};
  const json recent = EvaluateTarget(input_, config_)["errors"]["recent"];
  ASSERT_EQ(recent.size(), 2u);
  EXPECT_EQ(recent[0]["sqlstate"], "53300");
  EXPECT_EQ(recent[1]["message"], "division by zero");
}

TEST(WorstStatusTest, DownBeatsDegradedBeatsOk) {
  EXPECT_EQ(WorstStatus(json::array()), "ok");
  EXPECT_EQ(WorstStatus(json::parse(R"([{"status":"ok"},{"status":"degraded"}])")), "degraded");
  EXPECT_EQ(WorstStatus(json::parse(R"([{"status":"down"},{"status":"degraded"}])")), "down");
}

TEST_F(HealthTest, PgBouncerJudgesItsBusiestPoolAndItsClientConnections) {
  input_.kind = config::TargetKind::kPgBouncer;
  observations_.pooler.known = true;
  observations_.pooler.pools = {
      {"app", "web", 3, 0, 2, 2, 0, 4, 0},     // 2 of 4 servers serving clients: 0.5
      {"app", "jobs", 5, 3, 5, 0, 0, 5, 2.5},  // all 5 busy, 3 clients waiting 2.5 s
  };
  observations_.pooler.clients = 80;
  observations_.pooler.max_clients = 100;
  const json target = EvaluateTarget(input_, config_);
  EXPECT_EQ(target["kind"], "pgbouncer");
  EXPECT_EQ(target["status"], "degraded");
  const json pool = Check(target, "pool_usage");
  EXPECT_EQ(pool["level"], "critical");
  EXPECT_EQ(pool["pool"], "app/jobs");
  EXPECT_DOUBLE_EQ(pool["value"].get<double>(), 1.0);
  EXPECT_EQ(Check(target, "client_connections")["level"], "warn");
  EXPECT_EQ(Check(target, "clients_waiting")["level"], "warn");
  std::vector<std::string> reasons;
  for (const auto& reason : target["reasons"]) reasons.push_back(reason.get<std::string>());
  EXPECT_EQ(reasons, (std::vector<std::string>{
                         "pool_usage critical: pool app/jobs has 5 of 5 server connections "
                         "serving clients (1, > 0.9)",
                         "clients_waiting warn: 3 clients waiting in app/jobs, the oldest for "
                         "2.5 s (> 1 s)",
                         "client_connections warn: 80 of max_client_conn 100 client connections "
                         "(0.8, > 0.7)"}));
  EXPECT_EQ(target["pools"][0]["usage_ratio"], 0.5);
}

}  // namespace
}  // namespace pgvigil::health
