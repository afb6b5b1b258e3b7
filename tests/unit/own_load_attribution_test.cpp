#include "collectors/own_load_attribution.h"

#include <gtest/gtest.h>

namespace pgvigil::collectors {
namespace {

// The agent's role and database, and the fingerprints it and the application run.
constexpr std::uint32_t kRole = 10;
constexpr std::uint32_t kDatabase = 5;
const std::string kProbe = pg::Fingerprint("SELECT 1");
const std::string kOrders = pg::Fingerprint("select * from orders where id = $1");
const StatementKey kProbeEntry{kRole, kDatabase, 900};
const StatementKey kOrdersEntry{kRole, kDatabase, 950};

pg::OwnLoad::Counts Ran(std::uint64_t ok, double seconds, std::uint64_t in_flight = 0) {
  pg::OwnLoad::Counts counts;
  counts.ok = ok;
  counts.seconds = seconds;
  counts.in_flight = in_flight;
  return counts;
}

std::vector<OwnStatements> Load(pg::OwnLoad::ByFingerprint statements) {
  return {{0, kRole, kDatabase, std::move(statements)}};
}

TrackedStatement WithDelta(double calls, double exec_ms) {
  TrackedStatement statement;
  statement.delta = {calls, exec_ms, calls};
  return statement;
}

// Drives one worker's attribution poll by poll, the texts of both entries known.
class OwnLoadAttributionTest : public ::testing::Test {
 protected:
  void SetUp() override { attribution_.Remember(Load({}), Load({}), true); }

  OwnLoadAttribution::Unmatched Poll(TrackedStatements& statements,
                                     std::vector<OwnStatements> own_now,
                                     const std::vector<OwnStatements>& own_after) {
    attribution_.Prepare(own_now, own_after);
    const auto unmatched = attribution_.Attribute(statements, text_of_, own_now);
    attribution_.Remember(own_now, own_after, false);
    own_now_ = own_now;
    return unmatched;
  }

  OwnLoadAttribution attribution_;
  std::map<StatementKey, std::size_t> texts_ = {{kProbeEntry, FingerprintHash(kProbe)},
                                                {kOrdersEntry, FingerprintHash(kOrders)}};
  OwnLoadAttribution::TextOf text_of_ =
      [this](const StatementKey& key) -> std::optional<std::size_t> {
    const auto it = texts_.find(key);
    if (it == texts_.end()) return std::nullopt;
    return it->second;
  };
  std::vector<OwnStatements> own_now_;
};

TEST_F(OwnLoadAttributionTest, TakesExactlyWhatTheAgentRan) {
  TrackedStatements statements{{kProbeEntry, WithDelta(3, 1.5)}, {kOrdersEntry, WithDelta(40, 80)}};
  const auto unmatched =
      Poll(statements, Load({{kProbe, Ran(3, 0.003)}}), Load({{kProbe, Ran(3, 0.003)}}));
  EXPECT_DOUBLE_EQ(statements[kProbeEntry].own_delta.calls, 3);
  EXPECT_DOUBLE_EQ(statements[kProbeEntry].own_delta.exec_ms, 1.5);
  EXPECT_DOUBLE_EQ(statements[kOrdersEntry].own_delta.calls, 0);
  EXPECT_DOUBLE_EQ(unmatched.calls, 0);

  // The next poll counts from this one: 2 more statements are 2, not 5.
  statements[kProbeEntry] = WithDelta(2, 1);
  (void)Poll(statements, Load({{kProbe, Ran(5, 0.005)}}), Load({{kProbe, Ran(5, 0.005)}}));
  EXPECT_DOUBLE_EQ(statements[kProbeEntry].own_delta.calls, 2);
}

TEST_F(OwnLoadAttributionTest, LeavesTheApplicationsIdenticalStatementItsCalls) {
  // A pool's SELECT 1 under the agent's role lands in the agent's entry: 3 of 10 are the agent's,
  // with the entry's mean time per call.
  TrackedStatements statements{{kProbeEntry, WithDelta(10, 20)}};
  (void)Poll(statements, Load({{kProbe, Ran(3, 0.003)}}), Load({{kProbe, Ran(3, 0.003)}}));
  EXPECT_DOUBLE_EQ(statements[kProbeEntry].own_delta.calls, 3);
  EXPECT_DOUBLE_EQ(statements[kProbeEntry].own_delta.exec_ms, 6);
  EXPECT_DOUBLE_EQ(statements[kProbeEntry].own_delta.rows, 3);
}

TEST_F(OwnLoadAttributionTest, InFlightStatementCountedOnceWhereverTheServerCountedIt) {
  // One statement was running while the counters were read, and the server counted it already:
  // the entry shows 3 calls for 2 answered. It is the agent's, and the next poll, where it is
  // answered, does not take it again.
  TrackedStatements statements{{kProbeEntry, WithDelta(3, 3)}};
  (void)Poll(statements, Load({{kProbe, Ran(2, 0.002)}}), Load({{kProbe, Ran(2, 0.002, 1)}}));
  EXPECT_DOUBLE_EQ(statements[kProbeEntry].own_delta.calls, 3);
  EXPECT_EQ(own_now_[0].statements.at(kProbe).ok, 3U);

  statements[kProbeEntry] = WithDelta(1, 1);  // the application's
  (void)Poll(statements, Load({{kProbe, Ran(3, 0.003)}}), Load({{kProbe, Ran(3, 0.003)}}));
  EXPECT_DOUBLE_EQ(statements[kProbeEntry].own_delta.calls, 0);
}

TEST_F(OwnLoadAttributionTest, InFlightStatementNotCountedYetWaitsForTheNextRead) {
  TrackedStatements statements{{kProbeEntry, WithDelta(2, 2)}};
  (void)Poll(statements, Load({{kProbe, Ran(2, 0.002)}}), Load({{kProbe, Ran(2, 0.002, 1)}}));
  EXPECT_DOUBLE_EQ(statements[kProbeEntry].own_delta.calls, 2);
  EXPECT_EQ(own_now_[0].statements.at(kProbe).ok, 2U);

  statements[kProbeEntry] = WithDelta(1, 1);  // now answered and counted
  (void)Poll(statements, Load({{kProbe, Ran(3, 0.003)}}), Load({{kProbe, Ran(3, 0.003)}}));
  EXPECT_DOUBLE_EQ(statements[kProbeEntry].own_delta.calls, 1);
}

TEST_F(OwnLoadAttributionTest, StatementsWithoutTheirEntryAreUnmatched) {
  texts_.clear();  // no entry's text known: the agent's statements cannot be placed
  TrackedStatements statements{{kProbeEntry, WithDelta(3, 3)}};
  const auto unmatched =
      Poll(statements, Load({{kProbe, Ran(3, 0.006)}}), Load({{kProbe, Ran(3, 0.006)}}));
  EXPECT_DOUBLE_EQ(statements[kProbeEntry].own_delta.calls, 0);
  EXPECT_DOUBLE_EQ(unmatched.calls, 3);
  EXPECT_NEAR(unmatched.ms, 6, 1e-9);
}

TEST_F(OwnLoadAttributionTest, CandidatesAreTheAgentsDatabaseEntriesWithoutText) {
  texts_.clear();
  const StatementKey other_role{20, kDatabase, 1};
  const StatementKey hidden{kRole, kDatabase, kHiddenQueryId};
  const StatementKey too_few{kRole, kDatabase, 2};
  TrackedStatements statements{{kProbeEntry, WithDelta(3, 1)},
                               {kOrdersEntry, WithDelta(9, 1)},
                               {other_role, WithDelta(50, 1)},
                               {hidden, WithDelta(50, 1)},
                               {too_few, WithDelta(1, 1)}};
  attribution_.Prepare(Load({{kProbe, Ran(3, 0.003)}}), Load({{kProbe, Ran(3, 0.003)}}));
  EXPECT_EQ(attribution_.Candidates(statements, text_of_),
            (std::vector<StatementKey>{kOrdersEntry, kProbeEntry}));
}

TEST(AnsweredDuringTest, CountsAnsweredAndInFlightSinceBefore) {
  const auto extras = AnsweredDuring(Load({{kProbe, Ran(2, 0)}}),
                                     Load({{kProbe, Ran(3, 0, 1)}, {kOrders, Ran(0, 0, 1)}}));
  EXPECT_DOUBLE_EQ(extras.at(0).at(kProbe), 2);
  EXPECT_DOUBLE_EQ(extras.at(0).at(kOrders), 1);
}

}  // namespace
}  // namespace pgvigil::collectors
