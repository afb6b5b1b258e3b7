#include "collectors/statements.h"

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

struct Entry {
  std::string userid;
  std::optional<std::string> queryid;
  double calls;
  double exec_ms;
  std::optional<std::string> stats_since = std::nullopt;
};

// A number as the server sends it, to the last bit.
std::string Exact(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", value);
  return text;
}

// The texts pg_stat_statements holds: user 10 is the agent's role (and the application's, where
// they share it); PostgreSQL 18 keeps no leading comment, so the agent's probe reads "SELECT $1".
const std::vector<testing::Row> kTexts = {
    Row{"10", "5", "900", "SELECT $1"},
    Row{"10", "5", "950", "select * from orders where id = $1"},
    Row{"20", "5", "1", "select * from slow where id = $1"},
    Row{"20", "5", "7", "BEGIN"},
    Row{"20", "5", "8", "COMMIT"},
};

// Drives the collector through successive polls of canned pg_stat_statements contents.
class StatementsTest : public ::testing::Test {
 protected:
  static config::Target MakeTarget() {
    config::Target target;
    target.name = "primary";
    target.settings.statements_top_n = 2;
    target.settings.slow_query_threshold = 100ms;
    return target;
  }

  std::vector<prometheus::MetricFamily> Poll(const std::vector<Entry>& entries,
                                             const std::string& stats_reset = "2026-01-01") {
    FakeSession session(server_version_);
    log_now_ms_ += 30'000;
    session.Respond("pg_stat_statements.max",
                    pg::Rows({"own_userid", "own_dbid", "max", "schema", "version", "log_now"},
                             {Row{"10", "5", "5000", "public", extension_version_,
                                  std::to_string(log_now_ms_)}}));
    session.Respond("pg_stat_statements_info",
                    pg::Rows({"dealloc", "stats_reset"}, {Row{"3", stats_reset}}));
    session.Respond("'d' AS kind", pg::Rows({"kind", "oid", "name"},
                                            {Row{"d", "5", "app"}, Row{"r", "10", "monitor"},
                                             Row{"r", "20", "web"}}));
    session.Respond("pg_stat_statements(true)",
                    pg::Rows({"userid", "dbid", "queryid", "query"}, texts_));
    std::vector<Row> rows;
    for (const Entry& e : entries) {
      Row row{e.userid,         "5",
              e.queryid,        std::to_string(e.calls),
              Exact(e.exec_ms), std::to_string(e.calls)};
      if (extension_version_ == "1.11") row.push_back(e.stats_since.value_or("2026-01-01"));
      rows.push_back(row);
    }
    std::vector<std::string> columns = {"userid", "dbid", "queryid", "calls", "exec_ms", "rows"};
    if (extension_version_ == "1.11") columns.emplace_back("stats_since");
    session.Respond("pg_stat_statements(false)", pg::Rows(columns, rows));
    now_ += 30s;
    CollectContext context{&session, target_, options_, now_, 5min, observations_, own_load_};
    metrics::FamilySet out;
    collector_.Collect(context, out);
    queries_ = session.queries();
    return out.Take();
  }

  // The agent's own statements between two polls, as its connection records them.
  void RunOwn(const std::string& sql, int times) {
    for (int i = 0; i < times; ++i) own_load_.Record(sql, true, 0.0005);
  }

  int TextQueries() const {
    int count = 0;
    for (const auto& q : queries_) count += q.find("pg_stat_statements(true)") != std::string::npos;
    return count;
  }

  static double Sum(const std::vector<prometheus::MetricFamily>& families,
                    const std::string& name) {
    double sum = 0;
    for (const auto& family : families) {
      if (family.name != name) continue;
      for (const auto& metric : family.metric) sum += metric.counter.value;
    }
    return sum;
  }

  static double Calls(const std::vector<prometheus::MetricFamily>& families,
                      const std::string& queryid) {
    return SampleValue(families, "pg_stat_statements_calls_total", {{"queryid", queryid}})
        .value_or(-1);
  }

  int server_version_ = 150000;
  std::int64_t log_now_ms_ = 1'800'000'000'000;
  std::string extension_version_ = "1.10";
  std::vector<Row> texts_ = kTexts;
  config::Target target_ = MakeTarget();
  StatementsCollector collector_{target_};
  pg::ConnectOptions options_;
  Observations observations_;
  pg::OwnLoad own_load_;
  SteadyClock::time_point now_{};
  std::vector<std::string> queries_;
};

TEST(StatementsSqlTest, ColumnNamesPerVersion) {
  EXPECT_THAT(StatementsSql(120000), HasSubstr("total_time AS exec_ms"));
  EXPECT_THAT(StatementsSql(120000), Not(HasSubstr("total_exec_time")));
  for (int version : {130000, 140000, 150000, 160000, 170000, 180000}) {
    EXPECT_THAT(StatementsSql(version), HasSubstr("total_exec_time AS exec_ms"));
  }
  // Counters only: the query text file is never read by the regular poll.
  EXPECT_THAT(StatementsSql(150000), HasSubstr("pg_stat_statements(false)"));
  EXPECT_THAT(StatementsSql(160000, "\"public\".", 110), Not(HasSubstr("stats_since")));
  EXPECT_THAT(StatementsSql(170000, "\"ext\".", 111),
              HasSubstr(", stats_since FROM \"ext\".pg_stat_statements(false)"));
}

TEST_F(StatementsTest, FirstPollExportsServerTotalsExactly) {
  const auto families =
      Poll({{"20", "1", 10, 5000}, {"20", "2", 100, 300}, {"20", "3", 7, 70}, {"20", "4", 1, 1}});
  EXPECT_EQ(Sum(families, "pg_stat_statements_calls_total"), 118);
  EXPECT_NEAR(Sum(families, "pg_stat_statements_seconds_total"), 5.371, 1e-9);
  // top_n 2 by execution time: queries 1 and 2; the rest in "other".
  EXPECT_EQ(Calls(families, "1"), 10);
  EXPECT_EQ(Calls(families, "2"), 100);
  EXPECT_EQ(Calls(families, "other"), 8);
  EXPECT_EQ(SampleValue(families, "pg_stat_statements_calls_total",
                        {{"queryid", "other"}, {"datname", "app"}, {"user", "web"}}),
            8);
  EXPECT_EQ(SampleValue(families, "pg_stat_statements_tracked"), 4);
  EXPECT_EQ(SampleValue(families, "pg_stat_statements_max"), 5000);
  EXPECT_EQ(SampleValue(families, "pg_stat_statements_dealloc_total"), 3);
}

TEST_F(StatementsTest, DeltasAccrueAndSumsStayExact) {
  Poll({{"20", "1", 10, 5000}, {"20", "2", 100, 300}, {"20", "3", 7, 70}});
  const auto families = Poll({{"20", "1", 12, 5400},
                              {"20", "2", 150, 450},
                              {"20", "3", 9, 90},
                              {"20", "5", 4, 4}});  // 5 is new: all of its counts are new
  EXPECT_EQ(Sum(families, "pg_stat_statements_calls_total"), 12 + 150 + 9 + 4);
  EXPECT_EQ(Calls(families, "1"), 12);
  EXPECT_EQ(Calls(families, "2"), 150);
  EXPECT_EQ(Calls(families, "other"), 13);
}

TEST_F(StatementsTest, ResetNeverYieldsNegativeOrDoubledDeltas) {
  Poll({{"20", "1", 10, 5000}, {"20", "2", 100, 300}});
  // pg_stat_statements_reset(): counters restart, stats_reset moves.
  auto families = Poll({{"20", "1", 1, 100}, {"20", "2", 2, 6}}, "2026-01-02");
  EXPECT_EQ(Calls(families, "1"), 11);
  EXPECT_EQ(Calls(families, "2"), 102);
  // One entry evicted and re-added with small counts (no stats_reset change).
  families = Poll({{"20", "1", 3, 150}}, "2026-01-02");
  families = Poll({{"20", "1", 4, 160}, {"20", "2", 1, 3}}, "2026-01-02");
  EXPECT_EQ(Calls(families, "1"), 14);
  EXPECT_EQ(Calls(families, "2"), 103);
  for (const auto& family : families) {
    for (const auto& metric : family.metric) EXPECT_GE(metric.counter.value, 0);
  }
}

TEST_F(StatementsTest, RoundingOfSummedTimesIsNotAReset) {
  // Every statement of a role the agent may not see is one key, its time a sum of rows added
  // in the server's order: the sum may come out a hair lower with nothing reset.
  Poll({{"20", "1", 100, 18000.000000000004}, {"20", "2", 10, 10}});
  const auto families = Poll({{"20", "1", 100, 18000.0}, {"20", "2", 12, 12}});
  EXPECT_EQ(Sum(families, "pg_stat_statements_calls_total"), 112);
  EXPECT_DOUBLE_EQ(observations_.statements.window.back().work_calls, 2);
  EXPECT_NEAR(observations_.statements.window.back().work_ms, 2, 1e-6);
}

TEST_F(StatementsTest, ASumOfHiddenRowsThatLosesOneIsNotCountedAgain) {
  // Role 20's statements are hidden from the agent's role (no queryid): one key summing them.
  // One of them is evicted: the sum drops; its history must not come back as new work.
  Poll({{"20", std::nullopt, 50, 18000}, {"20", std::nullopt, 10, 100}, {"20", "1", 1, 1}});
  Poll({{"20", std::nullopt, 50, 18000}, {"20", "1", 2, 2}});
  const auto& step = observations_.statements.window.back();
  EXPECT_DOUBLE_EQ(step.work_calls, 1);
  EXPECT_DOUBLE_EQ(step.work_ms, 1);
}

TEST_F(StatementsTest, HysteresisKeepsSeriesAndCountersMonotonic) {
  Poll({{"20", "1", 10, 5000}, {"20", "2", 10, 3000}, {"20", "3", 10, 10}});
  double other_before = 0;
  double total_before = 0;
  // Statement 3 becomes the busiest, 2 goes quiet: 2 stays exported for a while, then folds.
  for (int poll = 1; poll <= kTopNHysteresisPolls + 2; ++poll) {
    const auto families = Poll({{"20", "1", 10.0 + poll, 5000.0 + 100 * poll},
                                {"20", "2", 10, 3000},
                                {"20", "3", 10.0 + 10 * poll, 10.0 + 1000 * poll}});
    const double other = Calls(families, "other") < 0 ? 0 : Calls(families, "other");
    const double total = Sum(families, "pg_stat_statements_calls_total");
    EXPECT_GE(other, other_before) << "poll " << poll;
    EXPECT_EQ(total, 30 + 11 * poll) << "poll " << poll;
    EXPECT_GT(total, total_before);
    other_before = other;
    total_before = total;
    EXPECT_EQ(Calls(families, "3"), 10 * poll) << "joins at 0, then counts its deltas";
    if (poll <= kTopNHysteresisPolls) {
      EXPECT_EQ(Calls(families, "2"), 10) << "still exported at poll " << poll;
    } else {
      EXPECT_EQ(Calls(families, "2"), -1) << "folded into other at poll " << poll;
    }
  }
}

TEST_F(StatementsTest, TheAgentsExactCountsLeaveTheApplicationsCallsInASharedEntry) {
  Poll({{"20", "1", 10, 100}, {"10", "900", 10, 1}, {"10", "950", 5, 5}, {"20", "7", 3, 0.3}});
  // Between the polls the agent probes 20 times and the application, under the same role,
  // validates its pooled connections with SELECT 1 five times: one entry, 25 calls.
  RunOwn("SELECT 1", 20);
  const auto families = Poll(
      {{"20", "1", 12, 700}, {"10", "900", 35, 3.5}, {"10", "950", 9, 9}, {"20", "7", 5, 0.5}});
  ASSERT_FALSE(observations_.statements.window.empty());
  const auto& step = observations_.statements.window.back();
  EXPECT_DOUBLE_EQ(step.agent_calls, 20);
  EXPECT_DOUBLE_EQ(step.agent_ms, 2);  // the entry's mean per call: 2.5 ms over 25 calls
  EXPECT_DOUBLE_EQ(step.housekeeping_calls, 5 + 2);  // the pool's SELECT 1 and BEGIN
  EXPECT_DOUBLE_EQ(step.work_calls, 2 + 4);  // user 20's slow statement, the role's own work
  EXPECT_DOUBLE_EQ(step.work_ms, 600 + 4);
  EXPECT_EQ(step.at - step.from, 30s);
  EXPECT_EQ(step.at_log_ms - step.from_log_ms, 30'000);
  EXPECT_EQ(SampleValue(families, "pgvigil_statements_total", {{"kind", "agent"}}), 20);
  EXPECT_EQ(SampleValue(families, "pgvigil_statements_total", {{"kind", "housekeeping"}}), 7);
  EXPECT_EQ(SampleValue(families, "pgvigil_statements_total", {{"kind", "work"}}), 6);
  EXPECT_NEAR(
      SampleValue(families, "pgvigil_statement_seconds_total", {{"kind", "work"}}).value_or(0),
      0.604, 1e-9);
  // Exported counters stay the server's truth, the agent's own load included.
  EXPECT_EQ(Sum(families, "pg_stat_statements_calls_total"), 12 + 35 + 9 + 5);
}

TEST_F(StatementsTest, SlowStatementsLeaveTheAgentsOwnOut) {
  Poll({{"20", "1", 10, 100}, {"10", "900", 10, 10}});
  // The agent's own statement is slow (30 ms over 20 calls is not, but 10 s is).
  RunOwn("/* pgvigil */ SELECT 1", 20);
  const auto families = Poll({{"20", "1", 12, 700}, {"10", "900", 30, 10000}});
  // Statement 1: 600 ms over 2 calls = 300 ms mean > 100 ms.
  EXPECT_EQ(SampleValue(families, "pg_stat_statements_slow_statements"), 1);
  const auto& view = observations_.statements;
  EXPECT_TRUE(view.available);
  EXPECT_EQ(view.over_threshold, 1u);
  ASSERT_EQ(view.top.size(), 1u);
  EXPECT_EQ(view.top[0].queryid, "1");
  EXPECT_EQ(view.top[0].user, "web");
  EXPECT_DOUBLE_EQ(view.top[0].mean_ms, 300);
  EXPECT_EQ(view.top[0].query, "select * from slow where id = $1");
  EXPECT_DOUBLE_EQ(view.window.back().work_calls, 2);  // the agent's 20 calls left out
}

TEST_F(StatementsTest, TextIsFetchedOnceAndOnlyWhenNeeded) {
  Poll({{"20", "1", 10, 100}, {"10", "900", 10, 10}});
  EXPECT_EQ(TextQueries(), 0);  // the first poll is a baseline: nothing to classify yet
  RunOwn("SELECT 1", 20);
  Poll({{"20", "1", 12, 700}, {"10", "900", 30, 10000}});
  EXPECT_EQ(TextQueries(), 1);  // the agent's entry and the busiest others, in one query
  RunOwn("SELECT 1", 10);
  Poll({{"20", "1", 14, 1300}, {"10", "900", 40, 10000}});
  EXPECT_EQ(TextQueries(), 0);  // cached by now
}

TEST_F(StatementsTest, ATextNotYetAskedForIsNeverCachedEmpty) {
  // More busy statements of the agent's own role than one text query reads, and a slow one
  // among the least called: its text is read when it is listed as slow.
  const int busy = static_cast<int>(StatementTexts::kPerPoll) + 50;
  std::vector<Entry> before;
  std::vector<Entry> after;
  texts_.clear();
  for (int i = 0; i < busy; ++i) {
    const std::string id = std::to_string(1000 + i);
    before.push_back({"10", id, 0, 0});
    after.push_back({"10", id, 100.0 + i, 1});
    texts_.push_back(Row{"10", "5", id, "select " + std::to_string(i) + " from t"});
  }
  before.push_back({"10", "42", 1, 1});
  after.push_back({"10", "42", 2, 5001});
  texts_.push_back(Row{"10", "5", "42", "select pg_sleep($1)"});
  Poll(before);
  Poll(after);
  const auto& top = observations_.statements.top;
  ASSERT_FALSE(top.empty());
  EXPECT_EQ(top[0].queryid, "42");
  EXPECT_EQ(top[0].query, "select pg_sleep($1)");
}

TEST_F(StatementsTest, FullResetWithoutStatsResetOnOlderServers) {
  server_version_ = 130000;
  extension_version_ = "1.8";
  Poll({{"20", "1", 100, 100}, {"20", "2", 50, 50}});
  // pg_stat_statements_reset() on 13: no stats_reset to read. Statement 1 ran 150 times since
  // the reset (more than before it), statement 2 ten times: most counted backwards.
  const auto families = Poll({{"20", "1", 150, 150}, {"20", "2", 10, 10}});
  EXPECT_EQ(Sum(families, "pg_stat_statements_calls_total"), 100 + 50 + 150 + 10);
  for (const auto& q : queries_) EXPECT_THAT(q, Not(HasSubstr("pg_stat_statements_info")));
}

TEST_F(StatementsTest, RecreatedEntryOnNewerServers) {
  server_version_ = 170000;
  extension_version_ = "1.11";
  Poll({{"20", "1", 100, 100, "2026-01-01"}, {"20", "2", 50, 50, "2026-01-01"}});
  // Statement 1 alone was reset (pg_stat_statements_reset(userid, dbid, queryid)) and ran
  // 120 times since: its stats_since moved.
  const auto families =
      Poll({{"20", "1", 120, 120, "2026-01-02"}, {"20", "2", 60, 60, "2026-01-01"}});
  EXPECT_EQ(Sum(families, "pg_stat_statements_calls_total"), 100 + 50 + 120 + 10);
}

TEST_F(StatementsTest, MissingExtensionCausesNoServerErrorAndRecovers) {
  class Catalog final : public pg::Session {
   public:
    explicit Catalog(pg::Rows rows) : rows_(std::move(rows)) {}
    pg::Rows Query(std::string_view sql) override {
      EXPECT_THAT(std::string(sql), Not(HasSubstr("pg_stat_statements(")));
      EXPECT_THAT(std::string(sql), Not(HasSubstr("pg_stat_statements_info")));
      return rows_;
    }
    [[nodiscard]] int ServerVersionNum() const override { return 150000; }

   private:
    pg::Rows rows_;
  };
  const std::vector<std::string> columns = {"own_userid", "own_dbid", "max",
                                            "schema",     "version",  "log_now"};
  Catalog missing(pg::Rows(columns, {Row{"10", "5", "5000", std::nullopt, std::nullopt, "1"}}));
  Catalog not_loaded(pg::Rows(columns, {Row{"10", "5", std::nullopt, "public", "1.10", "1"}}));
  for (auto* session : {&missing, &not_loaded}) {
    // Detected on connecting (the worker's, and only the worker's, to write) ...
    observations_.capabilities.pg_stat_statements = true;
    observations_.statements.extension.reset();
    EXPECT_TRUE(HasPgStatStatements(observations_));
    CollectContext context{session, target_, options_, now_, 5min, observations_, own_load_};
    metrics::FamilySet out;
    collector_.Collect(context, out);  // no throw: a missing extension is not a failure
    // ... and dropped since: the collector's look is the newer word.
    EXPECT_TRUE(observations_.capabilities.pg_stat_statements);
    EXPECT_EQ(observations_.statements.extension, false);
    EXPECT_FALSE(HasPgStatStatements(observations_));
    EXPECT_FALSE(observations_.statements.available);
  }
  EXPECT_THAT(observations_.statements.unavailable, HasSubstr("shared_preload_libraries"));
  // Created while the agent runs: a baseline first, then deltas.
  observations_.capabilities.pg_stat_statements = false;
  Poll({{"20", "1", 4, 4}});
  EXPECT_FALSE(observations_.capabilities.pg_stat_statements);
  EXPECT_TRUE(HasPgStatStatements(observations_));
  EXPECT_TRUE(observations_.statements.window.empty());
  Poll({{"20", "1", 6, 6}});
  ASSERT_EQ(observations_.statements.window.size(), 1u);
  EXPECT_DOUBLE_EQ(observations_.statements.window.back().work_calls, 2);
}

}  // namespace
}  // namespace pgvigil::collectors
