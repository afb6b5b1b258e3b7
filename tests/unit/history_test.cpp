#include "agent/history.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "agent/agent.h"

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

TEST(HistorySampleTest, TakesTheNumbersHealthReports) {
  const auto postgres = nlohmann::ordered_json::parse(R"({
    "reachable": true,
    "latency_ms": {"last": 0.4, "connect_last": 4.5},
    "connections": {"usage_ratio": 0.25, "by_application": [
      {"application_name": "checkout", "sessions": 3}, {"application_name": "", "sessions": 1}]},
    "errors": {"error_ratio": 0.02}})");
  const auto sample = HistorySample(postgres, 42);
  EXPECT_EQ(sample.unix_seconds, 42);
  EXPECT_FLOAT_EQ(sample.connection_usage, 0.25F);
  EXPECT_FLOAT_EQ(sample.probe_ms, 0.4F);
  EXPECT_FLOAT_EQ(sample.connect_ms, 4.5F);
  EXPECT_FLOAT_EQ(sample.error_ratio, 0.02F);
  ASSERT_EQ(sample.applications.size(), 2U);
  EXPECT_EQ(sample.applications[0].first, "checkout");
  EXPECT_TRUE(std::isnan(sample.pool_usage));

  const auto bouncer = nlohmann::ordered_json::parse(R"({
    "reachable": true, "latency_ms": {"last": 0.2, "connect_last": null},
    "pools": [{"usage_ratio": 0.5, "client_waiting": 2}, {"usage_ratio": null, "client_waiting": 0},
              {"usage_ratio": 1.0, "client_waiting": 3}]})");
  const auto pooled = HistorySample(bouncer, 43);
  EXPECT_FLOAT_EQ(pooled.pool_usage, 1.0F);
  EXPECT_FLOAT_EQ(pooled.clients_waiting, 5.0F);
  EXPECT_TRUE(std::isnan(pooled.connection_usage));
  EXPECT_TRUE(std::isnan(pooled.connect_ms));

  const auto down = nlohmann::ordered_json::parse(R"({"reachable": false, "connections": null,
    "latency_ms": {"last": null}, "errors": {"error_ratio": null}})");
  const auto nothing = HistorySample(down, 44);
  EXPECT_TRUE(std::isnan(nothing.connection_usage));
  EXPECT_TRUE(std::isnan(nothing.probe_ms));
  EXPECT_TRUE(nothing.applications.empty());
}

}  // namespace
}  // namespace pgvigil::agent
