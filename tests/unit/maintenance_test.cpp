#include "collectors/maintenance.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "collectors/maintenance_sql.h"
#include "fake_session.h"
#include "health/health.h"
#include "health/maintenance_checks.h"
#include "metrics_lookup.h"

namespace pgvigil::collectors {
namespace {

using testing::FakeSession;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::Row;
using testing::SampleValue;
using json = nlohmann::ordered_json;
using namespace std::chrono_literals;

const std::vector<std::string> kCapabilityColumns = {
    "read_all_stats", "waldir",      "archive_statusdir", "activity",   "slots",
    "prepared",       "replication", "archiver",          "checkpoints"};
const std::vector<std::string> kHolderColumns = {
    "holder", "age", "pid", "application", "usename", "state", "since", "slot", "gid", "standby"};

// One variant per server version where the SQL differs: checkpoints moved to pg_stat_checkpointer
// in 17; everything else is the same on 12-18.
TEST(MaintenanceSqlTest, CheckpointsFromBgwriterBefore17) {
  for (int version : {120000, 130000, 140000, 150000, 160000}) {
    EXPECT_THAT(CheckpointsSql(version), HasSubstr("checkpoints_req AS requested")) << version;
    EXPECT_THAT(CheckpointsSql(version), HasSubstr("FROM pg_stat_bgwriter")) << version;
    EXPECT_THAT(MaintenanceCapabilitiesSql(version),
                HasSubstr("has_table_privilege('pg_stat_bgwriter'"));
  }
}

TEST(MaintenanceSqlTest, CheckpointsFromCheckpointerFrom17) {
  for (int version : {170000, 180000}) {
    EXPECT_THAT(CheckpointsSql(version), HasSubstr("num_requested AS requested")) << version;
    EXPECT_THAT(CheckpointsSql(version), HasSubstr("buffers_written AS buffers")) << version;
    EXPECT_THAT(CheckpointsSql(version), Not(HasSubstr("pg_stat_bgwriter"))) << version;
    EXPECT_THAT(MaintenanceCapabilitiesSql(version),
                HasSubstr("has_table_privilege('pg_stat_checkpointer'"));
  }
}

TEST(MaintenanceSqlTest, CapabilitiesAskBeforeCallingRestrictedFunctions) {
  const std::string sql = MaintenanceCapabilitiesSql(120000);
  EXPECT_THAT(sql, HasSubstr("has_function_privilege('pg_ls_waldir()', 'EXECUTE')"));
  EXPECT_THAT(sql, HasSubstr("has_function_privilege('pg_ls_archive_statusdir()', 'EXECUTE')"));
  EXPECT_THAT(sql, HasSubstr("pg_has_role('pg_read_all_stats', 'USAGE')"));
  EXPECT_THAT(sql, Not(HasSubstr("pg_ls_waldir() ")));
}

TEST(MaintenanceSqlTest, DatabaseSizeOnlyWhereTheRoleMayConnect) {
  EXPECT_THAT(DatabaseAgesSql(false),
              HasSubstr("CASE WHEN has_database_privilege(oid, 'CONNECT') THEN"));
  EXPECT_THAT(DatabaseAgesSql(true), Not(HasSubstr("has_database_privilege")));
  EXPECT_THAT(DatabaseAgesSql(true), HasSubstr("mxid_age(datminmxid)"));
}

TEST(MaintenanceSqlTest, XminHolderKindsOnlyWhenReadable) {
  EXPECT_EQ(XminHorizonSql({}), "");
  const std::string partial = XminHorizonSql({false, true, true, false});
  EXPECT_THAT(partial, HasSubstr("pg_replication_slots"));
  EXPECT_THAT(partial, HasSubstr("pg_prepared_xacts"));
  EXPECT_THAT(partial, Not(HasSubstr("pg_stat_activity")));
  EXPECT_THAT(partial, Not(HasSubstr("pg_stat_replication")));
  const std::string all = XminHorizonSql({true, true, true, true});
  EXPECT_THAT(all, HasSubstr("pid <> pg_backend_pid()"));
  EXPECT_THAT(all, HasSubstr("backend_type IS DISTINCT FROM 'walsender'"));
  EXPECT_THAT(all, HasSubstr("greatest(age(xmin), age(catalog_xmin))"));
}

class MaintenanceCollectorTest : public ::testing::Test {
 protected:
  std::vector<prometheus::MetricFamily> Collect(FakeSession& session) {
    MaintenanceCollector collector(target_);
    CollectContext context{&session, target_,       options_, SteadyClock::now(),
                           5min,     observations_, own_load_};
    metrics::FamilySet out;
    collector.Collect(context, out);
    return out.Take();
  }

  void Respond(FakeSession& session, bool everything) {
    const std::optional<std::string> can = everything ? "t" : "f";
    session.Respond("pg_has_role", pg::Rows(kCapabilityColumns,
                                            {Row{can, can, can, "t", "t", "t", "t", "t", "t"}}));
    session.Respond(
        "FROM pg_database",
        pg::Rows({"datname", "xid_age", "mxid_age", "size_bytes"},
                 {Row{"postgres", "1200", "3", "8000000"},
                  Row{"app", "5000", "2", everything ? "9000" : std::optional<std::string>()}}));
    session.Respond(
        "FROM pg_stat_archiver",
        pg::Rows({"mode", "archived", "failed", "failing", "last_failed_wal", "last_failed_time"},
                 {Row{"on", "10", "3", "t", "000000010000000000000005", "2026-12-07T06:00:00Z"}}));
    session.Respond("pg_ls_archive_statusdir", pg::Rows({"ready"}, {Row{"4"}}));
    session.Respond("pg_ls_waldir", pg::Rows({"bytes", "files"}, {Row{"50331648", "3"}}));
    session.Respond("FROM pg_stat_bgwriter",
                    pg::Rows({"timed", "requested", "write_ms", "sync_ms", "buffers"},
                             {Row{"7", "2", "1500", "250", "99"}}));
    session.Respond("FROM pg_stat_checkpointer",
                    pg::Rows({"timed", "requested", "write_ms", "sync_ms", "buffers"},
                             {Row{"8", "5", "2000", "500", "123"}}));
    std::vector<Row> holders = {
        Row{"prepared_transaction", "57", std::nullopt, std::nullopt, "app", std::nullopt,
            "2026-12-07T06:00:00Z", std::nullopt, "tx1", std::nullopt},
        Row{"replication_slot", "12", std::nullopt, std::nullopt, std::nullopt, std::nullopt,
            std::nullopt, "analytics", std::nullopt, std::nullopt}};
    if (everything) {
      holders.push_back(Row{"transaction", "90", "4242", "billing", "app", "idle in transaction",
                            "2026-12-07T05:00:00Z", std::nullopt, std::nullopt, std::nullopt});
    }
    session.Respond("UNION ALL", pg::Rows(kHolderColumns, holders));
  }

  config::Target target_;
  pg::ConnectOptions options_;
  Observations observations_;
  pg::OwnLoad own_load_;
};

TEST_F(MaintenanceCollectorTest, EverythingWithPgMonitorOn16) {
  FakeSession session(160004);
  Respond(session, true);
  const auto families = Collect(session);
  EXPECT_EQ(SampleValue(families, "pg_database_xid_age", {{"datname", "app"}}), 5000);
  EXPECT_EQ(SampleValue(families, "pg_database_mxid_age", {{"datname", "postgres"}}), 3);
  EXPECT_EQ(SampleValue(families, "pg_database_size_bytes", {{"datname", "app"}}), 9000);
  EXPECT_EQ(SampleValue(families, "pg_xmin_horizon_age", {{"holder", "transaction"}}), 90);
  EXPECT_EQ(SampleValue(families, "pg_xmin_horizon_age", {{"holder", "prepared_transaction"}}), 57);
  EXPECT_EQ(SampleValue(families, "pg_xmin_horizon_age", {{"holder", "replication_slot"}}), 12);
  // Readable and none holds one: 0, so the series does not come and go.
  EXPECT_EQ(SampleValue(families, "pg_xmin_horizon_age", {{"holder", "standby_feedback"}}), 0);
  EXPECT_EQ(SampleValue(families, "pg_stat_archiver_failed_total"), 3);
  EXPECT_EQ(SampleValue(families, "pg_stat_archiver_failing"), 1);
  EXPECT_EQ(SampleValue(families, "pg_stat_archiver_ready_files"), 4);
  EXPECT_EQ(SampleValue(families, "pg_checkpoints_total", {{"trigger", "requested"}}), 2);
  EXPECT_EQ(SampleValue(families, "pg_checkpoint_write_seconds_total"), 1.5);
  EXPECT_EQ(SampleValue(families, "pg_checkpoint_buffers_written_total"), 99);
  EXPECT_EQ(SampleValue(families, "pg_wal_directory_bytes"), 50331648);
  const auto& seen = observations_.maintenance;
  ASSERT_TRUE(seen.known);
  EXPECT_EQ(seen.xid_age->database, "app");
  EXPECT_EQ(seen.mxid_age->database, "postgres");
  ASSERT_TRUE(seen.xmin_horizon);
  EXPECT_EQ(seen.xmin_horizon->kind, "transaction");
  EXPECT_EQ(seen.xmin_horizon->pid, 4242);
  EXPECT_EQ(seen.xmin_horizon->application, "billing");
  EXPECT_TRUE(seen.unavailable.empty());
  EXPECT_THAT(session.queries(), Not(::testing::Contains(HasSubstr("pg_stat_checkpointer"))));
}

TEST_F(MaintenanceCollectorTest, CheckpointerOn17And18UnderTheSameNames) {
  for (int version : {170002, 180000}) {
    FakeSession session(version);
    Respond(session, true);
    const auto families = Collect(session);
    EXPECT_EQ(SampleValue(families, "pg_checkpoints_total", {{"trigger", "timed"}}), 8);
    EXPECT_EQ(SampleValue(families, "pg_checkpoints_total", {{"trigger", "requested"}}), 5);
    EXPECT_EQ(SampleValue(families, "pg_checkpoint_sync_seconds_total"), 0.5);
    EXPECT_EQ(SampleValue(families, "pg_checkpoint_buffers_written_total"), 123);
    EXPECT_THAT(session.queries(), Not(::testing::Contains(HasSubstr("pg_stat_bgwriter "))));
  }
}

TEST_F(MaintenanceCollectorTest, PlainRoleLeavesOutWhatItMayNotReadAndNeverCallsIt) {
  FakeSession session(120000);
  Respond(session, false);
  const auto families = Collect(session);
  EXPECT_EQ(SampleValue(families, "pg_xmin_horizon_age", {{"holder", "transaction"}}),
            std::nullopt);
  EXPECT_EQ(SampleValue(families, "pg_xmin_horizon_age", {{"holder", "standby_feedback"}}),
            std::nullopt);
  EXPECT_EQ(SampleValue(families, "pg_xmin_horizon_age", {{"holder", "prepared_transaction"}}), 57);
  EXPECT_EQ(SampleValue(families, "pg_stat_archiver_ready_files"), std::nullopt);
  EXPECT_EQ(SampleValue(families, "pg_stat_archiver_failing"), 1);
  EXPECT_EQ(SampleValue(families, "pg_wal_directory_bytes"), std::nullopt);
  EXPECT_EQ(SampleValue(families, "pg_database_size_bytes", {{"datname", "app"}}), std::nullopt);
  EXPECT_EQ(SampleValue(families, "pg_database_size_bytes", {{"datname", "postgres"}}), 8000000);
  for (const std::string& sql : session.queries()) {
    EXPECT_THAT(sql, Not(HasSubstr("FROM pg_ls_waldir()")));
    EXPECT_THAT(sql, Not(HasSubstr("FROM pg_ls_archive_statusdir()")));
    EXPECT_THAT(sql, Not(HasSubstr("FROM pg_stat_activity")));
  }
  const auto& notes = observations_.maintenance.unavailable;
  ASSERT_EQ(notes.size(), 4u);
  EXPECT_THAT(notes[0], HasSubstr("1 databases have no pg_database_size_bytes"));
  EXPECT_THAT(notes[1], HasSubstr("pg_read_all_stats"));
  EXPECT_THAT(notes[2], HasSubstr("pg_ls_archive_statusdir()"));
  EXPECT_THAT(notes[3], HasSubstr("pg_ls_waldir()"));
  EXPECT_EQ(observations_.maintenance.xmin_horizon->gid, "tx1");
}

TEST_F(MaintenanceCollectorTest, AHolderOfAgeZeroHoldsNothingBack) {
  FakeSession session(150000);
  Respond(session, true);
  session.Respond("UNION ALL",
                  pg::Rows(kHolderColumns, {Row{"transaction", "0", "77", "pgvigil", "monitor",
                                                "active", "2026-12-07T06:00:00Z", std::nullopt,
                                                std::nullopt, std::nullopt}}));
  const auto families = Collect(session);
  EXPECT_EQ(SampleValue(families, "pg_xmin_horizon_age", {{"holder", "transaction"}}), 0);
  EXPECT_FALSE(observations_.maintenance.xmin_horizon);
}

class MaintenanceHealthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    input_.name = "primary";
    input_.reachable = true;
    input_.observations = &observations_;
    input_.collectors = {{"maintenance", true, true, ""}};
    auto& seen = observations_.maintenance;
    seen.known = true;
    seen.xid_age = Observations::Maintenance::Age{"app", 1234};
    seen.mxid_age = Observations::Maintenance::Age{"app", 1};
    seen.xmin_horizon_readable = true;
    Observations::Maintenance::Archiver archiver;
    archiver.mode = "off";
    seen.archiver = archiver;
  }
  json Check(const std::string& name) {
    health::Checks checks;
    health::AddMaintenanceChecks(input_, config_, checks);
    for (const auto& check : checks.ToJson()) {
      if (check["name"] == name) {
        reasons_ = checks.reasons();
        return check;
      }
    }
    ADD_FAILURE() << "no check " << name;
    return {};
  }

  Observations observations_;
  health::TargetInput input_;
  config::HealthConfig config_;
  json reasons_;
};

TEST_F(MaintenanceHealthTest, PreparedTransactionNamedWithWhatToRun) {
  observations_.maintenance.xmin_horizon = Observations::Maintenance::Holder{
      "prepared_transaction", 12345678,     std::nullopt, std::nullopt, "app", std::nullopt,
      "2026-12-07T06:00:00Z", std::nullopt, "tx1",        std::nullopt};
  const json check = Check("xmin_horizon");
  EXPECT_EQ(check["level"], "warn");
  EXPECT_EQ(check["value"], 12345678);
  EXPECT_EQ(check["holder"], "prepared_transaction");
  ASSERT_EQ(reasons_.size(), 1u);
  EXPECT_EQ(reasons_[0],
            "xmin_horizon warn: prepared transaction `tx1` (owner app) holds the xmin horizon "
            "12,345,678 transactions back since 2026-12-07T06:00:00Z; COMMIT PREPARED or "
            "ROLLBACK PREPARED it (> 10,000,000)");
  const json maintenance = health::MaintenanceJson(input_);
  EXPECT_EQ(maintenance["xmin_horizon"]["gid"], "tx1");
  EXPECT_EQ(maintenance["xmin_horizon"]["pid"], nullptr);
  EXPECT_EQ(maintenance["xid_age"]["age"], 1234);
}

TEST_F(MaintenanceHealthTest, SessionNamedByPidAndApplication) {
  observations_.maintenance.xmin_horizon = Observations::Maintenance::Holder{
      "transaction",          200000000,    4242,         "billing",   "app", "idle in transaction",
      "2026-12-07T05:00:00Z", std::nullopt, std::nullopt, std::nullopt};
  EXPECT_EQ(Check("xmin_horizon")["level"], "critical");
  EXPECT_THAT(reasons_[0].get<std::string>(),
              HasSubstr("session pid 4242 (application `billing`, user app, idle in "
                        "transaction) holds the xmin horizon 200,000,000 transactions back"));
  EXPECT_THAT(reasons_[0].get<std::string>(), HasSubstr("pg_terminate_backend(4242)"));
}

TEST_F(MaintenanceHealthTest, WraparoundJudgesTheOlderOfXidAndMxid) {
  EXPECT_EQ(Check("wraparound")["level"], "ok");
  observations_.maintenance.mxid_age = Observations::Maintenance::Age{"big", 1700000000};
  const json check = Check("wraparound");
  EXPECT_EQ(check["level"], "critical");  // 0.79 of 2^31
  EXPECT_EQ(check["kind"], "mxid");
  EXPECT_THAT(reasons_[0].get<std::string>(),
              HasSubstr("database `big` has multixact age 1,700,000,000, 0.792 of the 2^31 limit"));
}

TEST_F(MaintenanceHealthTest, FailingArchiverIsCriticalElseTheBacklogIsJudged) {
  Observations::Maintenance::Archiver archiver;
  archiver.mode = "on";
  archiver.failed = 3;
  archiver.failing = true;
  archiver.ready_files = 4;
  archiver.last_failed_wal = "000000010000000000000005";
  observations_.maintenance.archiver = archiver;
  EXPECT_EQ(Check("archiver")["level"], "critical");
  EXPECT_THAT(reasons_[0].get<std::string>(),
              HasSubstr("the newest attempt (WAL 000000010000000000000005) failed, 3 failures "
                        "counted, 4 segments wait in pg_wal"));
  archiver.failing = false;
  archiver.ready_files = 20;
  observations_.maintenance.archiver = archiver;
  EXPECT_EQ(Check("archiver")["level"], "warn");
  archiver.ready_files = 2;
  observations_.maintenance.archiver = archiver;
  EXPECT_EQ(Check("archiver")["level"], "ok");
}

TEST_F(MaintenanceHealthTest, UnknownUntilTheCollectorRan) {
  observations_.maintenance = {};
  EXPECT_EQ(Check("wraparound")["level"], "unknown");
  EXPECT_EQ(Check("xmin_horizon")["detail"], "the maintenance collector returned no data");
  EXPECT_EQ(health::MaintenanceJson(input_), nullptr);
}

TEST_F(MaintenanceHealthTest, NothingStaleWhileUnreachable) {
  input_.reachable = false;
  EXPECT_EQ(health::MaintenanceJson(input_), nullptr);
  EXPECT_EQ(Check("xmin_horizon")["detail"], "the target is unreachable");
}

}  // namespace
}  // namespace pgvigil::collectors
