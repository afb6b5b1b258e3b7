#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <future>
#include <set>
#include <thread>

#include "agent/worker.h"
#include "collectors/activity.h"
#include "collectors/probe.h"
#include "collectors/settings.h"
#include "metrics_lookup.h"
#include "test_server.h"

namespace pgvigil::collectors {
namespace {

using testing::MonitorDsn;
using testing::Options;
using testing::SampleValue;
using testing::TestDsn;
using namespace std::chrono_literals;

constexpr const char* kDb = "pgvigil_it";

std::unique_ptr<pg::Connection> ItSession() {
  return pg::Connection::Open(Options(TestDsn("it_user", "it-pw", kDb), /*monitoring=*/false));
}

class ActivityIntegrationTest : public ::testing::Test {
 protected:
  std::vector<prometheus::MetricFamily> Collect(pg::Session& session) {
    target_.name = "it";
    target_.settings.slow_query_threshold = 1s;
    Observations observations;
    pg::OwnLoad own_load;
    CollectContext context{&session, target_,      options_, SteadyClock::now(),
                           5min,     observations, own_load};
    metrics::FamilySet out(metrics::Labels{{"target", "it"}});
    ActivityCollector(target_).Collect(context, out);
    connections_ = observations.connections;
    return out.Take();
  }

  config::Target target_;
  pg::ConnectOptions options_;
  Observations::Connections connections_;
};

TEST_F(ActivityIntegrationTest, CountsEverySessionStateExactly) {
  auto monitor = pg::Connection::Open(Options(MonitorDsn()));
  auto idle_a = ItSession();
  auto idle_b = ItSession();
  auto in_transaction = ItSession();
  (void)in_transaction->Query("BEGIN; SELECT 1");
  auto lock_holder = ItSession();
  (void)lock_holder->Query("BEGIN; LOCK TABLE it_locked IN ACCESS EXCLUSIVE MODE");
  auto waiter = ItSession();
  auto sleeper = ItSession();
  auto waiting = std::async(std::launch::async, [&] {
    try {
      (void)waiter->Query("SELECT count(*) FROM it_locked");
    } catch (const pg::Error&) {
    }
  });
  auto sleeping = std::async(std::launch::async, [&] {
    try {
      (void)sleeper->Query("SELECT pg_sleep(4)");
    } catch (const pg::Error&) {
    }
  });
  std::this_thread::sleep_for(2s);  // both active statements are now past the 1s threshold

  const auto families = Collect(*monitor);
  auto count = [&](const std::string& state) {
    return SampleValue(families, "pg_stat_activity_sessions",
                       {{"datname", kDb}, {"usename", "it_user"}, {"state", state}});
  };
  EXPECT_EQ(count("idle"), 2);
  EXPECT_EQ(count("idle in transaction"), 2);
  EXPECT_EQ(count("active"), 2);
  EXPECT_EQ(SampleValue(families, "pg_stat_activity_lock_waiters", {{"datname", kDb}}), 1);
  EXPECT_EQ(SampleValue(families, "pg_stat_activity_slow_queries", {{"datname", kDb}}), 2);
  EXPECT_GE(
      *SampleValue(families, "pg_stat_activity_max_query_duration_seconds", {{"datname", kDb}}),
      1.5);
  EXPECT_GE(*SampleValue(families, "pg_stat_activity_max_tx_duration_seconds",
                         {{"datname", kDb}, {"state", "idle in transaction"}}),
            1.5);
  // The agent's own session is left out of the states...
  EXPECT_FALSE(SampleValue(families, "pg_stat_activity_sessions",
                           {{"usename", "monitor"}, {"state", "active"}}));
  // ...but counted in connection usage, as the server counts it.
  const auto truth =
      monitor->Query("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'");
  EXPECT_EQ(SampleValue(families, "pg_connections_used"), *truth.Number(0, 0));
  const auto limits = monitor->Query(
      "SELECT current_setting('max_connections')::int - "
      "current_setting('superuser_reserved_connections')::int");
  EXPECT_EQ(SampleValue(families, "pg_connections_max"), *limits.Number(0, 0));
  EXPECT_EQ(connections_.waiting, 1);
  EXPECT_EQ(connections_.slow_active, 2);

  lock_holder.reset();  // releases the lock, so the waiter finishes
  waiting.wait();
  sleeping.wait();
}

std::unique_ptr<pg::Connection> ApplicationSession(const std::string& application_name) {
  auto session = ItSession();  // opened as the agent's sessions are, named below
  (void)session->Query("SET application_name = '" + application_name + "'");
  return session;
}

double Sum(const std::vector<prometheus::MetricFamily>& families, const std::string& name) {
  double sum = 0;
  for (const auto& family : families) {
    if (family.name != name) continue;
    for (const auto& metric : family.metric) sum += metric.gauge.value;
  }
  return sum;
}

TEST_F(ActivityIntegrationTest, CountsSessionsPerApplicationExactly) {
  auto monitor = pg::Connection::Open(Options(MonitorDsn()));
  // Names of this test's own, so that other sessions on the server cannot blur the counts.
  const std::string suffix = "-" + std::to_string(::getpid());
  const std::string checkout = "checkout" + suffix;
  const std::string search = "search" + suffix;
  const std::string cron = "cron" + suffix;
  std::vector<std::unique_ptr<pg::Connection>> sessions;
  for (int i = 0; i < 3; ++i) sessions.push_back(ApplicationSession(checkout));
  (void)sessions.back()->Query("BEGIN; SELECT 1");
  for (int i = 0; i < 2; ++i) sessions.push_back(ApplicationSession(search));
  sessions.push_back(ApplicationSession(cron));
  const auto unnamed_before = monitor->Query(
      "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND "
      "application_name = '' AND pid <> pg_backend_pid()");
  for (int i = 0; i < 2; ++i) sessions.push_back(ApplicationSession(""));

  auto families = Collect(*monitor);
  auto sessions_of = [&](const std::string& name, const std::string& state) {
    return SampleValue(families, "pg_stat_activity_application_sessions",
                       {{"application_name", name}, {"state", state}});
  };
  EXPECT_EQ(sessions_of(checkout, "idle"), 2);
  EXPECT_EQ(sessions_of(checkout, "idle in transaction"), 1);
  EXPECT_EQ(sessions_of(checkout, "active"), 0);
  EXPECT_EQ(sessions_of(search, "idle"), 2);
  EXPECT_EQ(sessions_of(cron, "idle"), 1);
  EXPECT_EQ(sessions_of("", "idle"), *unnamed_before.Number(0, 0) + 2);
  // Every client backend but the agent's own session, once: the same total as by database.
  EXPECT_EQ(Sum(families, "pg_stat_activity_application_sessions"),
            Sum(families, "pg_stat_activity_sessions"));
  ASSERT_FALSE(connections_.by_application.empty());
  const auto top =
      std::find_if(connections_.by_application.begin(), connections_.by_application.end(),
                   [&](const auto& a) { return a.name == checkout; });
  ASSERT_NE(top, connections_.by_application.end());
  EXPECT_EQ(top->sessions, 3);
  EXPECT_EQ(top->idle_in_transaction, 1);

  // Fewer names than there are: the rest is "other", exactly.
  target_.settings.applications_top_n = 1;
  families = Collect(*monitor);
  std::set<std::string> names;
  for (const auto& family : families) {
    if (family.name != "pg_stat_activity_application_sessions") continue;
    for (const auto& metric : family.metric) {
      for (const auto& label : metric.label) {
        if (label.name == "application_name") names.insert(label.value);
      }
    }
  }
  EXPECT_EQ(names.size(), 2u);  // the busiest name and "other"
  EXPECT_TRUE(names.contains("other"));
  EXPECT_EQ(Sum(families, "pg_stat_activity_application_sessions"),
            Sum(families, "pg_stat_activity_sessions"));
  const auto truth = monitor->Query(
      "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND "
      "pid <> pg_backend_pid() AND application_name IN ('" +
      search + "', '" + cron + "')");
  EXPECT_GE(*sessions_of("other", "idle"), *truth.Number(0, 0));
}

// The setups most of our users run: the agent connects as the application's own role (it sees
// every state of its sessions), or as a role without pg_monitor (other roles' sessions are
// counted, by name, in state "unknown"). Both against sessions this test opens.
TEST_F(ActivityIntegrationTest, CountsApplicationsAsTheSharedRoleAndWithoutPgMonitor) {
  const std::string suffix = "-" + std::to_string(::getpid());
  const std::string api = "api" + suffix;
  std::vector<std::unique_ptr<pg::Connection>> sessions;
  for (int i = 0; i < 2; ++i) sessions.push_back(ApplicationSession(api));
  (void)sessions.back()->Query("BEGIN; SELECT 1");
  const auto sessions_of = [&](const std::vector<prometheus::MetricFamily>& families,
                               const std::string& state) {
    return SampleValue(families, "pg_stat_activity_application_sessions",
                       {{"application_name", api}, {"state", state}});
  };

  // Shared role: the agent is it_user, like the application.
  auto shared = ItSession();
  auto families = Collect(*shared);
  EXPECT_EQ(sessions_of(families, "idle"), 1);
  EXPECT_EQ(sessions_of(families, "idle in transaction"), 1);
  EXPECT_EQ(sessions_of(families, "unknown").value_or(0), 0);

  // No pg_monitor, another role: the names and counts stay, the states are hidden.
  auto plain = pg::Connection::Open(Options(TestDsn("plain", "plain-pw", kDb)));
  families = Collect(*plain);
  EXPECT_EQ(sessions_of(families, "unknown"), 2);
  EXPECT_EQ(sessions_of(families, "idle").value_or(0), 0);
  EXPECT_GE(connections_.hidden, 2);
  const auto entry =
      std::find_if(connections_.by_application.begin(), connections_.by_application.end(),
                   [&](const auto& a) { return a.name == api; });
  ASSERT_NE(entry, connections_.by_application.end());
  EXPECT_EQ(entry->sessions, 2);
  EXPECT_EQ(entry->idle_in_transaction, 0);  // not knowable without pg_monitor
}

TEST(SettingsIntegrationTest, RoleConnectionLimitsAsTheServerHasThem) {
  auto admin = pg::Connection::Open(Options(TestDsn("postgres", "postgres-pw"), false));
  (void)admin->Query("DROP ROLE IF EXISTS it_limited");
  (void)admin->Query("CREATE ROLE it_limited LOGIN CONNECTION LIMIT 7");
  auto options = Options(MonitorDsn());
  auto monitor = pg::Connection::Open(options);
  config::Target target;
  target.name = "it";
  Observations observations;
  pg::OwnLoad own_load;
  CollectContext context{monitor.get(), target,       options, SteadyClock::now(),
                         5min,          observations, own_load};
  metrics::FamilySet out;
  SettingsCollector(target).Collect(context, out);
  const auto families = out.Take();
  (void)admin->Query("DROP ROLE it_limited");
  EXPECT_EQ(SampleValue(families, "pg_role_connection_limit", {{"usename", "it_limited"}}), 7);
  // Roles without a limit (-1) have no series.
  EXPECT_FALSE(SampleValue(families, "pg_role_connection_limit", {{"usename", "it_user"}}));
}

TEST(ProbeIntegrationTest, ProbeAndConnectProbeAgainstTheServer) {
  config::Target target;
  target.name = "it";
  target.settings.connect_probe_interval = 60s;
  auto options = Options(MonitorDsn());
  auto monitor = pg::Connection::Open(options);
  Observations observations;
  pg::OwnLoad own_load;
  ProbeCollector probe(target);
  CollectContext context{monitor.get(), target,       options, SteadyClock::now(),
                         5min,          observations, own_load};
  metrics::FamilySet out;
  probe.Collect(context, out);
  auto families = out.Take();
  EXPECT_EQ(SampleValue(families, "pg_probes_total"), 2);  // SELECT 1 + a connect probe
  EXPECT_EQ(SampleValue(families, "pg_probe_duration_seconds"), 1);
  EXPECT_EQ(SampleValue(families, "pg_probe_connect_duration_seconds"), 1);
  EXPECT_EQ(SampleValue(families, "pg_probe_failures_total", {{"reason", "connect"}}), 0);
  // Both refusal series exist before any refusal, so increase() sees the first one.
  EXPECT_EQ(SampleValue(families, "pg_probe_connect_refused_total", {{"sqlstate", "53300"}}), 0);
  EXPECT_EQ(SampleValue(families, "pg_probe_connect_refused_total", {{"sqlstate", "57P03"}}), 0);
  EXPECT_TRUE(observations.probe.last_ok);
  EXPECT_TRUE(observations.probe.connect_last_seconds.has_value());

  // The target goes away: a probe without a connection fails with reason "connect", and the
  // connect probe (not due again for 60s) is not repeated.
  context.session = nullptr;
  metrics::FamilySet again;
  probe.Collect(context, again);
  families = again.Take();
  EXPECT_EQ(SampleValue(families, "pg_probes_total"), 3);
  EXPECT_EQ(SampleValue(families, "pg_probe_failures_total", {{"reason", "connect"}}), 1);
  EXPECT_FALSE(observations.probe.last_ok);
}

// A snapshot's series as the scrape sees them.
std::string Text(const agent::TargetSnapshot& snapshot) {
  std::vector<const std::vector<metrics::SerializedFamily>*> parts;
  for (const auto& part : snapshot.exposition) parts.push_back(part.get());
  return metrics::Join(parts);
}

TEST(WorkerIntegrationTest, DetectsMissingCapabilitiesPerConnection) {
  config::Target target;
  target.name = "plain";
  target.dsn = TestDsn("plain", "plain-pw", kDb);
  target.settings = config::DefaultSettings();
  target.settings.connect_probe_interval = 0s;
  pg::ConnectSlots slots_worker(16);
  agent::ClusterShares clusters;
  agent::Worker worker(target, 5min, slots_worker, clusters);
  worker.CollectOnce();
  const auto snapshot = worker.Snapshot();
  EXPECT_TRUE(snapshot->up);
  EXPECT_TRUE(snapshot->observations.capabilities.known);
  EXPECT_FALSE(snapshot->observations.capabilities.pg_monitor);
  EXPECT_FALSE(snapshot->observations.capabilities.pg_stat_statements);
  EXPECT_EQ(SampleValue(Text(*snapshot), "pgvigil_capability", {{"capability", "pg_monitor"}}), 0);
  // Without pg_monitor the collectors still work on what the role may see.
  EXPECT_EQ(SampleValue(Text(*snapshot), "pgvigil_collector_success", {{"collector", "activity"}}),
            1);

  target.name = "monitor";
  target.dsn = MonitorDsn();
  pg::ConnectSlots slots_monitored(16);
  agent::Worker monitored(target, 5min, slots_monitored, clusters);
  monitored.CollectOnce();
  const auto full = monitored.Snapshot();
  EXPECT_TRUE(full->observations.capabilities.pg_monitor);
  EXPECT_TRUE(full->observations.capabilities.pg_stat_statements);
}

TEST(WorkerIntegrationTest, UnreachableTargetIsDownWithTheReason) {
  config::Target target;
  target.name = "nowhere";
  target.dsn = "host=127.0.0.1 port=1 user=monitor";
  target.settings = config::DefaultSettings();
  pg::ConnectSlots slots_worker(16);
  agent::ClusterShares clusters;
  agent::Worker worker(target, 5min, slots_worker, clusters);
  worker.CollectOnce();
  const auto snapshot = worker.Snapshot();
  EXPECT_FALSE(snapshot->up);
  EXPECT_EQ(SampleValue(Text(*snapshot), "pg_up"), 0);
  EXPECT_EQ(SampleValue(Text(*snapshot), "pg_probe_failures_total", {{"reason", "connect"}}), 2);
  EXPECT_EQ(SampleValue(Text(*snapshot), "pgvigil_collector_success", {{"collector", "activity"}}),
            0);
  ASSERT_TRUE(snapshot->observations.last_error.has_value());
  EXPECT_NE(snapshot->observations.last_error->find("127.0.0.1"), std::string::npos);
}

}  // namespace
}  // namespace pgvigil::collectors
