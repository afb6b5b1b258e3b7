#include "collectors/pgbouncer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "collectors/registry.h"
#include "fake_session.h"
#include "health/health.h"
#include "metrics_lookup.h"

namespace pgvigil::collectors {
namespace {

using testing::FakeSession;
using ::testing::HasSubstr;
using testing::Row;
using testing::SampleValue;
using namespace std::chrono_literals;

// SHOW POOLS as PgBouncer 1.18 answers it; later versions add columns, which are ignored.
pg::Rows Pools(const std::vector<std::string>& extra_columns = {}) {
  std::vector<std::string> columns = {"database",
                                      "user",
                                      "cl_active",
                                      "cl_waiting",
                                      "cl_active_cancel_req",
                                      "cl_waiting_cancel_req",
                                      "sv_active",
                                      "sv_active_cancel",
                                      "sv_being_canceled",
                                      "sv_idle",
                                      "sv_used",
                                      "sv_tested",
                                      "sv_login",
                                      "maxwait",
                                      "maxwait_us",
                                      "pool_mode"};
  columns.insert(columns.end(), extra_columns.begin(), extra_columns.end());
  Row app = {"app", "web", "5", "3", "0", "0", "5",      "0",
             "0",   "0",   "1", "0", "0", "2", "500000", "transaction"};
  Row console = {"pgbouncer", "pgbouncer", "1", "0", "0", "0", "0", "0",
                 "0",         "0",         "0", "0", "0", "0", "0", "statement"};
  for (std::size_t i = 0; i < extra_columns.size(); ++i) {
    app.push_back("7");
    console.push_back("7");
  }
  return pg::Rows(columns, {app, console});
}

class PgBouncerCollectorTest : public ::testing::Test {
 protected:
  std::vector<prometheus::MetricFamily> Collect(FakeSession& session) {
    target_.name = "bouncer";
    target_.kind = config::TargetKind::kPgBouncer;
    CollectContext context{&session, target_,       options_, SteadyClock::now(),
                           5min,     observations_, own_load_};
    metrics::FamilySet out;
    PgBouncerCollector(target_).Collect(context, out);
    return out.Take();
  }

  void RespondAll(FakeSession& session) {
    session.Respond("SHOW DATABASES",
                    pg::Rows({"name", "host", "port", "database", "pool_size", "reserve_pool",
                              "max_connections", "current_connections"},
                             {Row{"app", "db", "5432", "app", "4", "1", "0", "6"}}));
    session.Respond(
        "SHOW STATS",
        pg::Rows({"database", "total_xact_count", "total_query_count", "total_received",
                  "total_sent", "total_xact_time", "total_query_time", "total_wait_time"},
                 {Row{"app", "10", "30", "100", "200", "2500000", "1000000", "500000"}}));
    session.Respond("SHOW CONFIG", pg::Rows({"key", "value", "default", "changeable"},
                                            {Row{"admin_users", "admin", "", "yes"},
                                             Row{"max_client_conn", "100", "100", "yes"},
                                             Row{"max_user_connections", "0", "0", "yes"}}));
    session.Respond("SHOW LISTS",
                    pg::Rows({"list", "items"}, {Row{"databases", "2"}, Row{"used_clients", "9"}}));
  }

  config::Target target_;
  pg::ConnectOptions options_;
  Observations observations_;
  pg::OwnLoad own_load_;
};

TEST_F(PgBouncerCollectorTest, ReadsEveryCommandByColumnName) {
  for (const auto& extra : {std::vector<std::string>{}, std::vector<std::string>{"load_balance"}}) {
    FakeSession session;
    session.Respond("SHOW POOLS", Pools(extra));
    RespondAll(session);
    const auto families = Collect(session);
    const std::map<std::string, std::string> pool = {{"database", "app"}, {"user", "web"}};
    auto with = [&](const char* state) {
      auto labels = pool;
      labels["state"] = state;
      return labels;
    };
    EXPECT_EQ(SampleValue(families, "pgbouncer_pool_client_connections", with("waiting")), 3);
    EXPECT_EQ(SampleValue(families, "pgbouncer_pool_server_connections", with("active")), 5);
    EXPECT_EQ(SampleValue(families, "pgbouncer_pool_server_connections", with("used")), 1);
    EXPECT_EQ(SampleValue(families, "pgbouncer_pool_max_wait_seconds", pool), 2.5);
    EXPECT_EQ(SampleValue(families, "pgbouncer_pool_size", {{"database", "app"}}), 5);
    EXPECT_EQ(
        SampleValue(families, "pgbouncer_database_current_connections", {{"database", "app"}}), 6);
    EXPECT_EQ(
        SampleValue(families, "pgbouncer_stats_transaction_seconds_total", {{"database", "app"}}),
        2.5);
    EXPECT_EQ(SampleValue(families, "pgbouncer_stats_queries_total", {{"database", "app"}}), 30);
    EXPECT_EQ(SampleValue(families, "pgbouncer_config_max_client_connections"), 100);
    EXPECT_EQ(SampleValue(families, "pgbouncer_client_connections"), 9);
    const auto& pooler = observations_.pooler;
    ASSERT_TRUE(pooler.known);
    // The admin console's own pool is exported as SHOW POOLS says, but not judged in /health.
    EXPECT_EQ(SampleValue(families, "pgbouncer_pool_client_connections",
                          {{"database", "pgbouncer"}, {"user", "pgbouncer"}, {"state", "active"}}),
              1);
    ASSERT_EQ(pooler.pools.size(), 1u);
    EXPECT_EQ(pooler.pools[0].server_active, 5);
    EXPECT_EQ(pooler.pools[0].pool_size, 5);
    EXPECT_EQ(*pooler.max_clients, 100);
    EXPECT_TRUE(pooler.unavailable.empty());
  }
}

// PgBouncer 1.24 renamed SHOW DATABASES' reserve_pool to reserve_pool_size: a pool may open
// pool_size + the reserve either way (without the reserve, usage would read too high).
// Every family it adds is one its row of the collector table declares.
TEST_F(PgBouncerCollectorTest, EmitsOnlyTheSeriesItsRowDeclares) {
  const CollectorInfo* info = FindCollector("pgbouncer");
  ASSERT_NE(info, nullptr);
  std::set<std::string> declared;
  for (const auto& metric : info->metrics) declared.insert(metric.name);
  FakeSession session;
  session.Respond("SHOW POOLS", Pools());
  RespondAll(session);
  const auto families = Collect(session);
  EXPECT_GE(families.size(), 10u);
  for (const auto& family : families) {
    EXPECT_TRUE(declared.contains(family.name)) << family.name << " is not declared";
  }
}

TEST_F(PgBouncerCollectorTest, TheReserveCountsUnderEitherColumnName) {
  for (const char* reserve_column : {"reserve_pool", "reserve_pool_size"}) {
    FakeSession session;
    session.Respond("SHOW POOLS", Pools());
    session.Respond("SHOW DATABASES", pg::Rows({"name", "pool_size", "min_pool_size",
                                                reserve_column, "server_lifetime"},
                                               {Row{"app", "4", "0", "2", "3600"}}));
    const auto families = Collect(session);
    EXPECT_EQ(SampleValue(families, "pgbouncer_pool_size", {{"database", "app"}}), 6)
        << reserve_column;
    ASSERT_EQ(observations_.pooler.pools.size(), 1u);
    EXPECT_EQ(observations_.pooler.pools[0].pool_size, 6) << reserve_column;
  }
}

TEST_F(PgBouncerCollectorTest, ARefusedCommandIsLeftOutAndSaid) {
  FakeSession session;
  session.Respond("SHOW POOLS", Pools());
  session.Respond("SHOW DATABASES",
                  pg::Rows({"name", "pool_size", "reserve_pool"}, {Row{"app", "5", "0"}}));
  // SHOW STATS, CONFIG and LISTS refused.
  const auto families = Collect(session);
  EXPECT_EQ(SampleValue(families, "pgbouncer_pool_size", {{"database", "app"}}), 5);
  EXPECT_FALSE(SampleValue(families, "pgbouncer_client_connections"));
  ASSERT_EQ(observations_.pooler.unavailable.size(), 3u);
  EXPECT_THAT(observations_.pooler.unavailable[0], HasSubstr("SHOW STATS: "));
  EXPECT_FALSE(observations_.pooler.clients);
}

TEST_F(PgBouncerCollectorTest, WithoutShowPoolsTheCollectionFails) {
  FakeSession session;
  RespondAll(session);
  EXPECT_THROW(Collect(session), pg::Error);
}

TEST(PgBouncerHealthTest, TheWorstPoolDecidesAndWaitingClientsWarn) {
  Observations obs;
  obs.pooler.known = true;
  obs.pooler.pools = {{"app", "web", 5, 3, 5, 0, 0, 5, 2.5}, {"app", "batch", 1, 0, 1, 3, 0, 5, 0}};
  obs.pooler.clients = 9;
  obs.pooler.max_clients = 10;
  health::TargetInput input;
  input.name = "bouncer";
  input.kind = config::TargetKind::kPgBouncer;
  input.reachable = true;
  input.observations = &obs;
  config::HealthConfig config;
  config.connection_usage = {0.7, 0.9};
  const auto report = health::EvaluateTarget(input, config);
  std::map<std::string, nlohmann::ordered_json> checks;
  for (const auto& check : report["checks"]) checks[check["name"]] = check;
  EXPECT_EQ(checks["pool_usage"]["level"], "critical");
  EXPECT_EQ(checks["pool_usage"]["pool"], "app/web");
  EXPECT_EQ(checks["clients_waiting"]["level"], "warn");
  EXPECT_EQ(checks["client_connections"]["level"], "warn");  // 0.9 is not above 0.9
  EXPECT_EQ(report["status"], "degraded");
  EXPECT_EQ(report["pools"].size(), 2u);
  EXPECT_EQ(report["pools"][1]["usage_ratio"], 0.2);
  EXPECT_FALSE(checks.contains("connection_usage"));

  obs.pooler.pools = {{"app", "web", 1, 0, 1, 4, 0, 5, 0.2}};
  obs.pooler.clients = 2;
  const auto calm = health::EvaluateTarget(input, config);
  EXPECT_EQ(calm["status"], "ok");
  EXPECT_TRUE(calm["reasons"].empty());

  input.reachable = false;
  const auto down = health::EvaluateTarget(input, config);
  EXPECT_EQ(down["status"], "down");
}

}  // namespace
}  // namespace pgvigil::collectors
