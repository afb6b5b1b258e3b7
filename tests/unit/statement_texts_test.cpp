#include "collectors/statement_texts.h"

#include <gtest/gtest.h>

#include "fake_session.h"
#include "pg/own_load.h"

namespace pgvigil::collectors {
namespace {

using testing::FakeSession;
using testing::Row;

TEST(StatementKindTest, TransactionsOfTheirOwnPerCall) {
  EXPECT_EQ(TransactionsPerCall(pg::Fingerprint("DISCARD ALL")), 1);
  EXPECT_EQ(TransactionsPerCall(pg::Fingerprint("SELECT 1")), 1);
  EXPECT_EQ(TransactionsPerCall(pg::Fingerprint("COMMIT PREPARED 'x'")), 1);
  EXPECT_EQ(TransactionsPerCall(pg::Fingerprint("COMMIT")), 0);
  EXPECT_EQ(TransactionsPerCall(pg::Fingerprint("SET LOCAL work_mem = '1MB'")), 0);
  EXPECT_EQ(TransactionsPerCall(pg::Fingerprint("ending")), 1);  // a word, not END
}

TEST(StatementKindTest, OpensBlock) {
  EXPECT_TRUE(OpensBlock(pg::Fingerprint("BEGIN")));
  EXPECT_TRUE(OpensBlock(pg::Fingerprint("START TRANSACTION ISOLATION LEVEL SERIALIZABLE")));
  EXPECT_FALSE(OpensBlock(pg::Fingerprint("COMMIT")));
}

TEST(StatementTextsTest, HousekeepingByStatementOrPrefix) {
  const StatementTexts texts({"DISCARD ALL", "SET application_name *"});
  EXPECT_TRUE(texts.IsHousekeeping(pg::Fingerprint("discard all")));
  EXPECT_TRUE(texts.IsHousekeeping(pg::Fingerprint("SET application_name = 'x'")));
  EXPECT_FALSE(texts.IsHousekeeping(pg::Fingerprint("SET application_namex = 'x'")));
  EXPECT_FALSE(texts.IsHousekeeping(pg::Fingerprint("SELECT 1")));
}

TEST(StatementTextsTest, FetchesOnlyUnknownTrackedTextsOnce) {
  const StatementKey known{10, 5, 1};
  const StatementKey hidden{10, 5, kHiddenQueryId};
  const StatementKey gone{10, 5, 2};  // asked for, not returned
  TrackedStatements statements{{known, {}}, {hidden, {}}, {gone, {}}};
  StatementTexts texts({"DISCARD ALL"});
  FakeSession session;
  session.Respond("pg_stat_statements(true)",
                  pg::Rows({"userid", "dbid", "queryid", "query"},
                           {Row{"10", "5", "1", "DISCARD ALL"}, Row{"10", "5", "3", "untracked"}}));
  texts.Fetch(session, "\"public\".", {known, hidden, gone}, statements);
  ASSERT_EQ(session.queries().size(), 1U);
  ASSERT_NE(texts.Find(known), nullptr);
  EXPECT_EQ(texts.Find(known)->display, "DISCARD ALL");
  EXPECT_TRUE(texts.Find(known)->housekeeping);
  EXPECT_EQ(texts.Find(known)->transactions, 1);
  ASSERT_NE(texts.Find(gone), nullptr);  // known as empty: not asked again
  EXPECT_EQ(texts.Find(gone)->display, "");
  EXPECT_EQ(texts.Find(hidden), nullptr);
  EXPECT_EQ(texts.Find({10, 5, 3}), nullptr);

  texts.Fetch(session, "\"public\".", {known, gone}, statements);
  EXPECT_EQ(session.queries().size(), 1U);
  statements.erase(known);
  texts.Prune(statements);
  EXPECT_EQ(texts.Find(known), nullptr);
}

TEST(StatementTextsTest, AtMostKPerPollTexts) {
  TrackedStatements statements;
  std::vector<StatementKey> wanted;
  for (std::int64_t id = 1; id <= static_cast<std::int64_t>(StatementTexts::kPerPoll) + 5; ++id) {
    statements[{10, 5, id}] = {};
    wanted.push_back({10, 5, id});
  }
  StatementTexts texts({});
  FakeSession session;
  session.Respond("pg_stat_statements(true)", pg::Rows({"userid", "dbid", "queryid", "query"}, {}));
  texts.Fetch(session, "", wanted, statements);
  EXPECT_NE(texts.Find(wanted[StatementTexts::kPerPoll - 1]), nullptr);
  EXPECT_EQ(texts.Find(wanted[StatementTexts::kPerPoll]), nullptr);
}

}  // namespace
}  // namespace pgvigil::collectors
