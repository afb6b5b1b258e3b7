#include "collectors/statements_delta.h"

#include <gtest/gtest.h>

#include "fake_session.h"

namespace pgvigil::collectors {
namespace {

using testing::Row;

pg::Rows Counters(std::vector<Row> rows) {
  return pg::Rows({"userid", "dbid", "queryid", "calls", "exec_ms", "rows", "stats_since"},
                  std::move(rows));
}

// Reads `rows` into `statements` as a poll does.
void Poll(TrackedStatements& statements, std::vector<Row> rows, bool baseline = false) {
  ApplyRead(statements, ReadCounters(Counters(std::move(rows)), true), false, baseline);
}

const StatementKey kEntry{10, 5, 900};

TEST(ReadCountersTest, SumsRowsOfOneKeyAndMarksThem) {
  const CountersRead read =
      ReadCounters(Counters({Row{"10", "5", "900", "3", "1.5", "3", "2026-01-01"},
                             Row{"10", "5", "900", "2", "1", "2", "2026-01-02"},
                             Row{"20", "5", std::nullopt, "4", "8", "4", std::nullopt},
                             Row{"10", "5", "950", "1", "1", "1", std::nullopt}}),
                   true);
  EXPECT_DOUBLE_EQ(read.current.at(kEntry).calls, 5);
  EXPECT_DOUBLE_EQ(read.current.at(kEntry).exec_ms, 2.5);
  EXPECT_EQ(read.since.at(kEntry), "2026-01-02");
  const StatementKey hidden{20, 5, kHiddenQueryId};
  EXPECT_DOUBLE_EQ(read.current.at(hidden).calls, 4);
  EXPECT_EQ(read.summed, (std::set<StatementKey>{kEntry, hidden}));
}

TEST(ApplyReadTest, BaselineThenDeltas) {
  TrackedStatements statements;
  Poll(statements, {Row{"10", "5", "900", "100", "50", "100", "s"}}, true);
  EXPECT_DOUBLE_EQ(statements.at(kEntry).delta.calls, 0);
  Poll(statements, {Row{"10", "5", "900", "103", "56", "103", "s"}});
  EXPECT_DOUBLE_EQ(statements.at(kEntry).delta.calls, 3);
  EXPECT_DOUBLE_EQ(statements.at(kEntry).delta.exec_ms, 6);
}

TEST(ApplyReadTest, EntryCountingBackwardsCountsAllItHas) {
  TrackedStatements statements;
  Poll(statements, {Row{"10", "5", "900", "100", "50", "100", "s"}}, true);
  Poll(statements, {Row{"10", "5", "900", "4", "2", "4", "s"}});
  EXPECT_DOUBLE_EQ(statements.at(kEntry).delta.calls, 4);
}

TEST(ApplyReadTest, RecreatedEntryCountsAllItHasEvenWhenAhead) {
  TrackedStatements statements;
  Poll(statements, {Row{"10", "5", "900", "100", "50", "100", "s1"}}, true);
  Poll(statements, {Row{"10", "5", "900", "120", "60", "120", "s2"}});
  EXPECT_DOUBLE_EQ(statements.at(kEntry).delta.calls, 120);
}

TEST(ApplyReadTest, SumWithARowResetCountsNothing) {
  // A statement top-level and nested: one of its rows reset, the sum went back from 110 to 103.
  TrackedStatements statements;
  Poll(
      statements,
      {Row{"10", "5", "900", "100", "50", "100", "s"}, Row{"10", "5", "900", "10", "5", "10", "s"}},
      true);
  Poll(statements,
       {Row{"10", "5", "900", "101", "51", "101", "s"}, Row{"10", "5", "900", "2", "1", "2", "s"}});
  EXPECT_DOUBLE_EQ(statements.at(kEntry).delta.calls, 0);
  EXPECT_DOUBLE_EQ(statements.at(kEntry).last.calls, 103);
}

TEST(ApplyReadTest, TimeRoundingNoiseIsNotAReset) {
  TrackedStatements statements;
  Poll(statements, {Row{"10", "5", "900", "100", "50.00000000001", "100", "s"}}, true);
  Poll(statements, {Row{"10", "5", "900", "100", "50", "100", "s"}});
  EXPECT_DOUBLE_EQ(statements.at(kEntry).delta.calls, 0);
  EXPECT_DOUBLE_EQ(statements.at(kEntry).delta.exec_ms, 0);
}

TEST(ApplyReadTest, EvictedEntriesDropNewOnesCountFully) {
  TrackedStatements statements;
  Poll(statements, {Row{"10", "5", "900", "100", "50", "100", "s"}}, true);
  Poll(statements, {Row{"10", "5", "950", "7", "1", "7", "s"}});
  EXPECT_FALSE(statements.contains(kEntry));
  EXPECT_DOUBLE_EQ(statements.at({10, 5, 950}).delta.calls, 7);
}

TEST(LooksLikeFullResetTest, MostTrackedCountingBackwards) {
  TrackedStatements statements;
  Poll(statements,
       {Row{"10", "5", "1", "100", "1", "1", "s"}, Row{"10", "5", "2", "100", "1", "1", "s"},
        Row{"10", "5", "3", "100", "1", "1", "s"}},
       true);
  auto read = [](std::vector<Row> rows) { return ReadCounters(Counters(std::move(rows)), true); };
  EXPECT_TRUE(LooksLikeFullReset(
      read({Row{"10", "5", "1", "1", "1", "1", "s"}, Row{"10", "5", "2", "2", "1", "1", "s"},
            Row{"10", "5", "3", "200", "1", "1", "s"}}),
      statements));
  EXPECT_FALSE(LooksLikeFullReset(
      read({Row{"10", "5", "1", "1", "1", "1", "s"}, Row{"10", "5", "2", "200", "1", "1", "s"},
            Row{"10", "5", "3", "200", "1", "1", "s"}}),
      statements));
}

}  // namespace
}  // namespace pgvigil::collectors
