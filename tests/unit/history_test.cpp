#include "agent/history.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "agent/agent.h"
#include "health/health.h"

namespace pgvigil::agent {
namespace {

History::Sample At(std::int64_t t, float usage) {
  History::Sample sample;
  sample.unix_seconds = t;
  sample.connection_usage = usage;
  return sample;
}

TEST(HistoryTest, KeepsTheLastHourOldestFirst) {
  History history;
  const std::size_t total = History::kPoints + 25;
  for (std::size_t i = 0; i < total; ++i) {
    history.Record("db", At(static_cast<std::int64_t>(1000 + 10 * i), static_cast<float>(i)));
  }
  const auto body = nlohmann::json::parse(*history.Json("db"));
  ASSERT_EQ(body["t"].size(), History::kPoints);
  EXPECT_EQ(body["t"].front(), 1000 + 10 * 25);
  EXPECT_EQ(body["t"].back(), 1000 + 10 * (total - 1));
  EXPECT_EQ(body["connection_usage"].front(), 25.0);
  EXPECT_EQ(body["connection_usage"].back(), static_cast<double>(total - 1));
  EXPECT_EQ(body["step_seconds"], 10);
}

TEST(HistoryTest, UnknownNumbersAndAbsentApplicationsAreNull) {
  History history;
  History::Sample first = At(1, 0.5F);
  first.applications = {{"checkout", 3}, {"", 1}};
  history.Record("db", first);
  History::Sample second = At(2, NAN);
  second.applications = {{"reports", 2}};
  history.Record("db", second);
  const auto body = nlohmann::json::parse(*history.Json("db"));
  EXPECT_EQ(body["connection_usage"], nlohmann::json({0.5, nullptr}));
  EXPECT_EQ(body["probe_ms"], nlohmann::json({nullptr, nullptr}));
  EXPECT_EQ(body["applications"]["checkout"], nlohmann::json({3.0, nullptr}));
  EXPECT_EQ(body["applications"][""], nlohmann::json({1.0, nullptr}));
  EXPECT_EQ(body["applications"]["reports"], nlohmann::json({nullptr, 2.0}));
}

TEST(HistoryTest, OnlyTheBusiestApplicationsAreKept) {
  History history;
  History::Sample sample = At(1, 0.1F);
  for (int i = 0; i < 8; ++i) sample.applications.emplace_back("app" + std::to_string(i), 8 - i);
  history.Record("db", sample);
  const auto body = nlohmann::json::parse(*history.Json("db"));
  EXPECT_EQ(body["applications"].size(), History::kApplications);
  EXPECT_TRUE(body["applications"].contains("app0"));
  EXPECT_FALSE(body["applications"].contains("app7"));
}

TEST(HistoryTest, ChurningApplicationNamesDoNotGrowMemoryWithoutBound) {
  History history;
  for (int i = 0; i < 20000; ++i) {
    History::Sample sample = At(i, 0.1F);
    sample.applications = {{"function-" + std::to_string(i), 1}};
    history.Record("db", sample);
  }
  const std::size_t settled = history.MemoryBytes();
  for (int i = 20000; i < 40000; ++i) {
    History::Sample sample = At(i, 0.1F);
    sample.applications = {{"function-" + std::to_string(i), 1}};
    history.Record("db", sample);
  }
  EXPECT_LE(history.MemoryBytes(), settled * 11 / 10);
  // The points still name their applications correctly after the names were compacted.
  const auto body = nlohmann::json::parse(*history.Json("db"));
  EXPECT_EQ(body["applications"].size(), History::kPoints);
  EXPECT_TRUE(body["applications"].contains("function-39999"));
  EXPECT_EQ(body["applications"]["function-39999"].back(), 1.0);
}

TEST(HistoryTest, RemovedTargetsAreForgotten) {
  History history;
  history.Record("a", At(1, 0.1F));
  history.Record("b", At(1, 0.1F));
  history.Retain({"b"});
  EXPECT_FALSE(history.Json("a").has_value());
  EXPECT_TRUE(history.Json("b").has_value());
}

// The number /health writes at `path`, as the sample stores it; NaN for null.
float Reported(const nlohmann::ordered_json& target,
               const nlohmann::ordered_json::json_pointer& path) {
  const auto& value = target.at(path);
  return value.is_null() ? NAN : value.get<float>();
}

void ExpectSame(float sampled, float reported, const char* what) {
  if (std::isnan(reported)) {
    EXPECT_TRUE(std::isnan(sampled)) << what << " is " << sampled << ", /health has null";
  } else {
    EXPECT_EQ(sampled, reported) << what;  // the same double narrowed alike: exactly equal
  }
}

class HistorySampleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    using namespace std::chrono_literals;
    const auto now = collectors::SteadyClock::now();
    auto& conn = observations_.connections;
    conn.known = true;
    conn.max = 300;
    conn.used = 77;  // 0.256666…: /health rounds it to 0.2567
    conn.by_application = {{"checkout", 40, 3, 1}, {"", 2, 0, 0},  {"reports", 7, 1, 0},
                           {"a", 1, 0, 0},         {"b", 1, 0, 0}, {"c", 1, 0, 0}};
    observations_.probe.ran = true;
    observations_.probe.last_ok = true;
    observations_.probe.last_seconds = 0.0004321;
    observations_.probe.connect_last_seconds = 0.0045678;
    observations_.database = {{now - 15s, now, 93, 7, 0}};  // rollback ratio 0.07
    input_.name = "db";
    input_.reachable = true;
    input_.observations = &observations_;
  }

  // The sample of the input against its /health entry, field by field.
  void ExpectTheNumbersHealthReports() {
    const auto target = health::EvaluateTarget(input_, config::HealthConfig{});
    const auto sample = HistorySample(health::HeadlineOf(input_), 42);
    using Pointer = nlohmann::ordered_json::json_pointer;
    EXPECT_EQ(sample.unix_seconds, 42);
    ExpectSame(sample.probe_ms, Reported(target, Pointer("/latency_ms/last")), "probe_ms");
    ExpectSame(sample.connect_ms, Reported(target, Pointer("/latency_ms/connect_last")),
               "connect_ms");
    if (input_.kind == config::TargetKind::kPgBouncer) {
      EXPECT_TRUE(std::isnan(sample.connection_usage));
      EXPECT_TRUE(std::isnan(sample.error_ratio));
      EXPECT_TRUE(sample.applications.empty());
      float usage = NAN;
      float waiting = 0;
      for (const auto& pool : target.at("pools")) {
        const float ratio = Reported(pool, Pointer("/usage_ratio"));
        if (!std::isnan(ratio) && !(usage >= ratio)) usage = ratio;
        waiting += pool.at("client_waiting").get<float>();
      }
      ExpectSame(sample.pool_usage, usage, "pool_usage");
      ExpectSame(sample.clients_waiting, input_.reachable ? waiting : NAN, "clients_waiting");
      return;
    }
    EXPECT_TRUE(std::isnan(sample.pool_usage));
    EXPECT_TRUE(std::isnan(sample.clients_waiting));
    const auto& connections = target.at("connections");
    ExpectSame(sample.connection_usage,
               connections.is_null() ? NAN : Reported(connections, Pointer("/usage_ratio")),
               "connection_usage");
    ExpectSame(sample.error_ratio, Reported(target, Pointer("/errors/error_ratio")), "error_ratio");
    const std::size_t listed = connections.is_null() ? 0 : connections["by_application"].size();
    ASSERT_EQ(sample.applications.size(), std::min(listed, History::kApplications));
    for (std::size_t i = 0; i < sample.applications.size(); ++i) {
      const auto& application = connections["by_application"][i];
      EXPECT_EQ(sample.applications[i].first, application.at("application_name"));
      EXPECT_EQ(sample.applications[i].second, application.at("sessions").get<float>());
    }
  }

  collectors::Observations observations_;
  health::TargetInput input_;
};

TEST_F(HistorySampleTest, PostgresTargetCarriesTheNumbersHealthReports) {
  ExpectTheNumbersHealthReports();
  // The fixture's truth, so that a sample and a report both empty would not pass.
  const auto sample = HistorySample(health::HeadlineOf(input_), 42);
  EXPECT_FLOAT_EQ(sample.connection_usage, 0.2567F);
  EXPECT_FLOAT_EQ(sample.probe_ms, 0.432F);
  EXPECT_FLOAT_EQ(sample.connect_ms, 4.568F);
  EXPECT_FLOAT_EQ(sample.error_ratio, 0.07F);
  ASSERT_EQ(sample.applications.size(), History::kApplications);
  EXPECT_EQ(sample.applications[0], (std::pair<std::string, float>("checkout", 40)));
}

TEST_F(HistorySampleTest, UnreachableAndUnknownNumbersAreNaNWhereHealthHasNull) {
  observations_.probe.last_ok = false;
  observations_.probe.connect_last_seconds.reset();
  observations_.database.clear();
  input_.reachable = false;
  ExpectTheNumbersHealthReports();
  const auto sample = HistorySample(health::HeadlineOf(input_), 42);
  EXPECT_TRUE(std::isnan(sample.connection_usage));
  EXPECT_TRUE(std::isnan(sample.probe_ms));
  EXPECT_TRUE(std::isnan(sample.error_ratio));
  EXPECT_TRUE(sample.applications.empty());
}

TEST_F(HistorySampleTest, PgBouncerTargetCarriesItsPoolsAsHealthReports) {
  input_.kind = config::TargetKind::kPgBouncer;
  observations_.pooler.known = true;
  observations_.pooler.pools = {
      {"app", "web", 3, 2, 2, 2, 0, 3, 0},   // 2 of 3 servers: 0.6667 as /health rounds it
      {"app", "jobs", 5, 3, 4, 0, 0, 5, 2},  // 0.8, 3 waiting
      {"app", "adm", 0, 1, 0, 0, 0, 0, 0},   // no pool size: no ratio, 1 waiting
  };
  ExpectTheNumbersHealthReports();
  const auto sample = HistorySample(health::HeadlineOf(input_), 42);
  EXPECT_FLOAT_EQ(sample.pool_usage, 0.8F);
  EXPECT_FLOAT_EQ(sample.clients_waiting, 6.0F);
  input_.reachable = false;
  ExpectTheNumbersHealthReports();
  EXPECT_TRUE(std::isnan(HistorySample(health::HeadlineOf(input_), 42).clients_waiting));
}

}  // namespace
}  // namespace pgvigil::agent
