#include "collectors/registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "collectors/collector.h"
#include "config/config.h"
#include "config/redacted_yaml.h"

namespace pgvigil {
namespace {

using ::testing::HasSubstr;

// The config learns every interval and collector the table defines, with their defaults, and
// prints them back: a row is all a new collector needs for its settings.
TEST(CollectorTableTest, TheConfigTakesEveryIntervalAndCollectorFromTheTable) {
  const config::TargetSettings defaults = config::DefaultSettings();
  for (const auto& info : collectors::CollectorTable()) {
    EXPECT_EQ(defaults.collectors.at(std::string(info.name)), info.enabled_by_default) << info.name;
    EXPECT_GT(defaults.Interval(info.interval_key), config::Duration::zero()) << info.name;
    const std::string yaml = "defaults:\n  " + std::string(info.interval_key) +
                             ": 7s\n  collectors: {" + std::string(info.name) +
                             ": true}\ntargets:\n  - {name: a, dsn: \"host=x\"}\n";
    const config::Config loaded = config::LoadString(yaml, "test.yml");
    EXPECT_EQ(loaded.targets[0].settings.Interval(info.interval_key), std::chrono::seconds(7));
    EXPECT_TRUE(loaded.targets[0].settings.collectors.at(std::string(info.name)));
    EXPECT_THAT(config::ToRedactedYaml(loaded), HasSubstr(std::string(info.interval_key) + ": 7s"));
  }
}

TEST(CollectorTableTest, EveryIntervalHasOneOwnerAndEveryFollowerAnOwner) {
  std::set<std::string_view> owned;
  for (const auto& interval : collectors::IntervalSettings()) {
    EXPECT_TRUE(owned.insert(interval.key).second) << interval.key << " defined twice";
    EXPECT_TRUE(interval.key.ends_with("_interval")) << interval.key;
  }
  for (const auto& info : collectors::CollectorTable()) {
    EXPECT_TRUE(owned.contains(info.interval_key)) << info.name << " follows no interval";
  }
}

TEST(CollectorTableTest, ASharedCollectorSaysWhatItsSharingDependsOn) {
  for (const auto& info : collectors::CollectorTable()) {
    EXPECT_EQ(info.share == nullptr, info.share_key == nullptr) << info.name;
    EXPECT_TRUE(info.on_postgres || info.on_pgbouncer) << info.name;
    EXPECT_EQ(collectors::FindCollector(info.name), &info);
  }
  EXPECT_EQ(collectors::FindCollector("nonexistent"), nullptr);
}

// Two targets with different applications_top_n must not share one activity reading: each
// reports its own number of application series.
TEST(CollectorTableTest, ActivityIsSharedOnlyWithTheSameApplicationsTopN) {
  const auto* activity = collectors::FindCollector("activity");
  ASSERT_NE(activity, nullptr);
  config::TargetSettings a = config::DefaultSettings();
  config::TargetSettings b = a;
  b.applications_top_n = a.applications_top_n + 1;
  const collectors::Observations observations;
  EXPECT_EQ(activity->share_key(a, observations), activity->share_key(a, observations));
  EXPECT_NE(activity->share_key(a, observations), activity->share_key(b, observations));
}

}  // namespace
}  // namespace pgvigil
