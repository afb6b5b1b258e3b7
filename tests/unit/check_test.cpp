#include "health/check.h"

#include <gtest/gtest.h>

namespace pgvigil::health {
namespace {

TEST(CheckTest, LevelsAreWrittenAsTheReportNamesThem) {
  EXPECT_EQ(ToString(Level::kOk), "ok");
  EXPECT_EQ(ToString(Level::kUnknown), "unknown");
  EXPECT_EQ(ToString(Level::kWarn), "warn");
  EXPECT_EQ(ToString(Level::kCritical), "critical");
}

TEST(CheckTest, AThresholdReachedIsNotPassed) {
  EXPECT_EQ(LevelOf(0.7, 0.7, 0.9), Level::kOk);
  EXPECT_EQ(LevelOf(0.71, 0.7, 0.9), Level::kWarn);
  EXPECT_EQ(LevelOf(0.9, 0.7, 0.9), Level::kWarn);
  EXPECT_EQ(LevelOf(0.91, 0.7, 0.9), Level::kCritical);
}

TEST(CheckTest, JsonIsNameLevelDetailThenFacts) {
  const Check check{"log_source", Level::kWarn, "quiet", {{"source", "file"}, {"silent", 61}}};
  EXPECT_EQ(check.ToJson().dump(),
            R"({"name":"log_source","level":"warn","detail":"quiet","source":"file","silent":61})");
  EXPECT_EQ(Unknown("x", "why").ToJson().dump(),
            R"({"name":"x","level":"unknown","detail":"why"})");
}

TEST(CheckTest, ReasonsForEveryCheckNotOkAndTheStatus) {
  Checks checks;
  TargetInput input;
  collectors::Observations obs;
  input.observations = &obs;
  input.reachable = true;
  checks.Add(Reachable(input), "");
  EXPECT_EQ(Status(input, checks), "ok");
  checks.Add(Unknown("probe_latency", "no probe"), "");
  EXPECT_EQ(Status(input, checks), "ok");  // unknown alone does not degrade
  checks.Ratio("connection_usage", 0.95, {0.7, 0.9}, "95 of 100 (95 connections used");
  EXPECT_EQ(Status(input, checks), "degraded");
  ASSERT_EQ(checks.reasons().size(), 2u);
  EXPECT_EQ(checks.reasons()[0], "probe_latency unknown: no probe");
  EXPECT_EQ(checks.reasons()[1],
            "connection_usage critical: 95 of 100 (95 connections used, > 0.9)");
  EXPECT_EQ(checks.ToJson()[2].dump(),
            R"({"name":"connection_usage","level":"critical","value":0.95,"warn":0.7,)"
            R"("critical":0.9})");
  input.reachable = false;
  obs.last_error = "refused";
  EXPECT_EQ(Status(input, checks), "down");
  EXPECT_EQ(Reachable(input).ToJson().dump(),
            R"({"name":"reachable","level":"critical","detail":"refused"})");
}

}  // namespace
}  // namespace pgvigil::health
