#include "health/error_ratio.h"

#include <gtest/gtest.h>

namespace pgvigil::health {
namespace {

using namespace std::chrono_literals;
using Step = collectors::Observations::StatementsDelta;

// The server's clock as its log writes time at the start of a test's window
// (ms).
constexpr std::int64_t kLog0 = 1'800'000'000'000;

class ErrorRatioTest : public ::testing::Test {
 protected:
  void SetUp() override {
    input_.name = "primary";
    input_.reachable = true;
    input_.observations = &obs_;
    input_.collectors = {{"statements", true, true, ""}, {"database", true, true, ""}};
  }

  // A statements delta of 30 s, the `index`th from t0_, with `work` application
  // calls.
  Step StepAt(int index, double work) const {
    const auto from = t0_ + 30s * index;
    const std::int64_t from_log = kLog0 + 30'000 * static_cast<std::int64_t>(index);
    Step step{from, from + 30s, from_log, from_log + 30'000};
    step.work_calls = work;
    return step;
  }

  const collectors::SteadyClock::time_point t0_ = collectors::SteadyClock::now() - 120s;
  collectors::Observations obs_;
  TargetInput input_;
};

TEST_F(ErrorRatioTest, RollbackRatioAndDeadlocksSumTheDatabaseDeltas) {
  EXPECT_FALSE(RollbackRatio(obs_).has_value());
  obs_.database = {{t0_, t0_ + 15s, 0, 0, 0}};
  EXPECT_EQ(RollbackRatio(obs_), 0.0);  // an idle server has no errors
  obs_.database = {{t0_, t0_ + 15s, 60, 10, 1}, {t0_ + 15s, t0_ + 30s, 20, 10, 2}};
  EXPECT_DOUBLE_EQ(*RollbackRatio(obs_), 20.0 / 100.0);
  EXPECT_DOUBLE_EQ(Deadlocks(obs_), 3.0);
}

TEST_F(ErrorRatioTest, ApplicationRollbacksOverTheStatementsIntervals) {
  EXPECT_FALSE(ApplicationRollbackRatio(obs_).has_value());  // no pg_stat_statements
  obs_.statements.available = true;
  obs_.statements.window = {StepAt(0, 10)};
  EXPECT_FALSE(ApplicationRollbackRatio(obs_).has_value());  // no transactions read
  for (int i = 0; i < 2; ++i) {
    Step step = StepAt(i + 1, 10);
    step.has_transactions = true;
    step.transactions = 40;
    step.rollbacks = 2 + i;
    obs_.statements.window.push_back(step);
  }
  const auto ratio = ApplicationRollbackRatio(obs_);
  ASSERT_TRUE(ratio.has_value());
  EXPECT_EQ(ratio->source, "rollbacks");
  EXPECT_DOUBLE_EQ(*ratio->value, 5.0 / 80.0);
  EXPECT_DOUBLE_EQ(*ratio->transactions, 80.0);
  EXPECT_DOUBLE_EQ(ratio->rollbacks, 5.0);
  // More rollbacks than transactions seen yet: never above every transaction
  // failing.
  obs_.statements.window.back().rollbacks = 500;
  EXPECT_DOUBLE_EQ(*ApplicationRollbackRatio(obs_)->value, 1.0);
}

TEST_F(ErrorRatioTest, LogRatioCountsErrorsWithinTheStatementsIntervals) {
  obs_.statements.available = true;
  obs_.log.available = true;
  obs_.log.started = t0_;
  EXPECT_FALSE(LogErrorRatio(obs_).has_value());  // no statements delta yet
  obs_.statements.window = {StepAt(0, 30), StepAt(1, 60)};
  // (kLog0, kLog0 + 60 s] counts: 3 errors inside, those at or before the start
  // and after the end do not.
  obs_.log.error_times = {kLog0, kLog0 + 1, kLog0 + 30'000, kLog0 + 60'000, kLog0 + 60'001};
  auto ratio = LogErrorRatio(obs_);
  ASSERT_TRUE(ratio.has_value());
  EXPECT_EQ(ratio->source, "log");
  EXPECT_DOUBLE_EQ(ratio->errors, 3.0);
  EXPECT_DOUBLE_EQ(ratio->statements, 90.0);
  EXPECT_DOUBLE_EQ(*ratio->value, 3.0 / 93.0);
  // With the heartbeat on, only windows a delivered heartbeat has passed are
  // judged.
  obs_.log.heartbeat = true;
  EXPECT_FALSE(LogErrorRatio(obs_).has_value());
  obs_.log.delivered_to_ms = kLog0 + 30'000;
  ratio = LogErrorRatio(obs_);
  ASSERT_TRUE(ratio.has_value());
  EXPECT_DOUBLE_EQ(ratio->statements, 30.0);
  EXPECT_DOUBLE_EQ(ratio->errors, 2.0);
}

TEST_F(ErrorRatioTest, ComputeSaysWhichSourceOrWhyNone) {
  // Nothing to judge from: the detail names what is missing.
  ErrorRatio ratio = ComputeErrorRatio(input_, RollbackRatio(obs_));
  EXPECT_FALSE(ratio.value.has_value());
  EXPECT_EQ(ratio.detail,
            "no log source, and the database collector returned "
            "no data (the rollback ratio "
            "needs two collections)");
  // The database's rollbacks when there is no log.
  obs_.database = {{t0_, t0_ + 15s, 90, 10, 0}};
  ratio = ComputeErrorRatio(input_, RollbackRatio(obs_));
  EXPECT_EQ(ratio.source, "rollbacks");
  EXPECT_DOUBLE_EQ(*ratio.value, 0.1);
  EXPECT_FALSE(ratio.transactions.has_value());
  // A log and statements but no common interval yet: waiting, never the
  // rollback fallback.
  obs_.statements.available = true;
  obs_.log.available = true;
  obs_.log.started = t0_;
  ratio = ComputeErrorRatio(input_, RollbackRatio(obs_));
  EXPECT_FALSE(ratio.value.has_value());
  EXPECT_NE(ratio.detail.find("same interval"), std::string::npos);
  obs_.log.heartbeat = true;
  obs_.statements.window = {StepAt(0, 10)};
  ratio = ComputeErrorRatio(input_, RollbackRatio(obs_));
  EXPECT_NE(ratio.detail.find("no heartbeat has arrived yet"), std::string::npos);
  obs_.log.delivered_to_ms = kLog0 + 30'000;
  ratio = ComputeErrorRatio(input_, RollbackRatio(obs_));
  EXPECT_EQ(ratio.source, "log");
  EXPECT_DOUBLE_EQ(*ratio.value, 0.0);
  // A log without statement counts says so.
  obs_.statements = {};
  obs_.statements.unavailable = "pg_stat_statements is not installed";
  obs_.database.clear();
  ratio = ComputeErrorRatio(input_, RollbackRatio(obs_));
  EXPECT_EQ(ratio.detail, "needs statement counts: pg_stat_statements is not installed");
}

}  // namespace
}  // namespace pgvigil::health
