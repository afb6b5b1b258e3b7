#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "agent/agent.h"
#include "test_server.h"

namespace pgvigil::agent {
namespace {

using namespace std::chrono_literals;

// Short timeouts, so a worker's stall limit (3 x max(probe interval, one connect plus one query
// plus 1 s)) is 3 x 1.2 s.
config::Config Unreachable() {
  config::Config config;
  config::Target target;
  target.name = "nowhere";
  target.dsn = "host=127.0.0.1 port=1 user=monitor";
  target.settings = config::DefaultSettings();
  target.settings.intervals["probe_interval"] = 100ms;
  target.settings.connect_timeout = 100ms;
  target.settings.query_timeout = 100ms;
  config.targets.push_back(target);
  return config;
}

TEST(LivenessTest, AWorkerThatMakesNoProgressIsReportedStuck) {
  Agent agent(Unreachable());  // never started: its worker makes no progress
  EXPECT_EQ(agent.Live().status, 200);
  std::this_thread::sleep_for(4s);
  const Page live = agent.Live();
  EXPECT_EQ(live.status, 503);
  EXPECT_EQ(nlohmann::json::parse(live.body)["stuck_targets"][0], "nowhere");
}

TEST(LivenessTest, AnUnreachableTargetDoesNotMakeTheAgentStuck) {
  Agent agent(Unreachable());
  agent.Start();
  std::this_thread::sleep_for(4s);
  EXPECT_EQ(agent.Live().status, 200);
  EXPECT_EQ(agent.Ready().status, 503);  // never a successful probe
  const Page health = agent.Health(std::nullopt);
  EXPECT_EQ(health.status, 503);
  agent.Stop();
}

TEST(LivenessTest, AConnectedWorkerWithNothingScheduledStillShowsProgress) {
  config::Target target;
  target.name = "idle";
  target.dsn = testing::MonitorDsn();
  target.settings = config::DefaultSettings();
  for (auto& [name, enabled] : target.settings.collectors) enabled = false;
  pg::ConnectSlots slots(agent::kConnectsInFlight);
  ClusterShares clusters;
  Worker worker(target, 5min, slots, clusters);
  worker.Start();
  std::this_thread::sleep_for(6500ms);
  // Connected and with no collector due, it still wakes every 5 s: no false "stuck".
  EXPECT_LT(collectors::SteadyClock::now() - worker.LastProgress(), 5s);
  EXPECT_TRUE(worker.Snapshot()->up);
  worker.Stop();
}

}  // namespace
}  // namespace pgvigil::agent
