#include "collectors/activity.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "fake_session.h"
#include "metrics_lookup.h"

namespace pgvigil::collectors {
namespace {

using testing::FakeSession;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::Row;
using testing::SampleCount;
using testing::SampleValue;
using namespace std::chrono_literals;

const std::vector<std::string> kColumns = {"usable",
                                           "used",
                                           "in_recovery",
                                           "datname",
                                           "usename",
                                           "state",
                                           "backends",
                                           "waiting",
                                           "oldest_xact_seconds",
                                           "longest_query_seconds",
                                           "slow",
                                           "per_application",
                                           "application_name"};

class ActivityTest : public ::testing::Test {
 protected:
  std::vector<prometheus::MetricFamily> Collect(FakeSession& session) {
    target_.name = "t";
    target_.settings.slow_query_threshold = 1s;
    ActivityCollector collector(target_);
    CollectContext context{&session, target_,       options_, SteadyClock::now(),
                           5min,     observations_, own_load_};
    metrics::FamilySet out(metrics::Labels{{"target", "t"}});
    collector.Collect(context, out);
    return out.Take();
  }

  config::Target target_;
  pg::ConnectOptions options_;
  Observations observations_;
  pg::OwnLoad own_load_;
};

TEST(ActivitySqlTest, ReservedConnectionsOnlyFromPostgres16) {
  for (int version : {120000, 130000, 140000, 150000}) {
    EXPECT_THAT(ActivitySql(version, 1s), Not(HasSubstr("('reserved_connections')")));
  }
  for (int version : {160000, 170000}) {
    EXPECT_THAT(ActivitySql(version, 1s), HasSubstr("current_setting('reserved_connections')"));
  }
  EXPECT_THAT(ActivitySql(150000, 1500ms), HasSubstr("now() - query_start) > 1.500"));
  EXPECT_THAT(ActivitySql(150000, 1s), HasSubstr("pid <> pg_backend_pid()"));
}

TEST_F(ActivityTest, AggregatesStatesDatabasesAndLimits) {
  FakeSession session(150000);
  session.Respond(
      "pg_stat_activity",
      pg::Rows(kColumns, {
                             Row{"97", "14", "f", "app", "web", "active", "3", "1", "12.5", "4.0",
                                 "2", "f", std::nullopt},
                             Row{"97", "14", "f", "app", "web", "idle", "8", "0", std::nullopt,
                                 std::nullopt, "0", "f", std::nullopt},
                             Row{"97", "14", "f", "app", "batch", "idle in transaction", "2", "0",
                                 "30.25", std::nullopt, "0", "f", std::nullopt},
                             Row{"97", "14", "f", "other", "web", "active", "1", "0", "0.5", "0.5",
                                 "0", "f", std::nullopt},
                             // The same sessions grouped by application_name.
                             Row{"97", "14", "f", std::nullopt, std::nullopt, "active", "4", "1",
                                 "12.5", "4.0", "2", "t", "web-api"},
                             Row{"97", "14", "f", std::nullopt, std::nullopt, "idle", "8", "0",
                                 std::nullopt, std::nullopt, "0", "t", "web-api"},
                             Row{"97", "14", "f", std::nullopt, std::nullopt, "idle in transaction",
                                 "2", "0", "30.25", std::nullopt, "0", "t", ""},
                         }));
  const auto families = Collect(session);
  EXPECT_EQ(SampleValue(families, "pg_connections_max"), 97);
  EXPECT_EQ(SampleValue(families, "pg_connections_used"), 14);
  EXPECT_EQ(SampleValue(families, "pg_in_recovery"), 0);
  EXPECT_EQ(SampleValue(families, "pg_stat_activity_sessions",
                        {{"datname", "app"}, {"usename", "web"}, {"state", "idle"}}),
            8);
  EXPECT_EQ(SampleCount(families, "pg_stat_activity_sessions"), 4u);
  EXPECT_EQ(SampleValue(families, "pg_stat_activity_lock_waiters", {{"datname", "app"}}), 1);
  EXPECT_EQ(SampleValue(families, "pg_stat_activity_lock_waiters", {{"datname", "other"}}), 0);
  EXPECT_EQ(SampleValue(families, "pg_stat_activity_slow_queries", {{"datname", "app"}}), 2);
  EXPECT_EQ(
      SampleValue(families, "pg_stat_activity_max_query_duration_seconds", {{"datname", "app"}}),
      4.0);
  EXPECT_EQ(SampleValue(families, "pg_stat_activity_max_tx_duration_seconds",
                        {{"datname", "app"}, {"state", "idle in transaction"}}),
            30.25);
  // Idle sessions have no open transaction: no sample rather than an invented 0.
  EXPECT_FALSE(SampleValue(families, "pg_stat_activity_max_tx_duration_seconds",
                           {{"datname", "app"}, {"state", "idle"}}));
  EXPECT_EQ(SampleValue(families, "pg_connections_used", {{"target", "t"}}), 14);

  const auto& conn = observations_.connections;
  EXPECT_TRUE(conn.known);
  EXPECT_EQ(conn.active, 4);
  EXPECT_EQ(conn.idle, 8);
  EXPECT_EQ(conn.idle_in_transaction, 2);
  EXPECT_EQ(conn.waiting, 1);
  EXPECT_EQ(conn.slow_active, 2);
  EXPECT_THAT(session.queries().at(0), Not(HasSubstr("('reserved_connections')")));
  // Application rows count once, as applications: not again in the states above.
  EXPECT_EQ(SampleValue(families, "pg_stat_activity_application_sessions",
                        {{"application_name", "web-api"}, {"state", "idle"}}),
            8);
  EXPECT_EQ(SampleValue(families, "pg_stat_activity_application_sessions",
                        {{"application_name", ""}, {"state", "idle in transaction"}}),
            2);
  ASSERT_EQ(conn.by_application.size(), 2u);
  EXPECT_EQ(conn.by_application[0].name, "web-api");
  EXPECT_EQ(conn.by_application[0].sessions, 12);
  EXPECT_EQ(conn.by_application[0].active, 4);
  EXPECT_EQ(conn.by_application[1].idle_in_transaction, 2);
}

TEST_F(ActivityTest, OnlyTheAgentConnected) {
  FakeSession session(160000);
  Row row(kColumns.size(), std::nullopt);
  row[0] = "37";
  row[1] = "1";
  row[2] = "t";
  session.Respond("pg_stat_activity", pg::Rows(kColumns, {row}));
  const auto families = Collect(session);
  EXPECT_EQ(SampleValue(families, "pg_connections_used"), 1);
  EXPECT_EQ(SampleValue(families, "pg_in_recovery"), 1);
  EXPECT_EQ(SampleCount(families, "pg_stat_activity_sessions"), 0u);
  EXPECT_THAT(session.queries().at(0), HasSubstr("('reserved_connections')"));
}

TEST_F(ActivityTest, AllNullRowInventsNothing) {
  FakeSession session;
  session.Respond("pg_stat_activity", pg::Rows(kColumns, {Row(kColumns.size(), std::nullopt)}));
  const auto families = Collect(session);
  EXPECT_FALSE(SampleValue(families, "pg_connections_max"));
  EXPECT_FALSE(SampleValue(families, "pg_connections_used"));
  EXPECT_FALSE(SampleValue(families, "pg_in_recovery"));
  EXPECT_FALSE(observations_.connections.known);
}

// Rows of `count` idle sessions per application name, as the query groups them.
pg::Rows ApplicationRows(const std::vector<std::pair<std::string, int>>& applications) {
  std::vector<Row> rows;
  for (const auto& [name, count] : applications) {
    Row row(kColumns.size(), std::nullopt);
    row[0] = "97";
    row[1] = "50";
    row[2] = "f";
    row[5] = "idle";
    row[6] = std::to_string(count);
    row[11] = "t";
    row[12] = name;
    rows.push_back(row);
  }
  return pg::Rows(kColumns, rows);
}

TEST_F(ActivityTest, ApplicationsBeyondTheTopAreOtherAndNamesStayAWhile) {
  target_.settings.applications_top_n = 2;
  target_.name = "t";
  ActivityCollector collector(target_);
  auto poll = [&](const std::vector<std::pair<std::string, int>>& applications) {
    FakeSession session;
    session.Respond("pg_stat_activity", ApplicationRows(applications));
    CollectContext context{&session, target_,       options_, SteadyClock::now(),
                           5min,     observations_, own_load_};
    metrics::FamilySet out;
    collector.Collect(context, out);
    return out.Take();
  };
  auto idle = [](const auto& families, const std::string& name) {
    return SampleValue(families, "pg_stat_activity_application_sessions",
                       {{"application_name", name}, {"state", "idle"}});
  };
  auto families = poll({{"checkout", 9}, {"search", 5}, {"cron", 2}, {"admin", 1}});
  EXPECT_EQ(idle(families, "checkout"), 9);
  EXPECT_EQ(idle(families, "search"), 5);
  EXPECT_EQ(idle(families, "other"), 3);  // cron and admin, exactly
  EXPECT_FALSE(idle(families, "cron"));
  // Every exported name and "other" keep their steady states, 0 when empty.
  EXPECT_EQ(SampleValue(families, "pg_stat_activity_application_sessions",
                        {{"application_name", "other"}, {"state", "active"}}),
            0);
  // cron overtakes search: search keeps its own series (no churn) for kTopNHysteresisPolls polls.
  for (int i = 0; i < kTopNHysteresisPolls; ++i) {
    families = poll({{"checkout", 9}, {"search", 1}, {"cron", 4}, {"admin", 1}});
    EXPECT_EQ(idle(families, "search"), 1) << i;
    EXPECT_EQ(idle(families, "cron"), 4) << i;
    EXPECT_EQ(idle(families, "other"), 1) << i;
  }
  families = poll({{"checkout", 9}, {"search", 1}, {"cron", 4}, {"admin", 1}});
  EXPECT_FALSE(idle(families, "search"));
  EXPECT_EQ(idle(families, "other"), 2);
  // Never more than twice the top at once, whatever the churn.
  std::vector<std::pair<std::string, int>> many;
  for (int i = 0; i < 50; ++i) many.emplace_back("fn-" + std::to_string(i), 50 - i);
  families = poll(many);
  std::set<std::string> names;
  double sum = 0;
  for (const auto& family : families) {
    if (family.name != "pg_stat_activity_application_sessions") continue;
    for (const auto& metric : family.metric) {
      for (const auto& label : metric.label) {
        if (label.name == "application_name") names.insert(label.value);
      }
      sum += metric.gauge.value;
    }
  }
  EXPECT_LE(names.size(), 2u * 2 + 1);  // exported names and "other"
  EXPECT_EQ(sum, 50 * 51 / 2);          // every session counted once
}

TEST_F(ActivityTest, NoRowIsAnError) {
  FakeSession session;
  session.Respond("pg_stat_activity", pg::Rows(kColumns, {}));
  EXPECT_THROW(Collect(session), pg::Error);
}

}  // namespace
}  // namespace pgvigil::collectors
