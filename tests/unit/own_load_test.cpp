#include "pg/own_load.h"

#include <gtest/gtest.h>

#include "collectors/activity.h"

namespace pgvigil::pg {
namespace {

using namespace std::chrono_literals;

TEST(FingerprintTest, MatchesWhatPgStatStatementsKeeps) {
  // Constants become $n; PostgreSQL 18 drops the leading comment.
  EXPECT_EQ(Fingerprint("/* pgvigil */ SELECT 1"), Fingerprint("SELECT $1"));
  EXPECT_EQ(Fingerprint("/* pgvigil */ SELECT 1"), Fingerprint("/* pgvigil */ SELECT $1"));
  EXPECT_EQ(Fingerprint("select 1;"), "select ?");
  EXPECT_EQ(Fingerprint("SELECT current_setting('max_connections')::int, 0.25, 1e-3"),
            Fingerprint("SELECT current_setting($1)::int, $2, $3"));
  EXPECT_EQ(Fingerprint("SELECT x FROM f(false) WHERE y IS NOT NULL AND z = E'it''s \\' q'"),
            Fingerprint("SELECT x FROM f($1) WHERE y IS NOT NULL AND z = $2"));
  EXPECT_EQ(Fingerprint("SELECT $tag$a 'b'$tag$, \"Mixed Case\""), "select ?, \"Mixed Case\"");
  EXPECT_EQ(Fingerprint("SELECT 1 -- trailing\n  FROM  t /* a /* nested */ b */ ;"),
            "select ? from t");
  EXPECT_EQ(Fingerprint("  BEGIN ISOLATION LEVEL SERIALIZABLE"),
            "begin isolation level serializable");
  // Identifiers that hold digits are not constants.
  EXPECT_EQ(Fingerprint("SELECT col1 FROM t2"), "select col1 from t2");
  EXPECT_NE(Fingerprint("SELECT 1"), Fingerprint("SELECT 1 FROM t"));
  // PostgreSQL 18 squashes lists of constants; older versions list them all.
  EXPECT_EQ(
      Fingerprint("SELECT x FROM t WHERE n IN ('a', 'b', 'c') AND m = ANY(ARRAY[1, 2])"),
      Fingerprint("SELECT x FROM t WHERE n IN ($1 /*, ... */) AND m = ANY(ARRAY[$2 /*, ... */])"));
  EXPECT_EQ(Fingerprint("SELECT x FROM t WHERE n IN ($1, $2, $3)"),
            "select x from t where n in (?)");
  // Only lists of constants: a list with a column in it, and a select list, stay as they are.
  EXPECT_EQ(Fingerprint("SELECT f(1, col)"), "select f(?, col)");
  EXPECT_EQ(Fingerprint("SELECT 1, 2"), "select ?, ?");
}

TEST(FingerprintTest, EveryStatementOfTheActivityCollectorMatchesItsNormalizedForm) {
  // The activity query carries the slow threshold: as a plain number it is one constant that
  // pg_stat_statements replaces, so threshold changes keep one fingerprint.
  EXPECT_EQ(Fingerprint(collectors::ActivitySql(150000, 1500ms)),
            Fingerprint(collectors::ActivitySql(150000, 250ms)));
}

TEST(OwnLoadTest, CountsExactlyByFingerprint) {
  OwnLoad load;
  load.Record("/* pgvigil */ SELECT 1", true, 0.001);
  load.Record("SELECT 1", true, 0.003);
  load.Record("SELECT 1", false, 0);
  load.Record("SELECT now()", true, 0.002);
  const auto& statements = load.Statements();
  ASSERT_EQ(statements.size(), 2u);
  const auto& probe = statements.at("select ?");
  EXPECT_EQ(probe.ok, 2u);
  EXPECT_EQ(probe.failed, 1u);
  EXPECT_DOUBLE_EQ(probe.seconds, 0.004);
  EXPECT_EQ(load.Total().ok, 3u);
  EXPECT_EQ(load.Total().failed, 1u);
}

}  // namespace
}  // namespace pgvigil::pg

namespace pgvigil::pg {
namespace {

TEST(OwnLoadTest, TotalsAsOfATime) {
  OwnLoad load;
  const auto t0 = OwnLoad::Clock::time_point{} + std::chrono::hours(1);
  load.Record("SELECT 1", true, 0.001, t0);
  load.Record("SELECT 1/0", false, 0, t0 + std::chrono::seconds(1));
  load.Record("SELECT 2", true, 0.001, t0 + std::chrono::seconds(2));
  EXPECT_EQ(load.TotalAt(t0 - std::chrono::seconds(1)).ok, 0u);
  EXPECT_EQ(load.TotalAt(t0).ok, 1u);
  EXPECT_EQ(load.TotalAt(t0 + std::chrono::milliseconds(1500)).failed, 1u);
  EXPECT_EQ(load.TotalAt(t0 + std::chrono::milliseconds(1500)).ok, 1u);
  EXPECT_EQ(load.TotalAt(t0 + std::chrono::seconds(9)).ok, 2u);
  // Older than a minute: the counts as of then are kept, the entries are not.
  load.Record("SELECT 3", true, 0.001, t0 + std::chrono::seconds(120));
  EXPECT_EQ(load.TotalAt(t0).ok, 2u);
  EXPECT_EQ(load.TotalAt(t0 + std::chrono::seconds(120)).ok, 3u);
  // A burst within 100 ms is one entry, at its first statement's time.
  load.Record("SELECT 4", true, 0.001, t0 + std::chrono::milliseconds(120050));
  EXPECT_EQ(load.TotalAt(t0 + std::chrono::seconds(120)).ok, 4u);
  EXPECT_EQ(load.TotalAt(t0 + std::chrono::seconds(119)).ok, 2u);
}

}  // namespace
}  // namespace pgvigil::pg
