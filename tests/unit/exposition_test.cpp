#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "collectors/activity.h"
#include "collectors/settings.h"
#include "fake_session.h"
#include "metrics/family_set.h"

namespace pgvigil {
namespace {

using testing::FakeSession;
using testing::Row;
using namespace std::chrono_literals;

const std::string kGolden =
    std::string(PGVIGIL_SOURCE_DIR) + "/tests/unit/testdata/exposition.golden";

// Two targets' collector output through the same merge and serializer /metrics uses, compared
// with a checked-in file. PGVIGIL_UPDATE_GOLDEN=1 rewrites the file after a deliberate change.
TEST(ExpositionTest, MatchesGoldenFile) {
  std::vector<std::vector<prometheus::MetricFamily>> per_target;
  for (const std::string name : {"primary", "replica"}) {
    FakeSession session(name == "primary" ? 150018 : 160004);
    session.Respond(
        "pg_stat_activity",
        pg::Rows({"usable", "used", "in_recovery", "datname", "usename", "state", "backends",
                  "waiting", "oldest_xact_seconds", "longest_query_seconds", "slow",
                  "per_application", "application_name"},
                 {Row{"97", "12", name == "primary" ? "f" : "t", "app", "web", "active", "3", "1",
                      "2.5", "1.25", "1", "f", std::nullopt},
                  Row{"97", "12", name == "primary" ? "f" : "t", "app", "web", "idle", "8", "0",
                      std::nullopt, std::nullopt, "0", "f", std::nullopt},
                  Row{"97", "12", name == "primary" ? "f" : "t", std::nullopt, std::nullopt,
                      "active", "3", "1", "2.5", "1.25", "1", "t", "checkout"},
                  Row{"97", "12", name == "primary" ? "f" : "t", std::nullopt, std::nullopt, "idle",
                      "8", "0", std::nullopt, std::nullopt, "0", "t", "checkout"}}));
    session.Respond("FROM pg_settings", pg::Rows({"name", "setting", "unit", "vartype"},
                                                 {Row{"max_connections", "100", "", "integer"},
                                                  Row{"work_mem", "4096", "kB", "integer"}}));
    session.Respond("server_version", pg::Rows({"version", "version_num", "in_recovery"},
                                               {Row{"15.18", "150018", "f"}}));
    session.Respond("FROM pg_database", pg::Rows({"datname", "datconnlimit"}, {Row{"app", "-1"}}));
    session.Respond("FROM pg_roles",
                    pg::Rows({"rolname", "rolconnlimit"}, {Row{"lambda_fn", "20"}}));
    config::Target target;
    target.name = name;
    target.settings.slow_query_threshold = 1s;
    pg::ConnectOptions options;
    collectors::Observations observations;
    pg::OwnLoad own_load;
    collectors::CollectContext context{
        &session, target, options, collectors::SteadyClock::now(), 5min, observations, own_load};
    metrics::FamilySet out(metrics::Labels{{"target", name}, {"cluster", "main"}});
    collectors::ActivityCollector(target).Collect(context, out);
    collectors::SettingsCollector(target).Collect(context, out);
    per_target.push_back(out.Take());
  }
  // What /metrics sends: each target serialized on its own, then joined.
  const auto first = metrics::SerializeEach(per_target[0]);
  const auto second = metrics::SerializeEach(per_target[1]);
  const std::string text = metrics::Join({&first, &second});
  // Exactly what prometheus-cpp gives for the merged families in one pass.
  EXPECT_EQ(text, prometheus::TextSerializer().Serialize(
                      metrics::Merge({&per_target[0], &per_target[1]})));
  if (std::getenv("PGVIGIL_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(kGolden) << text;
    GTEST_SKIP() << "golden file rewritten";
  }
  std::ifstream in(kGolden);
  ASSERT_TRUE(in) << "missing " << kGolden << " (run with PGVIGIL_UPDATE_GOLDEN=1)";
  std::stringstream golden;
  golden << in.rdbuf();
  EXPECT_EQ(text, golden.str());
}

}  // namespace
}  // namespace pgvigil
