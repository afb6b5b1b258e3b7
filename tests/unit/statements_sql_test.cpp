#include "collectors/statements_sql.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fake_session.h"

namespace pgvigil::collectors {
namespace {

using testing::FakeSession;
using ::testing::HasSubstr;
using testing::Row;

const std::vector<std::string> kCatalogColumns = {"own_userid",  "own_dbid",     "max",
                                                  "schema",      "version",      "log_now",
                                                  "xact_commit", "xact_rollback"};

StatementsCatalog LookUp(Row row) {
  FakeSession session;
  session.Respond("pg_stat_statements.max", pg::Rows(kCatalogColumns, {std::move(row)}));
  return LookUpStatements(session);
}

TEST(StatementsCatalogTest, UsableExtension) {
  const auto catalog = LookUp(Row{"10", "5", "5000", "my\"ext", "1.10", "1800000000000", "7", "2"});
  ASSERT_TRUE(catalog.extension);
  EXPECT_EQ(catalog.extension->schema, "\"my\"\"ext\".");
  EXPECT_EQ(catalog.extension->version, 110);
  EXPECT_EQ(catalog.own_userid, 10U);
  EXPECT_EQ(catalog.own_dbid, 5U);
  EXPECT_EQ(catalog.log_now_ms, 1'800'000'000'000);
  EXPECT_EQ(catalog.max, 5000);
  ASSERT_TRUE(catalog.transactions);
  EXPECT_DOUBLE_EQ(catalog.transactions->commits, 7);
  EXPECT_DOUBLE_EQ(catalog.transactions->rollbacks, 2);
}

TEST(StatementsCatalogTest, NotInstalledOrNotLoadedSaysWhich) {
  const auto missing = LookUp(Row{"10", "5", "5000", std::nullopt, std::nullopt, "1", "7", "2"});
  EXPECT_FALSE(missing.extension);
  EXPECT_THAT(missing.why, HasSubstr("CREATE EXTENSION"));
  EXPECT_TRUE(missing.transactions);  // the rest is read all the same
  const auto unloaded = LookUp(Row{"10", "5", std::nullopt, "public", "1.10", "1", "7", "2"});
  EXPECT_FALSE(unloaded.extension);
  EXPECT_THAT(unloaded.why, HasSubstr("shared_preload_libraries"));
}

TEST(StatementsCatalogTest, NoRowIsAnError) {
  FakeSession session;
  session.Respond("pg_stat_statements.max", pg::Rows(kCatalogColumns, {}));
  EXPECT_THROW((void)LookUpStatements(session), pg::Error);
}

TEST(StatementsInfoTest, ReadFromExtension19Only) {
  FakeSession session;
  session.Respond("pg_stat_statements_info",
                  pg::Rows({"dealloc", "stats_reset"}, {Row{"3", "2026-01-01"}}));
  EXPECT_FALSE(ReadStatementsInfo(session, {"\"public\".", 108}));
  EXPECT_TRUE(session.queries().empty());
  const auto info = ReadStatementsInfo(session, {"\"public\".", 109});
  ASSERT_TRUE(info);
  EXPECT_EQ(info->dealloc, 3);
  EXPECT_EQ(info->stats_reset, "2026-01-01");
  EXPECT_THAT(session.queries().at(0), HasSubstr("\"public\".pg_stat_statements_info"));
}

TEST(StatementTextsSqlTest, OneArrayConstantForEveryId) {
  EXPECT_EQ(StatementTextsSql("\"public\".", {-5, 7}),
            "SELECT userid, dbid, queryid, left(query, 4096) AS query FROM "
            "\"public\".pg_stat_statements(true) WHERE queryid = ANY('{-5,7}'::bigint[])");
}

TEST(ExtensionVersionTest, MajorAndMinor) {
  EXPECT_EQ(ExtensionVersion("1.9"), 109);
  EXPECT_EQ(ExtensionVersion("1.11"), 111);
  EXPECT_EQ(ExtensionVersion("2"), 200);
  EXPECT_EQ(ExtensionVersion("x"), 0);
}

}  // namespace
}  // namespace pgvigil::collectors
