#include "collectors/database.h"

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
using testing::SampleValue;
using namespace std::chrono_literals;

const std::vector<std::string> kColumns13 = {
    "datname",   "numbackends", "xact_commit", "xact_rollback", "deadlocks",
    "conflicts", "temp_files",  "temp_bytes",  "blks_read",     "blks_hit"};

TEST(DatabaseSqlTest, SessionsOnlyFrom14) {
  EXPECT_THAT(DatabaseSql(130000), Not(HasSubstr("sessions")));
  EXPECT_THAT(DatabaseSql(140000), HasSubstr("sessions_abandoned"));
  EXPECT_THAT(DatabaseSql(170000), HasSubstr("sessions_fatal"));
}

TEST(DatabaseCollectorTest, CountersNullsAndWindowDeltas) {
  auto columns = kColumns13;
  for (const char* c : {"sessions", "sessions_fatal", "sessions_killed", "sessions_abandoned"}) {
    columns.emplace_back(c);
  }
  config::Target target;
  DatabaseCollector collector(target);
  pg::ConnectOptions options;
  Observations observations;
  pg::OwnLoad own_load;
  // The agent's own statements up to a poll: each one a transaction of its own.
  // Each batch completes 2 s after the previous poll: due (past the flush lag) at the next.
  auto completed = SteadyClock::time_point{} + 1h - 13s;
  auto run_own = [&](int ok, int failed) {
    for (int i = 0; i < ok; ++i) own_load.Record("SELECT 1", true, 0.001, completed);
    for (int i = 0; i < failed; ++i) own_load.Record("SELECT 1/0", false, 0, completed);
    completed += 15s;
  };
  auto poll = [&](const std::string& commits, const std::string& rollbacks,
                  SteadyClock::time_point at) {
    FakeSession session(150000);
    session.Respond(
        "pg_stat_database",
        pg::Rows(columns, {Row{"app", "3", commits, rollbacks, "1", "0", "2", "4096", "10", "90",
                               "50", "1", "0", "2"},
                           Row{"empty", std::nullopt, std::nullopt, std::nullopt, std::nullopt,
                               std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt,
                               std::nullopt, std::nullopt, std::nullopt, std::nullopt}}));
    CollectContext context{&session, target, options, at, 5min, observations, own_load};
    metrics::FamilySet out;
    collector.Collect(context, out);
    return out.Take();
  };
  const auto start = SteadyClock::time_point{} + 1h;
  run_own(10, 0);
  auto families = poll("100", "5", start);
  EXPECT_EQ(SampleValue(families, "pg_stat_database_xact_commit_total", {{"datname", "app"}}), 100);
  EXPECT_EQ(
      SampleValue(families, "pg_stat_database_sessions_abandoned_total", {{"datname", "app"}}), 2);
  EXPECT_EQ(SampleValue(families, "pg_stat_database_temp_bytes_total", {{"datname", "app"}}), 4096);
  EXPECT_EQ(SampleValue(families, "pg_stat_database_numbackends", {{"datname", "app"}}), 3);
  // NULL counters are skipped, never invented as 0.
  EXPECT_FALSE(SampleValue(families, "pg_stat_database_xact_commit_total", {{"datname", "empty"}}));
  EXPECT_TRUE(observations.database.empty());  // a delta needs two collections

  run_own(30, 2);  // 30 of the next 90 commits and 2 of the 10 rollbacks are the agent's
  families = poll("190", "15", start + 15s);
  ASSERT_EQ(observations.database.size(), 1u);
  EXPECT_EQ(observations.database.back().commits, 60);
  EXPECT_EQ(observations.database.back().rollbacks, 8);
  EXPECT_EQ(observations.database.back().from, start);
  EXPECT_EQ(observations.database.back().at, start + 15s);
  run_own(1, 0);
  families = poll("10", "1", start + 30s);  // stats reset: counts since the reset
  EXPECT_EQ(observations.database.back().commits, 9);
  EXPECT_EQ(observations.database.back().rollbacks, 1);

  // The server shows the agent's transactions late (a backend flushes its counts lazily): 20
  // sent before this poll show only in the next. Which interval the application's commits fell
  // in cannot be told, but over both the sum is the application's 10, where subtracting per
  // interval (a deficit clamped to 0, then nothing) counted the agent's 20 as the application's.
  run_own(20, 0);
  families = poll("15", "4", start + 45s);             // the application's 5 commits, 3 rollbacks
  EXPECT_EQ(observations.database.back().commits, 0);  // 5 shown, taken for the 20 own pending
  EXPECT_EQ(observations.database.back().rollbacks, 3);
  families = poll("40", "4", start + 60s);  // the agent's 20 show now, 5 more of the app
  EXPECT_EQ(observations.database.back().commits, 10);  // 25 shown, 15 own still pending
  // Then the application's own count again, whole.
  families = poll("50", "4", start + 120s);
  EXPECT_EQ(observations.database.back().commits, 10);
}

}  // namespace
}  // namespace pgvigil::collectors
