// The exposition of a fixed fake PostgreSQL 15, compared byte for byte with
// tests/unit/fixtures/exposition_golden.txt: a change of any metric name, help text, label or
// value fails here. PGVIGIL_UPDATE_GOLDEN=1 rewrites the fixture (review its diff).
//
// The agent runs as --once runs it (Agent::CollectOnce, then Agent::Metrics), its workers'
// sessions opened on the fake; every collector of the collector table that runs on PostgreSQL
// is enabled, the log collector fed through its drain.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "agent/agent.h"
#include "collectors/registry.h"
#include "fake_session.h"
#include "logs/inbox.h"

namespace pgvigil::agent {
namespace {

using testing::FakeSession;
using testing::Row;
using namespace std::chrono_literals;

const std::string kFixture =
    std::string(PGVIGIL_SOURCE_DIR) + "/tests/unit/fixtures/exposition_golden.txt";

// Series whose values are the machine's, not the fake server's: durations measured by the
// agent, wall-clock timestamps, the process. Their values are masked; names, help and labels
// still count.
const std::set<std::string> kVolatile = {
    "pg_probe_duration_seconds",     "pgvigil_collector_duration_seconds",
    "pgvigil_collector_lag_seconds", "pgvigil_collector_last_success_timestamp_seconds",
    "pgvigil_log_delay_seconds",
};

// Hands the worker a session that forwards to the test's fake, which the test changes between
// passes.
class Forward final : public pg::Session {
 public:
  explicit Forward(FakeSession& fake) : fake_(fake) {}
  pg::Rows Query(std::string_view sql) override { return fake_.Query(sql); }
  [[nodiscard]] int ServerVersionNum() const override { return fake_.ServerVersionNum(); }

 private:
  FakeSession& fake_;
};

std::string Masked(const std::string& exposition) {
  std::istringstream in(exposition);
  std::ostringstream out;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] != '#') {
      const std::size_t name_end = line.find_first_of("{ ");
      std::string name = line.substr(0, name_end);
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        const std::string base = name.substr(0, name.size() - std::string_view(suffix).size());
        if (name.ends_with(suffix) && kVolatile.contains(base)) name = base;
      }
      if (name == "pgvigil_build_info") {
        line = "pgvigil_build_info{<version and revision>} 1";
      } else if (kVolatile.contains(name) || name.starts_with("process_")) {
        line = line.substr(0, line.rfind(' ')) + " <volatile>";
      }
    }
    out << line << '\n';
  }
  return out.str();
}

// The fake server's answers to every statement the worker and the collectors send, for pass
// 1 or 2 (the counters grow between them).
void Answer(FakeSession& fake, int pass) {
  const bool second = pass == 2;
  // The worker, on connecting: capabilities and where the session is.
  fake.Respond(
      "pg_has_role(current_user, 'pg_monitor', 'USAGE')",
      pg::Rows({"pg_monitor", "pg_stat_statements", "userid", "dbid", "address", "port", "started",
                "may_identify"},
               {Row{"t", "t", "10", "5", "10.0.0.5", "5432", "2026-01-01 00:00:00+00", "t"}}));
  fake.Respond("system_identifier::text", pg::Rows({"system"}, {Row{"7300000000000000001"}}));
  // settings (before the statements' lookup: its list names pg_stat_statements.max too).
  fake.Respond(
      "FROM pg_settings",
      pg::Rows({"name", "setting", "unit", "vartype"},
               {Row{"max_connections", "100", "", "integer"},
                Row{"superuser_reserved_connections", "3", "", "integer"},
                Row{"shared_buffers", "16384", "8kB", "integer"},
                Row{"work_mem", "4096", "kB", "integer"},
                Row{"checkpoint_timeout", "300", "s", "integer"},
                Row{"statement_timeout", "0", "ms", "integer"},
                Row{"log_min_duration_statement", "-1", "ms", "integer"},
                Row{"autovacuum", "on", "", "bool"}, Row{"track_io_timing", "off", "", "bool"},
                Row{"pg_stat_statements.max", "5000", "", "integer"}}));
  fake.Respond("current_setting('server_version') AS version",
               pg::Rows({"version", "version_num", "in_recovery"},
                        {Row{"15.8 (Debian 15.8-0+deb12u1)", "150008", "f"}}));
  fake.Respond("datconnlimit FROM pg_database",
               pg::Rows({"datname", "datconnlimit"}, {Row{"postgres", "-1"}, Row{"app", "50"}}));
  fake.Respond("rolconnlimit FROM pg_roles",
               pg::Rows({"rolname", "rolconnlimit"}, {Row{"web", "40"}}));
  // activity: the limits, then sessions by database, user and state, and by application.
  const std::vector<std::string> activity_columns = {
      "usable",   "used",    "in_recovery",         "per_application",
      "datname",  "usename", "application_name",    "state",
      "backends", "waiting", "oldest_xact_seconds", "longest_query_seconds",
      "slow"};
  auto group = [&](bool per_application, std::string datname, std::string usename,
                   std::string application, std::string state, std::string backends,
                   std::string waiting, std::optional<std::string> oldest,
                   std::optional<std::string> longest, std::string slow) {
    return Row{"97",        second ? "14" : "12",
               "f",         per_application ? "t" : "f",
               datname,     usename,
               application, state,
               backends,    waiting,
               oldest,      longest,
               slow};
  };
  fake.Respond(
      "WITH limits AS",
      pg::Rows(
          activity_columns,
          {group(false, "app", "web", "", "active", second ? "4" : "3", "1", "2.5", "2.5", "1"),
           group(false, "app", "web", "", "idle", "5", "0", std::nullopt, std::nullopt, "0"),
           group(false, "app", "web", "", "idle in transaction", "2", "0", "31.25", std::nullopt,
                 "0"),
           group(false, "postgres", "monitor", "", "unknown", "1", "0", std::nullopt, std::nullopt,
                 "0"),
           group(true, "", "", "web-1", "active", second ? "3" : "2", "1", "2.5", "2.5", "1"),
           group(true, "", "", "web-1", "idle", "4", "0", std::nullopt, std::nullopt, "0"),
           group(true, "", "", "worker", "idle in transaction", "2", "0", "31.25", std::nullopt,
                 "0"),
           group(true, "", "", "", "active", "1", "0", "0.5", "0.5", "0"),
           group(true, "", "", "", "idle", "1", "0", std::nullopt, std::nullopt, "0"),
           group(true, "", "", "", "unknown", "1", "0", std::nullopt, std::nullopt, "0")}));
  // statements: the catalog lookup, pg_stat_statements_info, names, texts, counters.
  fake.Respond("AS own_userid", pg::Rows({"own_userid", "own_dbid", "max", "schema", "version",
                                          "log_now", "xact_commit", "xact_rollback"},
                                         {Row{"10", "5", "5000", "public", "1.10",
                                              second ? "1800000030000" : "1800000000000",
                                              second ? "1200" : "1000", second ? "12" : "10"}}));
  fake.Respond("pg_stat_statements_info",
               pg::Rows({"dealloc", "stats_reset"}, {Row{"3", "2026-01-01 00:00:00+00"}}));
  fake.Respond("'d' AS kind", pg::Rows({"kind", "oid", "name"},
                                       {Row{"d", "5", "app"}, Row{"d", "1", "postgres"},
                                        Row{"r", "10", "monitor"}, Row{"r", "20", "web"}}));
  fake.Respond(
      "pg_stat_statements(true)",
      pg::Rows({"userid", "dbid", "queryid", "query"},
               {Row{"20", "5", "101", "select * from orders where id = $1"},
                Row{"20", "5", "102", "update stock set n = n - $1 where id = $2"},
                Row{"20", "5", "103", "select pg_sleep($1)"}, Row{"20", "5", "104", "BEGIN"},
                Row{"20", "5", "105", "COMMIT"}, Row{"10", "5", "900", "SELECT $1"}}));
  fake.Respond("pg_stat_statements(false)",
               pg::Rows({"userid", "dbid", "queryid", "calls", "exec_ms", "rows"},
                        {Row{"20", "5", "101", second ? "1600" : "1000", second ? "480" : "300",
                             second ? "1600" : "1000"},
                         Row{"20", "5", "102", second ? "220" : "200", second ? "90" : "80",
                             second ? "220" : "200"},
                         Row{"20", "5", "103", second ? "12" : "10", second ? "30000" : "25000",
                             second ? "12" : "10"},
                         Row{"20", "5", "104", second ? "300" : "250", "2.5", "0"},
                         Row{"20", "5", "105", second ? "300" : "250", "3.5", "0"},
                         Row{"20", "5", std::nullopt, second ? "9" : "7", "1.5", "9"},
                         Row{"10", "5", "900", "40", "0.25", "40"}}));
  // database: pg_stat_database, PostgreSQL 14+ columns included.
  fake.Respond("FROM pg_stat_database WHERE datname IS NOT NULL",
               pg::Rows({"datname", "numbackends", "xact_commit", "xact_rollback", "deadlocks",
                         "conflicts", "temp_files", "temp_bytes", "blks_read", "blks_hit",
                         "sessions", "sessions_fatal", "sessions_killed", "sessions_abandoned"},
                        {Row{"app", "11", second ? "1150" : "950", second ? "11" : "9", "1", "0",
                             "2", "16384", "500", "99500", "40", "1", "0", "2"},
                         Row{"postgres", "1", "50", "1", "0", "0", "0", "0", "10", "990", "12", "0",
                             "0", "0"}}));
  // maintenance: what the role may read, then each view.
  fake.Respond("pg_has_role('pg_read_all_stats', 'USAGE')",
               pg::Rows({"read_all_stats", "waldir", "archive_statusdir", "activity", "slots",
                         "prepared", "replication", "archiver", "checkpoints"},
                        {Row{"t", "t", "t", "t", "t", "t", "t", "t", "t"}}));
  fake.Respond("mxid_age(datminmxid)",
               pg::Rows({"datname", "xid_age", "mxid_age", "size_bytes"},
                        {Row{"app", second ? "1250" : "1200", "7", "8388608"},
                         Row{"postgres", "900", "7", "7700000"}}));
  fake.Respond("AS holder", pg::Rows({"holder", "age", "pid", "application", "usename", "state",
                                      "since", "slot", "gid", "standby"},
                                     {Row{"prepared_transaction", "57", std::nullopt, std::nullopt,
                                          "web", std::nullopt, "2026-01-01T00:00:00Z", std::nullopt,
                                          "tx1", std::nullopt}}));
  fake.Respond(
      "FROM pg_stat_archiver",
      pg::Rows({"mode", "archived", "failed", "failing", "last_failed_wal", "last_failed_time"},
               {Row{"on", second ? "12" : "10", "0", "f", std::nullopt, std::nullopt}}));
  fake.Respond("FROM pg_ls_archive_statusdir()", pg::Rows({"ready"}, {Row{"1"}}));
  fake.Respond("FROM pg_ls_waldir()", pg::Rows({"bytes", "files"}, {Row{"33554432", "2"}}));
  fake.Respond("FROM pg_stat_bgwriter",
               pg::Rows({"timed", "requested", "write_ms", "sync_ms", "buffers"},
                        {Row{"40", second ? "4" : "3", "12500", "250", "900"}}));
  // replication: a primary with one streaming standby and its slot, and a logical slot.
  fake.Respond(
      "AS position_bytes",
      pg::Rows(
          {"in_recovery", "position_bytes", "receive_minus_replay_bytes",
           "since_last_replay_seconds", "wal_receiver_timeout_ms", "max_slot_wal_keep_size"},
          {Row{"f", second ? "83902464" : "83886080", std::nullopt, std::nullopt, "60000", "-1"}}));
  fake.Respond("FROM pg_stat_replication",
               pg::Rows({"application_name", "client_addr", "state", "sync_state", "sent_bytes",
                         "write_bytes", "flush_bytes", "replay_bytes", "write_seconds",
                         "flush_seconds", "replay_seconds"},
                        {Row{"standby1", "10.0.0.6", "streaming", "async", "0", "0", "8192",
                             "16384", "0.001", "0.002", "0.25"}}));
  fake.Respond(
      "FROM pg_replication_slots",
      pg::Rows(
          {"slot_name", "slot_type", "database", "active", "retained_bytes", "wal_status",
           "safe_wal_bytes"},
          {Row{"analytics", "logical", "app", "t", "1048576", "reserved", std::nullopt},
           Row{"standby1", "physical", std::nullopt, "t", "16384", "reserved", std::nullopt}}));
  // log: the heartbeat.
  fake.Respond("pgvigil heartbeat", pg::Rows());
  // The probe, last: "SELECT 1" occurs in statements answered above.
  fake.Respond("SELECT 1", pg::Rows({"?column?"}, {Row{"1"}}));
}

// One line of Heroku's Postgres log (RFC 5424, logplex framing), as its drain posts it.
std::string DrainFrame(int pid, const std::string& text) {
  const std::string message = "<190>1 2027-01-15T08:00:00+00:00 host app postgres." +
                              std::to_string(pid) + " - [DATABASE] " + text;
  return std::to_string(message.size()) + " " + message;
}

// The agent's config: every collector of the table that runs on PostgreSQL, the log through a
// drain whose token is in `token_file`.
config::Config GoldenConfig(const std::filesystem::path& token_file) {
  std::string collectors;
  for (const auto& info : collectors::CollectorTable()) {
    if (!info.RunsOn(config::TargetKind::kPostgres)) continue;
    collectors += (collectors.empty() ? "" : ", ") + std::string(info.name) + ": true";
  }
  // Short intervals of the shared collectors: the second pass reads the cluster again rather
  // than taking the first pass's read as this interval's.
  return config::LoadString(
      "defaults:\n"
      "  connect_probe_interval: 0s\n"
      "  activity_interval: 20ms\n"
      "  statements_interval: 20ms\n"
      "  replication_interval: 20ms\n"
      "  maintenance_interval: 20ms\n"
      "  statements_top_n: 3\n"
      "  applications_top_n: 2\n"
      "  slow_query_threshold: 1s\n"
      "  collectors: {" +
          collectors +
          "}\n"
          "  log_source: {drain: {token_file: " +
          token_file.string() +
          "}, line_prefix: heroku}\n"
          "targets:\n"
          "  - name: golden\n"
          "    dsn: \"host=db.invalid dbname=app user=monitor\"\n"
          "    labels: {cluster: main}\n",
      "golden");
}

TEST(ExpositionGoldenTest, OnceOutputIsUnchanged) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("pgvigil-golden-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto token_file = dir / "drain-token";
  std::ofstream(token_file) << "golden-token\n";

  const config::Config config = GoldenConfig(token_file);

  FakeSession fake(150008);
  Answer(fake, 1);
  Agent agent(config, [&fake](const pg::ConnectOptions&) -> std::unique_ptr<pg::Session> {
    return std::make_unique<Forward>(fake);
  });
  ASSERT_TRUE(agent.CollectOnce());
  // Between the passes: the server's counters move, and the drain delivers log lines.
  Answer(fake, 2);
  const std::string body =
      DrainFrame(4101,
                 "[9-1]  sql_error_code = 23505 ERROR:  duplicate key value violates "
                 "unique constraint \"orders_pkey\"") +
      DrainFrame(4102,
                 "[3-1]  sql_error_code = 57014 ERROR:  canceling statement due to "
                 "statement timeout") +
      DrainFrame(4103, "[1-1]  sql_error_code = 00000 LOG:  checkpoint starting: time");
  ASSERT_EQ(agent.Drain("golden", "Bearer golden-token", "application/logplex-1", body).status,
            204);
  std::this_thread::sleep_for(30ms);  // past half the shared collectors' interval
  ASSERT_TRUE(agent.CollectOnce());
  const std::string exposition = Masked(agent.Metrics(/*gzip=*/false).body);
  std::filesystem::remove_all(dir);

  if (const char* update = std::getenv("PGVIGIL_UPDATE_GOLDEN"); update && *update == '1') {
    std::filesystem::create_directories(std::filesystem::path(kFixture).parent_path());
    std::ofstream(kFixture, std::ios::binary) << exposition;
    GTEST_SKIP() << "rewrote " << kFixture;
  }
  std::ifstream in(kFixture, std::ios::binary);
  ASSERT_TRUE(in) << kFixture << " is missing: run with PGVIGIL_UPDATE_GOLDEN=1";
  const std::string expected((std::istreambuf_iterator<char>(in)), {});
  // Line by line first, so that a failure names the line.
  std::istringstream want(expected);
  std::istringstream got(exposition);
  std::string want_line;
  std::string got_line;
  for (int line = 1; std::getline(want, want_line); ++line) {
    ASSERT_TRUE(std::getline(got, got_line)) << "output ends before fixture line " << line;
    ASSERT_EQ(got_line, want_line) << "at line " << line << " of " << kFixture;
  }
  EXPECT_EQ(exposition, expected) << "the output has lines past the fixture's end";
}

// Each collector of the table that runs on PostgreSQL, run twice on the same fake server (the log
// fed the drain's lines in between), adds samples only to families its row declares.
TEST(ExpositionGoldenTest, CollectorsEmitOnlyTheSeriesTheirRowDeclares) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("pgvigil-declared-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto token_file = dir / "drain-token";
  std::ofstream(token_file) << "golden-token\n";
  const config::Config config = GoldenConfig(token_file);
  std::filesystem::remove_all(dir);
  ASSERT_EQ(config.targets.size(), 1u);
  const config::Target& target = config.targets[0];

  std::size_t checked = 0;
  for (const auto& info : collectors::CollectorTable()) {
    if (!info.RunsOn(config::TargetKind::kPostgres)) continue;
    SCOPED_TRACE(std::string(info.name));
    std::set<std::string> declared;
    for (const auto& metric : info.metrics) declared.insert(metric.name);
    FakeSession fake(150008);
    const pg::ConnectOptions options;
    const pg::OwnLoad own_load;
    collectors::Observations observations;
    observations.capabilities = {.known = true, .pg_monitor = true, .pg_stat_statements = true};
    const auto collector = info.make(target);
    std::set<std::string> emitted;
    for (int pass = 1; pass <= 2; ++pass) {
      Answer(fake, pass);
      if (pass == 2 && info.name == "log") {
        auto inbox = logs::Inboxes::For(target.name);
        ASSERT_TRUE(inbox->Push(
            {"host/app/postgres.4101",
             "[9-1]  sql_error_code = 23505 ERROR:  duplicate key value violates unique "
             "constraint \"orders_pkey\"",
             std::nullopt}));
      }
      collectors::CollectContext context{
          &fake,        target,  options, collectors::SteadyClock::now(), std::chrono::minutes(5),
          observations, own_load};
      metrics::FamilySet out(metrics::Labels{{"target", target.name}});
      collector->Collect(context, out);
      for (const auto& family : out.families()) {
        EXPECT_TRUE(declared.contains(family.name)) << family.name << " is not declared";
        emitted.insert(family.name);
      }
    }
    EXPECT_FALSE(emitted.empty());
    if (info.name == "log") {
      EXPECT_TRUE(emitted.contains("pg_log_messages_total"));
    }
    checked += 1;
  }
  EXPECT_GE(checked, 6u);
}

}  // namespace
}  // namespace pgvigil::agent
