#include "collectors/replication.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "collectors/replication_sql.h"
#include "fake_session.h"
#include "health/health.h"
#include "health/replication_checks.h"
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

// A variant per major whose catalog differs for this collector.
TEST(ReplicationSqlTest, Postgres12HasNoWalStatusNorInactiveSince) {
  EXPECT_THAT(ReplicationSlotsSql(120000), Not(HasSubstr("wal_status")));
  EXPECT_THAT(ReplicationSlotsSql(120000), Not(HasSubstr("inactive_since")));
  EXPECT_THAT(ReplicationStatusSql(120000), Not(HasSubstr("max_slot_wal_keep_size")));
  EXPECT_THAT(ReplicationStandbysSql(120000), HasSubstr("replay_lag"));
  EXPECT_THAT(WalReceiverSql(120000), HasSubstr("sender_host"));
}

TEST(ReplicationSqlTest, Postgres13AddsWalStatusAndSafeWalSize) {
  EXPECT_THAT(ReplicationSlotsSql(130000), HasSubstr("s.wal_status"));
  EXPECT_THAT(ReplicationSlotsSql(130000), HasSubstr("safe_wal_size AS safe_wal_bytes"));
  EXPECT_THAT(ReplicationSlotsSql(130000), Not(HasSubstr("inactive_since")));
  EXPECT_THAT(ReplicationStatusSql(130000), HasSubstr("max_slot_wal_keep_size"));
}

TEST(ReplicationSqlTest, Postgres14And16AsThirteen) {
  for (const int version : {140000, 160000}) {
    EXPECT_EQ(ReplicationSlotsSql(version), ReplicationSlotsSql(130000));
    EXPECT_EQ(ReplicationStatusSql(version), ReplicationStatusSql(130000));
  }
}

TEST(ReplicationSqlTest, Postgres17And18ReadInactiveSince) {
  for (const int version : {170000, 180000}) {
    EXPECT_THAT(ReplicationSlotsSql(version), HasSubstr("now() - s.inactive_since"));
    EXPECT_THAT(ReplicationSlotsSql(version), HasSubstr("s.wal_status"));
  }
}

TEST(ReplicationSqlTest, NeverAsksAStandbyForTheCurrentPosition) {
  // pg_current_wal_lsn() fails during recovery: it is only reached when not in recovery.
  for (const int version : {120000, 130000, 170000, 180000}) {
    for (const std::string& sql : {ReplicationStatusSql(version), ReplicationSlotsSql(version),
                                   ReplicationStandbysSql(version)}) {
      EXPECT_THAT(sql, HasSubstr("CASE WHEN pg_is_in_recovery() THEN"));
      EXPECT_THAT(sql, HasSubstr("ELSE pg_current_wal_lsn() END"));
    }
  }
}

TEST(ReplayLagTest, ZeroOnlyWhenStreamingHeardAndReplayed) {
  const double fresh = FreshMessageSeconds(60000);
  EXPECT_DOUBLE_EQ(fresh, 40);
  EXPECT_DOUBLE_EQ(FreshMessageSeconds(0), 40);  // disabled counts as the default
  EXPECT_DOUBLE_EQ(FreshMessageSeconds(std::nullopt), 40);
  // An idle primary: nothing replayed for 5 minutes, but streaming and caught up.
  EXPECT_EQ(StandbyReplayLagSeconds(true, 29, 0, 300, fresh), 0.0);
  // A broken stream is never 0, even with everything received replayed.
  EXPECT_EQ(StandbyReplayLagSeconds(false, 29, 0, 300, fresh), 300.0);
  // Silent for longer than the receiver's own ping interval: not heard from.
  EXPECT_EQ(StandbyReplayLagSeconds(true, 45, 0, 300, fresh), 300.0);
  // Received but not replayed (replay paused, a long conflict).
  EXPECT_EQ(StandbyReplayLagSeconds(true, 1, 8192, 12, fresh), 12.0);
  // Nothing replayed since start-up and not caught up: not known.
  EXPECT_EQ(StandbyReplayLagSeconds(false, std::nullopt, 0, std::nullopt, fresh), std::nullopt);
}

const std::vector<std::string> kStatusColumns = {"in_recovery",
                                                 "position_bytes",
                                                 "receive_minus_replay_bytes",
                                                 "since_last_replay_seconds",
                                                 "wal_receiver_timeout_ms",
                                                 "max_slot_wal_keep_size"};
const std::vector<std::string> kStandbyColumns = {
    "application_name", "client_addr",   "state",         "sync_state",
    "sent_bytes",       "write_bytes",   "flush_bytes",   "replay_bytes",
    "write_seconds",    "flush_seconds", "replay_seconds"};
const std::vector<std::string> kSlotColumns17 = {"slot_name",      "slot_type",       "database",
                                                 "active",         "retained_bytes",  "wal_status",
                                                 "safe_wal_bytes", "inactive_seconds"};
const std::vector<std::string> kSlotColumns12 = {"slot_name", "slot_type", "database", "active",
                                                 "retained_bytes"};
const std::vector<std::string> kReceiverColumns = {"status", "sender_host", "sender_port",
                                                   "last_message_age_seconds"};

class ReplicationCollectorTest : public ::testing::Test {
 protected:
  std::vector<prometheus::MetricFamily> Collect(FakeSession& session, SteadyClock::time_point now) {
    CollectContext context{&session, target_, options_, now, 5min, observations_, own_load_};
    metrics::FamilySet out;
    collector_.Collect(context, out);
    return out.Take();
  }

  config::Target target_;
  pg::ConnectOptions options_;
  Observations observations_;
  pg::OwnLoad own_load_;
  ReplicationCollector collector_{target_};
};

TEST_F(ReplicationCollectorTest, PrimaryStandbysAndSlots) {
  FakeSession session(170000);
  session.Respond(
      "AS position_bytes",
      pg::Rows(kStatusColumns, {Row{"f", "50000000", std::nullopt, std::nullopt, "60000", "-1"}}));
  session.Respond("pg_stat_replication",
                  pg::Rows(kStandbyColumns,
                           {// Caught up: PostgreSQL still shows a stale lag time, reported as 0.
                            Row{"standby1", "127.0.0.1", "streaming", "async", "0", "0", "0", "0",
                                "0.002", "0.003", "0.004"},
                            // Behind, its lag time unknown for write (NULL): left out.
                            Row{"standby2", "10.0.0.2", "streaming", "sync", "0", "100", "200",
                                "4096", std::nullopt, "0.5", "1.5"},
                            // A role without pg_monitor: everything hidden.
                            Row{"standby3", std::nullopt, std::nullopt, std::nullopt, std::nullopt,
                                std::nullopt, std::nullopt, std::nullopt, std::nullopt,
                                std::nullopt, std::nullopt}}));
  session.Respond("pg_replication_slots",
                  pg::Rows(kSlotColumns17, {Row{"analytics", "logical", "app", "f", "12884901888",
                                                "extended", std::nullopt, "10800.5"},
                                            Row{"standby1", "physical", std::nullopt, "t", "0",
                                                "reserved", std::nullopt, std::nullopt}}));
  const auto now = SteadyClock::time_point{} + 1h;
  const auto families = Collect(session, now);
  EXPECT_THAT(session.queries(), Not(::testing::Contains(HasSubstr("pg_stat_wal_receiver"))));
  EXPECT_EQ(SampleValue(families, "pg_wal_lsn_bytes_total"), 50000000);
  EXPECT_EQ(SampleValue(families, "pg_replication_standbys",
                        {{"state", "streaming"}, {"sync_state", "async"}}),
            1);
  EXPECT_EQ(SampleValue(families, "pg_replication_standbys",
                        {{"state", "unknown"}, {"sync_state", "unknown"}}),
            1);
  EXPECT_EQ(SampleValue(families, "pg_replication_standby_lag_seconds",
                        {{"standby", "standby1"}, {"stage", "replay"}}),
            0);
  EXPECT_EQ(SampleValue(families, "pg_replication_standby_lag_bytes",
                        {{"standby", "standby2"}, {"stage", "replay"}}),
            4096);
  EXPECT_EQ(SampleValue(families, "pg_replication_standby_lag_seconds",
                        {{"standby", "standby2"}, {"stage", "replay"}}),
            1.5);
  // Sent everything but no write lag known: the stage caught up is 0, the unknown one absent.
  EXPECT_FALSE(SampleValue(families, "pg_replication_standby_lag_seconds",
                           {{"standby", "standby2"}, {"stage", "write"}}));
  EXPECT_FALSE(
      SampleValue(families, "pg_replication_standby_lag_bytes", {{"standby", "standby3"}}));
  EXPECT_EQ(
      SampleValue(families, "pg_replication_slot_retained_bytes", {{"slot_name", "analytics"}}),
      12884901888.0);
  EXPECT_EQ(
      SampleValue(families, "pg_replication_slot_inactive_seconds", {{"slot_name", "analytics"}}),
      10800.5);
  EXPECT_EQ(
      SampleValue(families, "pg_replication_slot_inactive_seconds", {{"slot_name", "standby1"}}),
      0);
  EXPECT_EQ(SampleValue(families, "pg_replication_slot_wal_status",
                        {{"slot_name", "analytics"}, {"wal_status", "extended"}}),
            1);
  EXPECT_EQ(
      SampleValue(families, "pg_replication_slot_active",
                  {{"slot_name", "analytics"}, {"slot_type", "logical"}, {"database", "app"}}),
      0);
  const auto& replication = observations_.replication;
  ASSERT_TRUE(replication.known);
  EXPECT_FALSE(replication.in_recovery);
  ASSERT_EQ(replication.notes.size(), 1u);
  EXPECT_THAT(replication.notes[0], HasSubstr("1 standbys' WAL positions"));

  // /health: the slot inactive for 3 h is critical, with what an operator acts on.
  health::TargetInput input;
  input.reachable = true;
  input.observations = &observations_;
  input.collectors = {{"replication", true, true, ""}};
  const json target = health::EvaluateTarget(input, config::HealthConfig{});
  EXPECT_EQ(target["replication"]["role"], "primary");
  EXPECT_EQ(target["replication"]["standbys"][1]["lag_bytes"]["replay"], 4096);
  EXPECT_EQ(target["replication"]["slots"][0]["database"], "app");
  EXPECT_EQ(target["replication"]["receiver"], nullptr);
  std::map<std::string, json> checks;
  for (const auto& check : target["checks"]) checks[check["name"]] = check;
  EXPECT_EQ(checks["replication_lag"]["level"], "ok");
  EXPECT_EQ(checks["replication_lag"]["standby"], "standby2");
  EXPECT_EQ(checks["standby_streaming"]["level"], "ok");
  EXPECT_EQ(checks["replication_slots"]["level"], "critical");
  EXPECT_THAT(target["reasons"].dump(),
              HasSubstr("replication_slots critical: slot `analytics` inactive for 3 h retains "
                        "12 GiB; max_slot_wal_keep_size is unset"));
}

TEST_F(ReplicationCollectorTest, Postgres12ObservesInactivityItself) {
  FakeSession session(120000);
  const std::vector<std::string> status12(kStatusColumns.begin(), kStatusColumns.end() - 1);
  session.Respond("AS position_bytes",
                  pg::Rows(status12, {Row{"f", "1000", std::nullopt, std::nullopt, "60000"}}));
  session.Respond("pg_stat_replication", pg::Rows(kStandbyColumns, {}));
  session.Respond(
      "pg_replication_slots",
      pg::Rows(kSlotColumns12, {Row{"standby1", "physical", std::nullopt, "f", "800"}}));
  const auto start = SteadyClock::time_point{} + 1h;
  auto families = Collect(session, start);
  EXPECT_EQ(SampleValue(families, "pg_replication_slot_inactive_seconds"), 0);
  EXPECT_FALSE(SampleValue(families, "pg_replication_slot_wal_status"));
  families = Collect(session, start + 45s);
  EXPECT_EQ(SampleValue(families, "pg_replication_slot_inactive_seconds"), 45);
  // Active again: 0, and the count starts over when it goes inactive again.
  session.Respond("pg_replication_slots",
                  pg::Rows(kSlotColumns12, {Row{"standby1", "physical", std::nullopt, "t", "0"}}));
  families = Collect(session, start + 60s);
  EXPECT_EQ(SampleValue(families, "pg_replication_slot_inactive_seconds"), 0);
  session.Respond("pg_replication_slots",
                  pg::Rows(kSlotColumns12, {Row{"standby1", "physical", std::nullopt, "f", "10"}}));
  (void)Collect(session, start + 75s);
  families = Collect(session, start + 90s);
  EXPECT_EQ(SampleValue(families, "pg_replication_slot_inactive_seconds"), 15);
}

TEST_F(ReplicationCollectorTest, StandbyNotStreamingReportsGrowingLag) {
  FakeSession session(160000);
  session.Respond("AS position_bytes",
                  pg::Rows(kStatusColumns, {Row{"t", "7000", "0", "95.5", "60000", "-1"}}));
  session.Respond("pg_stat_replication", pg::Rows(kStandbyColumns, {}));
  session.Respond("pg_stat_wal_receiver", pg::Rows(kReceiverColumns, {}));  // no receiver
  session.Respond("pg_replication_slots", pg::Rows(kSlotColumns17, {}));
  auto families = Collect(session, SteadyClock::time_point{} + 1h);
  EXPECT_EQ(SampleValue(families, "pg_replication_receiver_streaming"), 0);
  EXPECT_EQ(SampleValue(families, "pg_replication_replay_lag_seconds"), 95.5);
  EXPECT_EQ(SampleValue(families, "pg_replication_replay_lag_bytes"), 0);
  EXPECT_EQ(SampleValue(families, "pg_wal_lsn_bytes_total"), 7000);

  health::TargetInput input;
  input.reachable = true;
  input.observations = &observations_;
  json target = health::EvaluateTarget(input, config::HealthConfig{});
  EXPECT_EQ(target["replication"]["role"], "standby");
  EXPECT_EQ(target["replication"]["receiver"]["streaming"], false);
  EXPECT_THAT(target["reasons"].dump(),
              HasSubstr("standby_streaming critical: no WAL receiver runs on this standby"));
  EXPECT_THAT(target["reasons"].dump(), HasSubstr("replication_lag warn: this standby last "
                                                  "replayed a transaction 96 s ago and is not "
                                                  "streaming (> 30 s)"));

  // Streaming again, idle primary: 0 although the last transaction is old.
  session.Respond("AS position_bytes",
                  pg::Rows(kStatusColumns, {Row{"t", "7000", "0", "400", "60000", "-1"}}));
  session.Respond("pg_stat_wal_receiver",
                  pg::Rows(kReceiverColumns, {Row{"streaming", "127.0.0.1", "5432", "28.5"}}));
  families = Collect(session, SteadyClock::time_point{} + 1h + 15s);
  EXPECT_EQ(SampleValue(families, "pg_replication_receiver_streaming"), 1);
  EXPECT_EQ(SampleValue(families, "pg_replication_replay_lag_seconds"), 0);
  EXPECT_EQ(SampleValue(families, "pg_replication_receiver_last_message_age_seconds"), 28.5);
  target = health::EvaluateTarget(input, config::HealthConfig{});
  EXPECT_EQ(target["replication"]["receiver"]["sender"], "127.0.0.1:5432");
  EXPECT_EQ(target["status"], "ok");
}

TEST_F(ReplicationCollectorTest, HiddenReceiverIsANoteNotAFailure) {
  FakeSession session(150000);
  session.Respond("AS position_bytes",
                  pg::Rows(kStatusColumns, {Row{"t", "7000", "0", "5", "60000", "-1"}}));
  session.Respond("pg_stat_replication", pg::Rows(kStandbyColumns, {}));
  session.Respond(
      "pg_stat_wal_receiver",
      pg::Rows(kReceiverColumns, {Row{std::nullopt, std::nullopt, std::nullopt, std::nullopt}}));
  session.Respond("pg_replication_slots", pg::Rows(kSlotColumns17, {}));
  const auto families = Collect(session, SteadyClock::time_point{} + 1h);
  EXPECT_FALSE(SampleValue(families, "pg_replication_receiver_streaming"));
  EXPECT_FALSE(SampleValue(families, "pg_replication_replay_lag_seconds"));
  ASSERT_EQ(observations_.replication.notes.size(), 1u);
  EXPECT_THAT(observations_.replication.notes[0], HasSubstr("pg_stat_wal_receiver"));
}

TEST_F(ReplicationCollectorTest, UnreservedAndLostSlotsAreCritical) {
  FakeSession session(130000);
  const std::vector<std::string> slots13(kSlotColumns17.begin(), kSlotColumns17.end() - 1);
  session.Respond(
      "AS position_bytes",
      pg::Rows(kStatusColumns, {Row{"f", "90000000", std::nullopt, std::nullopt, "60000", "1MB"}}));
  session.Respond("pg_stat_replication", pg::Rows(kStandbyColumns, {}));
  session.Respond(
      "pg_replication_slots",
      pg::Rows(slots13,
               {Row{"gone", "physical", std::nullopt, "f", std::nullopt, "lost", std::nullopt},
                Row{"late", "physical", std::nullopt, "f", "50331648", "unreserved", "-1048576"}}));
  const auto families = Collect(session, SteadyClock::time_point{} + 1h);
  EXPECT_EQ(SampleValue(families, "pg_replication_slot_safe_wal_bytes", {{"slot_name", "late"}}),
            -1048576);
  EXPECT_FALSE(
      SampleValue(families, "pg_replication_slot_retained_bytes", {{"slot_name", "gone"}}));
  health::TargetInput input;
  input.reachable = true;
  input.observations = &observations_;
  const json target = health::EvaluateTarget(input, config::HealthConfig{});
  const std::string reasons = target["reasons"].dump();
  EXPECT_THAT(reasons, HasSubstr("slot `gone` has lost WAL its consumer needs"));
  EXPECT_THAT(reasons, HasSubstr("slot `late` retains 48 MiB, more than max_slot_wal_keep_size "
                                 "(1MB) allows (wal_status unreserved)"));
  EXPECT_EQ(target["status"], "degraded");
}

TEST(ReplicationFormatTest, BytesAndSeconds) {
  EXPECT_EQ(health::FormatBytes(512), "512 B");
  EXPECT_EQ(health::FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(health::FormatBytes(12.0 * 1024 * 1024 * 1024), "12 GiB");
  EXPECT_EQ(health::FormatSeconds(4.24), "4.2 s");
  EXPECT_EQ(health::FormatSeconds(600), "10 min");
  EXPECT_EQ(health::FormatSeconds(10800), "3 h");
}

}  // namespace
}  // namespace pgvigil::collectors
