#include "collectors/activity.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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
                                           "slow"};

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
      pg::Rows(
          kColumns,
          {
              Row{"97", "14", "f", "app", "web", "active", "3", "1", "12.5", "4.0", "2"},
              Row{"97", "14", "f", "app", "web", "idle", "8", "0", std::nullopt, std::nullopt, "0"},
              Row{"97", "14", "f", "app", "batch", "idle in transaction", "2", "0", "30.25",
                  std::nullopt, "0"},
              Row{"97", "14", "f", "other", "web", "active", "1", "0", "0.5", "0.5", "0"},
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

TEST_F(ActivityTest, NoRowIsAnError) {
  FakeSession session;
  session.Respond("pg_stat_activity", pg::Rows(kColumns, {}));
  EXPECT_THROW(Collect(session), pg::Error);
}

}  // namespace
}  // namespace pgvigil::collectors
