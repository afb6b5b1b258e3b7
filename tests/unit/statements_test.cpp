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
  std::string queryid;
  double calls;
  double exec_ms;
};

// Drives the collector through successive polls of canned pg_stat_statements contents.
class StatementsTest : public ::testing::Test {
 protected:
  static config::Target MakeTarget() {
    config::Target target;
    target.settings.statements_top_n = 2;
    target.settings.slow_query_threshold = 100ms;
    return target;
  }

  std::vector<prometheus::MetricFamily> Poll(const std::vector<Entry>& entries,
                                             const std::string& stats_reset = "2026-01-01") {
    FakeSession session(150000);
    session.Respond("pg_stat_statements_info",
                    pg::Rows({"max", "own_userid", "own_dbid", "dealloc", "stats_reset"},
                             {Row{"5000", "10", "5", "3", stats_reset}}));
    session.Respond("'d' AS kind", pg::Rows({"kind", "oid", "name"},
                                            {Row{"d", "5", "app"}, Row{"r", "10", "monitor"},
                                             Row{"r", "20", "web"}}));
    session.Respond("pg_stat_statements(true)",
                    pg::Rows({"userid", "dbid", "queryid", "query"},
                             {Row{"10", "5", "900", "/* pgvigil */ SELECT $1"},
                              Row{"20", "5", "1", "select * from slow where id = $1"}}));
    std::vector<Row> rows;
    for (const Entry& e : entries) {
      rows.push_back(Row{e.userid, "5", e.queryid, std::to_string(e.calls),
                         std::to_string(e.exec_ms), std::to_string(e.calls)});
    }
    session.Respond("pg_stat_statements(false)",
                    pg::Rows({"userid", "dbid", "queryid", "calls", "exec_ms", "rows"}, rows));
    now_ += 30s;
    CollectContext context{&session, target_, options_, now_, 5min, observations_};
    metrics::FamilySet out;
    collector_.Collect(context, out);
    queries_ = session.queries();
    return out.Take();
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

  config::Target target_ = MakeTarget();
  StatementsCollector collector_{target_};
  pg::ConnectOptions options_;
  Observations observations_;
  SteadyClock::time_point now_{};
  std::vector<std::string> queries_;
};

TEST(StatementsSqlTest, ColumnNamesPerVersion) {
  EXPECT_THAT(StatementsSql(120000), HasSubstr("total_time AS exec_ms"));
  EXPECT_THAT(StatementsSql(120000), Not(HasSubstr("total_exec_time")));
  for (int version : {130000, 140000, 150000, 160000, 170000}) {
    EXPECT_THAT(StatementsSql(version), HasSubstr("total_exec_time AS exec_ms"));
  }
  // Counters only: the query text file is never read by the regular poll.
  EXPECT_THAT(StatementsSql(150000), HasSubstr("pg_stat_statements(false)"));
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

TEST_F(StatementsTest, HysteresisKeepsSeriesAndCountersMonotonic) {
  Poll({{"20", "1", 10, 5000}, {"20", "2", 10, 3000}, {"20", "3", 10, 10}});
  double other_before = 0;
  double total_before = 0;
  // Statement 3 becomes the busiest, 2 goes quiet: 2 stays exported for a while, then folds.
  for (int poll = 1; poll <= StatementsCollector::kHysteresisPolls + 2; ++poll) {
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
    if (poll <= StatementsCollector::kHysteresisPolls) {
      EXPECT_EQ(Calls(families, "2"), 10) << "still exported at poll " << poll;
    } else {
      EXPECT_EQ(Calls(families, "2"), -1) << "folded into other at poll " << poll;
    }
  }
}

TEST_F(StatementsTest, SlowStatementsAndTheAgentsOwn) {
  Poll({{"20", "1", 10, 100}, {"10", "900", 10, 10}});
  const auto families = Poll({{"20", "1", 12, 700}, {"10", "900", 30, 10000}});
  // Statement 1: 600 ms over 2 calls = 300 ms mean > 100 ms. 900 is the agent's own (marker).
  EXPECT_EQ(SampleValue(families, "pg_stat_statements_slow_statements"), 1);
  const auto& view = observations_.statements;
  EXPECT_TRUE(view.available);
  EXPECT_EQ(view.over_threshold, 1u);
  ASSERT_EQ(view.top.size(), 1u);
  EXPECT_EQ(view.top[0].queryid, "1");
  EXPECT_EQ(view.top[0].user, "web");
  EXPECT_DOUBLE_EQ(view.top[0].mean_ms, 300);
  EXPECT_EQ(view.top[0].query, "select * from slow where id = $1");
  ASSERT_FALSE(view.window.empty());
  EXPECT_DOUBLE_EQ(view.window.back().calls, 2);  // the agent's 20 calls left out
  // Exported counters stay the server's truth, the agent's own load included.
  EXPECT_EQ(Sum(families, "pg_stat_statements_calls_total"), 42);
}

TEST_F(StatementsTest, TextIsFetchedOnceAndOnlyWhenNeeded) {
  Poll({{"20", "1", 10, 100}, {"10", "900", 10, 10}});
  int text_queries = 0;
  for (const auto& q : queries_)
    text_queries += q.find("pg_stat_statements(true)") != std::string::npos;
  EXPECT_EQ(text_queries, 1);  // the agent's own entry, to recognise it
  Poll({{"20", "1", 12, 700}, {"10", "900", 30, 10000}});
  Poll({{"20", "1", 14, 1300}, {"10", "900", 40, 10000}});
  text_queries = 0;
  for (const auto& q : queries_)
    text_queries += q.find("pg_stat_statements(true)") != std::string::npos;
  EXPECT_EQ(text_queries, 0);  // the slow statement's text is cached by now
}

TEST(StatementsMissingTest, MissingExtensionIsReportedClearly) {
  config::Target target;
  StatementsCollector collector(target);
  FakeSession session(150000);  // no canned responses: every query fails
  class Missing final : public pg::Session {
   public:
    pg::Rows Query(std::string_view) override {
      throw pg::Error(pg::ErrorKind::kQuery, "relation \"pg_stat_statements_info\" does not exist",
                      "42P01");
    }
    [[nodiscard]] int ServerVersionNum() const override { return 150000; }
  } missing;
  pg::ConnectOptions options;
  Observations observations;
  observations.capabilities.pg_stat_statements = true;
  CollectContext context{&missing, target, options, SteadyClock::now(), 5min, observations};
  metrics::FamilySet out;
  try {
    collector.Collect(context, out);
    FAIL() << "collected without the extension";
  } catch (const pg::Error& error) {
    EXPECT_THAT(error.what(), HasSubstr("CREATE EXTENSION pg_stat_statements"));
  }
  EXPECT_FALSE(observations.capabilities.pg_stat_statements);
  EXPECT_FALSE(observations.statements.available);
}

}  // namespace
}  // namespace pgvigil::collectors
