// Metric descriptors: a sample is added through its family's declaration, and every declaration
// (the collector table's, the worker's, the agent's own) is a documented, valid Prometheus name,
// declared once.

#include "metrics/descriptor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/check_names.h>

#include <fstream>
#include <map>
#include <set>
#include <stdexcept>

#include "agent/agent.h"
#include "agent/worker.h"
#include "collectors/registry.h"
#include "metrics/family_set.h"

namespace pgvigil::metrics {
namespace {

using prometheus::MetricType;
using ::testing::HasSubstr;

const Descriptor kSessions{
    "test_sessions", MetricType::Gauge, "Sessions by database and state.", {"datname", "state"}};
const Descriptor kQueries{"test_queries_total", MetricType::Counter, "Queries run.", {}};
const Descriptor kSeconds{"test_seconds", MetricType::Histogram, "Round trips.", {}};

// The message of the std::logic_error `add` throws, or "" if it throws none.
template <typename Add>
std::string LogicError(Add add) {
  try {
    add();
  } catch (const std::logic_error& error) {
    return error.what();
  }
  return "";
}

TEST(DescriptorTest, ASampleTakesItsFamilysNameHelpAndTypeFromTheDescriptor) {
  FamilySet out(Labels{{"target", "t"}});
  out.Add(kSessions, {{"datname", "app"}, {"state", "idle"}}, 3);
  out.Add(kQueries, {}, 7);
  out.Add(kSessions, {{"datname", "app"}, {"state", "active"}}, 2);
  prometheus::ClientMetric histogram;
  histogram.histogram.sample_count = 4;
  histogram.histogram.sample_sum = 0.5;
  out.Add(kSeconds, {}, histogram);

  const auto& families = out.families();
  ASSERT_EQ(families.size(), 3u);
  EXPECT_EQ(families[0].name, "test_sessions");
  EXPECT_EQ(families[0].help, "Sessions by database and state.");
  EXPECT_EQ(families[0].type, MetricType::Gauge);
  ASSERT_EQ(families[0].metric.size(), 2u);
  EXPECT_EQ(families[0].metric[1].gauge.value, 2);
  ASSERT_EQ(families[0].metric[1].label.size(), 3u);
  EXPECT_EQ(families[0].metric[1].label[0].name, "target");
  EXPECT_EQ(families[0].metric[1].label[2].value, "active");
  EXPECT_EQ(families[1].type, MetricType::Counter);
  EXPECT_EQ(families[1].metric[0].counter.value, 7);
  EXPECT_EQ(families[2].type, MetricType::Histogram);
  EXPECT_EQ(families[2].metric[0].histogram.sample_count, 4u);
}

TEST(DescriptorTest, LabelsOtherThanTheDeclaredOnesAreAProgrammingError) {
  FamilySet out;
  EXPECT_THAT(LogicError([&] {
                out.Add(kSessions, {{"datname", "app"}}, 1);
              }),
              HasSubstr("test_sessions: labels (datname) given, (datname, state) declared"));
  EXPECT_THAT(LogicError([&] {
                out.Add(kSessions, {{"state", "idle"}, {"datname", "app"}}, 1);
              }),
              HasSubstr("test_sessions"));
  EXPECT_THAT(LogicError([&] {
                out.Add(kQueries, {{"datname", "app"}}, 1);
              }),
              HasSubstr("test_queries_total"));
  EXPECT_THAT(LogicError([&] { out.Add(kSeconds, {}, 1.0); }), HasSubstr("test_seconds"));
  EXPECT_THAT(LogicError([&] { out.Add(kQueries, {}, prometheus::ClientMetric{}); }),
              HasSubstr("test_queries_total"));
  EXPECT_TRUE(out.families().empty());
}

struct Declared {
  std::string where;
  const Descriptor* descriptor;
};

// Every descriptor the agent declares, with where it is declared.
std::vector<Declared> AllDeclared() {
  std::vector<Declared> all;
  for (const auto& info : collectors::CollectorTable()) {
    for (const auto& descriptor : info.metrics) {
      all.push_back({"collector " + std::string(info.name), &descriptor});
    }
  }
  for (const auto& descriptor : agent::WorkerMetrics()) all.push_back({"worker", &descriptor});
  for (const auto& descriptor : agent::AgentMetrics()) all.push_back({"agent", &descriptor});
  return all;
}

TEST(DescriptorTest, EveryCollectorDeclaresItsSeries) {
  for (const auto& info : collectors::CollectorTable()) {
    EXPECT_FALSE(info.metrics.empty()) << info.name;
  }
}

TEST(DescriptorTest, EveryDeclaredSeriesIsDocumentedValidAndDeclaredOnce) {
  const std::string path = std::string(PGVIGIL_SOURCE_DIR) + "/docs/metrics.md";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  // A metric is documented by a table row of its own whose first cell is its name, as
  // tests/e2e/test_http.py reads the page.
  std::set<std::string> documented;
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("| `")) continue;
    const auto end = line.find('`', 3);
    if (end != std::string::npos) documented.insert(line.substr(3, end - 3));
  }
  ASSERT_GT(documented.size(), 50u);

  std::map<std::string, Declared> by_name;
  const auto all = AllDeclared();
  ASSERT_GT(all.size(), 50u);
  for (const auto& declared : all) {
    const Descriptor& metric = *declared.descriptor;
    SCOPED_TRACE(declared.where + ": " + metric.name);
    EXPECT_TRUE(prometheus::CheckMetricName(metric.name));
    EXPECT_TRUE(documented.contains(metric.name)) << "no row of docs/metrics.md";
    EXPECT_FALSE(metric.help.empty());
    for (const auto& label : metric.labels) {
      EXPECT_TRUE(prometheus::CheckLabelName(label)) << label;
      // The target's own labels come first on every sample: not declared again.
      EXPECT_NE(label, "target");
    }
    const auto [first, inserted] = by_name.try_emplace(metric.name, declared);
    if (inserted) continue;
    const Descriptor& before = *first->second.descriptor;
    EXPECT_EQ(metric.type, before.type) << "also declared by " << first->second.where;
    EXPECT_EQ(metric.help, before.help) << "also declared by " << first->second.where;
    EXPECT_EQ(metric.labels, before.labels) << "also declared by " << first->second.where;
  }
}

}  // namespace
}  // namespace pgvigil::metrics
