#include "collectors/settings.h"

#include <gtest/gtest.h>

#include "fake_session.h"
#include "metrics_lookup.h"

namespace pgvigil::collectors {
namespace {

using testing::FakeSession;
using testing::Row;
using testing::SampleValue;
using namespace std::chrono_literals;

TEST(ConvertSettingTest, BaseUnits) {
  auto shared_buffers = ConvertSetting("16384", "8kB", "integer");
  ASSERT_TRUE(shared_buffers);
  EXPECT_EQ(shared_buffers->metric_suffix, "_bytes");
  EXPECT_DOUBLE_EQ(shared_buffers->value, 16384.0 * 8192);
  EXPECT_DOUBLE_EQ(ConvertSetting("4096", "kB", "integer")->value, 4096.0 * 1024);
  EXPECT_DOUBLE_EQ(ConvertSetting("1024", "MB", "integer")->value, 1024.0 * 1024 * 1024);
  EXPECT_DOUBLE_EQ(ConvertSetting("1000", "ms", "integer")->value, 1.0);
  EXPECT_DOUBLE_EQ(ConvertSetting("5", "min", "integer")->value, 300.0);
  EXPECT_EQ(ConvertSetting("5", "min", "integer")->metric_suffix, "_seconds");
  EXPECT_DOUBLE_EQ(ConvertSetting("100", "", "integer")->value, 100.0);
  EXPECT_EQ(ConvertSetting("100", "", "integer")->metric_suffix, "");
  EXPECT_DOUBLE_EQ(ConvertSetting("on", "", "bool")->value, 1.0);
  EXPECT_DOUBLE_EQ(ConvertSetting("off", "", "bool")->value, 0.0);
}

TEST(ConvertSettingTest, SentinelsAndNonNumbers) {
  // -1 means "disabled" and stays -1 rather than becoming -0.001 seconds.
  EXPECT_DOUBLE_EQ(ConvertSetting("-1", "ms", "integer")->value, -1.0);
  EXPECT_FALSE(ConvertSetting("replica", "", "enum"));
  EXPECT_FALSE(ConvertSetting("abc", "", "integer"));
  EXPECT_FALSE(ConvertSetting("5", "furlongs", "integer"));
}

TEST(ConvertSettingTest, MetricNames) {
  EXPECT_EQ(SettingMetricName("pg_stat_statements.max", {"", 5000}),
            "pg_settings_pg_stat_statements_max");
  EXPECT_EQ(SettingMetricName("shared_buffers", {"_bytes", 1}), "pg_settings_shared_buffers_bytes");
}

TEST(SettingsCollectorTest, SettingsIdentityAndDatabaseLimits) {
  FakeSession session;
  session.Respond("FROM pg_settings", pg::Rows({"name", "setting", "unit", "vartype"},
                                               {Row{"max_connections", "100", "", "integer"},
                                                Row{"shared_buffers", "16384", "8kB", "integer"},
                                                Row{"wal_level", "replica", "", "enum"}}));
  session.Respond("server_version",
                  pg::Rows({"version", "version_num", "in_recovery"},
                           {Row{"15.18 (Debian 15.18-0+deb12u1)", "150018", "f"}}));
  session.Respond("FROM pg_database",
                  pg::Rows({"datname", "datconnlimit"},
                           {Row{"app", "50"}, Row{"postgres", "-1"}, Row{"odd", std::nullopt}}));
  session.Respond("FROM pg_roles", pg::Rows({"rolname", "rolconnlimit"},
                                            {Row{"lambda_fn", "20"}, Row{"batch", "0"}}));
  config::Target target;
  pg::ConnectOptions options;
  Observations observations;
  pg::OwnLoad own_load;
  CollectContext context{&session, target,       options, SteadyClock::now(),
                         5min,     observations, own_load};
  metrics::FamilySet out;
  SettingsCollector(target).Collect(context, out);
  const auto families = out.Take();
  EXPECT_EQ(SampleValue(families, "pg_settings_max_connections"), 100);
  EXPECT_EQ(SampleValue(families, "pg_settings_shared_buffers_bytes"), 16384.0 * 8192);
  EXPECT_EQ(SampleValue(families, "pg_server_info",
                        {{"version", "15.18"}, {"server_version_num", "150018"}}),
            1);
  EXPECT_EQ(SampleValue(families, "pg_database_connection_limit", {{"datname", "app"}}), 50);
  EXPECT_EQ(SampleValue(families, "pg_database_connection_limit", {{"datname", "postgres"}}), -1);
  EXPECT_FALSE(SampleValue(families, "pg_database_connection_limit", {{"datname", "odd"}}));
  EXPECT_EQ(SampleValue(families, "pg_role_connection_limit", {{"usename", "lambda_fn"}}), 20);
  EXPECT_EQ(SampleValue(families, "pg_role_connection_limit", {{"usename", "batch"}}), 0);
  EXPECT_EQ(observations.server.version, "15.18");
  EXPECT_EQ(observations.server.version_num, 150018);
}

}  // namespace
}  // namespace pgvigil::collectors
