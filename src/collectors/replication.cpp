#include "collectors/replication.h"

#include <algorithm>
#include <array>
#include <set>

#include "collectors/replication_sql.h"

namespace pgvigil::collectors {
namespace {

using prometheus::MetricType;

const std::vector<std::string> kSlotLabels = {"slot_name", "slot_type", "database"};

const metrics::Descriptor kWalPosition{
    "pg_wal_lsn_bytes_total",
    MetricType::Counter,
    "WAL position as bytes (the replayed position on a standby): rate() is WAL per second.",
    {}};
const metrics::Descriptor kStandbyLagBytes{
    "pg_replication_standby_lag_bytes",
    MetricType::Gauge,
    "WAL bytes a standby is behind this server's position, per stage.",
    {"standby", "stage"}};
const metrics::Descriptor kStandbyLagSeconds{
    "pg_replication_standby_lag_seconds",
    MetricType::Gauge,
    "PostgreSQL's lag time of a standby per stage; 0 once the stage is caught up.",
    {"standby", "stage"}};
const metrics::Descriptor kStandbys{"pg_replication_standbys",
                                    MetricType::Gauge,
                                    "Standbys connected to this server, by state.",
                                    {"state", "sync_state"}};
const metrics::Descriptor kReceiverStreaming{
    "pg_replication_receiver_streaming",
    MetricType::Gauge,
    "1 while this standby's WAL receiver streams from its upstream.",
    {}};
const metrics::Descriptor kReceiverLastMessage{
    "pg_replication_receiver_last_message_age_seconds",
    MetricType::Gauge,
    "Seconds since this standby last heard from its upstream.",
    {}};
const metrics::Descriptor kReplayLagBytes{
    "pg_replication_replay_lag_bytes",
    MetricType::Gauge,
    "On a standby: WAL received but not replayed yet, in bytes.",
    {}};
const metrics::Descriptor kReplayLagSeconds{
    "pg_replication_replay_lag_seconds",
    MetricType::Gauge,
    "On a standby: 0 while streaming, recently heard from and replayed up to what was received; "
    "otherwise seconds since the last replayed transaction.",
    {}};
const metrics::Descriptor kSlotActive{"pg_replication_slot_active", MetricType::Gauge,
                                      "1 while a consumer is connected to the slot.", kSlotLabels};
const metrics::Descriptor kSlotRetained{
    "pg_replication_slot_retained_bytes", MetricType::Gauge,
    "WAL the slot keeps: the server's position minus the slot's restart_lsn.", kSlotLabels};
const metrics::Descriptor kSlotSafeWal{
    "pg_replication_slot_safe_wal_bytes", MetricType::Gauge,
    "WAL bytes that may still be written before the slot is invalidated (13+, with "
    "max_slot_wal_keep_size set).",
    kSlotLabels};
const metrics::Descriptor kSlotWalStatus{
    "pg_replication_slot_wal_status",
    MetricType::Gauge,
    "1 for the slot's wal_status: reserved, extended, unreserved or lost (13+).",
    {"slot_name", "slot_type", "database", "wal_status"}};
const metrics::Descriptor kSlotInactive{
    "pg_replication_slot_inactive_seconds", MetricType::Gauge,
    "Seconds the slot has been without a consumer; 0 while active (before PostgreSQL 17, since "
    "the agent first saw it inactive).",
    kSlotLabels};

constexpr std::array<const char*, 4> kByteStages = {"sent", "write", "flush", "replay"};
constexpr std::array<const char*, 3> kTimeStages = {"write", "flush", "replay"};

// Negative distances happen where a position read later passes one read earlier in the same
// statement (a standby's received position, a cascading sender's): nothing is behind.
std::optional<double> NotNegative(std::optional<double> value) {
  if (value && *value < 0) return 0.0;
  return value;
}

metrics::Labels SlotLabels(const Observations::Replication::Slot& slot) {
  return {
      {"slot_name", slot.name}, {"slot_type", slot.type}, {"database", slot.database.value_or("")}};
}

}  // namespace

std::span<const metrics::Descriptor> ReplicationMetrics() {
  static const metrics::Descriptor all[] = {
      kWalPosition,         kStandbyLagBytes, kStandbyLagSeconds, kStandbys,   kReceiverStreaming,
      kReceiverLastMessage, kReplayLagBytes,  kReplayLagSeconds,  kSlotActive, kSlotRetained,
      kSlotSafeWal,         kSlotWalStatus,   kSlotInactive};
  return all;
}

double FreshMessageSeconds(std::optional<double> wal_receiver_timeout_ms) {
  const double timeout_ms =
      wal_receiver_timeout_ms && *wal_receiver_timeout_ms > 0 ? *wal_receiver_timeout_ms : 60000;
  return timeout_ms / 2000 + 10;
}

std::optional<double> StandbyReplayLagSeconds(bool streaming,
                                              std::optional<double> last_message_age_seconds,
                                              std::optional<double> receive_minus_replay_bytes,
                                              std::optional<double> since_last_replay_seconds,
                                              double fresh_seconds) {
  const bool heard = last_message_age_seconds && *last_message_age_seconds <= fresh_seconds;
  const bool replayed = receive_minus_replay_bytes && *receive_minus_replay_bytes <= 0;
  if (streaming && heard && replayed) return 0.0;
  return NotNegative(since_last_replay_seconds);
}

void ReplicationCollector::Collect(CollectContext& context, metrics::FamilySet& out) {
  pg::Session& session = *context.session;
  const int version = session.ServerVersionNum();
  context.observations.replication.known = false;
  Observations::Replication replication;

  const pg::Rows status = session.Query(ReplicationStatusSql(version));
  if (status.empty()) {
    throw pg::Error(pg::ErrorKind::kQuery, "the replication status query returned no row");
  }
  replication.in_recovery = status.Bool(0, status.Column("in_recovery")).value_or(false);
  replication.wal_bytes = status.Number(0, status.Column("position_bytes"));
  if (const auto column = status.FindColumn("max_slot_wal_keep_size")) {
    replication.max_slot_wal_keep_size = status.At(0, *column);
  }
  if (replication.wal_bytes) {
    out.Add(kWalPosition, {}, *replication.wal_bytes);
  }

  // Standbys: of a primary, or cascading from a standby.
  const pg::Rows standbys = session.Query(ReplicationStandbysSql(version));
  std::map<std::pair<std::string, std::string>, double> by_state;
  std::size_t hidden = 0;
  for (std::size_t row = 0; row < standbys.size(); ++row) {
    Observations::Replication::Standby standby;
    standby.name = standbys.Text(row, standbys.Column("application_name"));
    standby.client_addr = standbys.At(row, standbys.Column("client_addr"));
    standby.state = standbys.Text(row, standbys.Column("state"));
    standby.sync_state = standbys.Text(row, standbys.Column("sync_state"));
    by_state[{standby.state.empty() ? "unknown" : standby.state,
              standby.sync_state.empty() ? "unknown" : standby.sync_state}] += 1;
    for (std::size_t i = 0; i < kByteStages.size(); ++i) {
      standby.lag_bytes[i] = NotNegative(
          standbys.Number(row, standbys.Column(std::string(kByteStages[i]) + "_bytes")));
    }
    if (!standby.lag_bytes[3]) ++hidden;
    // A stage that has everything is 0 behind, whatever PostgreSQL still shows (it keeps the
    // last measured lag for a while, then NULL, once a standby is caught up).
    for (std::size_t i = 0; i < kTimeStages.size(); ++i) {
      const auto bytes = standby.lag_bytes[i + 1];
      if (bytes && *bytes <= 0) {
        standby.lag_seconds[i] = 0.0;
      } else if (bytes) {
        standby.lag_seconds[i] = NotNegative(
            standbys.Number(row, standbys.Column(std::string(kTimeStages[i]) + "_seconds")));
      }
    }
    const metrics::Labels name{{"standby", standby.name}};
    for (std::size_t i = 0; i < kByteStages.size(); ++i) {
      if (!standby.lag_bytes[i]) continue;
      metrics::Labels labels = name;
      labels.push_back({"stage", kByteStages[i]});
      out.Add(kStandbyLagBytes, labels, *standby.lag_bytes[i]);
    }
    for (std::size_t i = 0; i < kTimeStages.size(); ++i) {
      if (!standby.lag_seconds[i]) continue;
      metrics::Labels labels = name;
      labels.push_back({"stage", kTimeStages[i]});
      out.Add(kStandbyLagSeconds, labels, *standby.lag_seconds[i]);
    }
    replication.standbys.push_back(std::move(standby));
  }
  for (const auto& [key, count] : by_state) {
    out.Add(kStandbys, {{"state", key.first}, {"sync_state", key.second}}, count);
  }
  if (hidden > 0) {
    replication.notes.push_back(
        std::to_string(hidden) +
        " standbys' WAL positions and lag times are hidden from the monitoring role, so their "
        "lag is not reported: GRANT pg_monitor TO the monitoring role");
  }

  // A standby's WAL receiver and replay lag.
  if (replication.in_recovery) {
    Observations::Replication::Receiver receiver;
    const pg::Rows rows = session.Query(WalReceiverSql(version));
    const auto receive_minus_replay = status.Number(0, status.Column("receive_minus_replay_bytes"));
    receiver.since_last_replay_seconds =
        NotNegative(status.Number(0, status.Column("since_last_replay_seconds")));
    receiver.replay_lag_bytes = NotNegative(receive_minus_replay);
    if (rows.empty()) {
      receiver.streaming = false;  // no WAL receiver runs: not connected to any upstream
    } else {
      const auto& text = rows.At(0, rows.Column("status"));
      if (text) {
        receiver.status = *text;
        receiver.streaming = *text == "streaming";
      }
      const auto& host = rows.At(0, rows.Column("sender_host"));
      const auto& port = rows.At(0, rows.Column("sender_port"));
      if (host) receiver.sender = *host + (port ? ":" + *port : "");
      receiver.last_message_age_seconds =
          NotNegative(rows.Number(0, rows.Column("last_message_age_seconds")));
    }
    if (receiver.streaming) {
      const double fresh =
          FreshMessageSeconds(status.Number(0, status.Column("wal_receiver_timeout_ms")));
      receiver.replay_lag_seconds =
          StandbyReplayLagSeconds(*receiver.streaming, receiver.last_message_age_seconds,
                                  receive_minus_replay, receiver.since_last_replay_seconds, fresh);
      out.Add(kReceiverStreaming, {}, *receiver.streaming ? 1 : 0);
    } else {
      replication.notes.push_back(
          "the monitoring role may not read pg_stat_wal_receiver's status, so whether this "
          "standby streams and its replay lag in seconds are not reported: GRANT pg_monitor TO "
          "the monitoring role");
    }
    if (receiver.last_message_age_seconds) {
      out.Add(kReceiverLastMessage, {}, *receiver.last_message_age_seconds);
    }
    if (receiver.replay_lag_bytes) {
      out.Add(kReplayLagBytes, {}, *receiver.replay_lag_bytes);
    }
    if (receiver.replay_lag_seconds) {
      out.Add(kReplayLagSeconds, {}, *receiver.replay_lag_seconds);
    }
    replication.receiver = std::move(receiver);
  }

  // Slots, physical and logical, on a primary or a standby.
  const pg::Rows slots = session.Query(ReplicationSlotsSql(version));
  const auto inactive_column = slots.FindColumn("inactive_seconds");
  const auto wal_status_column = slots.FindColumn("wal_status");
  const auto safe_column = slots.FindColumn("safe_wal_bytes");
  std::set<std::string> seen;
  for (std::size_t row = 0; row < slots.size(); ++row) {
    Observations::Replication::Slot slot;
    slot.name = slots.Text(row, slots.Column("slot_name"));
    slot.type = slots.Text(row, slots.Column("slot_type"));
    slot.database = slots.At(row, slots.Column("database"));
    slot.active = slots.Bool(row, slots.Column("active")).value_or(false);
    slot.retained_bytes = NotNegative(slots.Number(row, slots.Column("retained_bytes")));
    if (wal_status_column) slot.wal_status = slots.At(row, *wal_status_column);
    if (safe_column) slot.safe_wal_bytes = slots.Number(row, *safe_column);
    seen.insert(slot.name);
    if (slot.active) {
      inactive_since_.erase(slot.name);
    } else {
      const auto observed = inactive_since_.try_emplace(slot.name, context.now).first->second;
      const auto server = inactive_column ? slots.Number(row, *inactive_column) : std::nullopt;
      slot.inactive_seconds = server
                                  ? std::max(0.0, *server)
                                  : std::chrono::duration<double>(context.now - observed).count();
    }
    const metrics::Labels labels = SlotLabels(slot);
    out.Add(kSlotActive, labels, slot.active ? 1 : 0);
    if (slot.retained_bytes) {
      out.Add(kSlotRetained, labels, *slot.retained_bytes);
    }
    if (slot.safe_wal_bytes) {
      out.Add(kSlotSafeWal, labels, *slot.safe_wal_bytes);
    }
    if (slot.wal_status) {
      metrics::Labels with_status = labels;
      with_status.push_back({"wal_status", *slot.wal_status});
      out.Add(kSlotWalStatus, with_status, 1);
    }
    out.Add(kSlotInactive, labels, slot.inactive_seconds);
    replication.slots.push_back(std::move(slot));
  }
  std::erase_if(inactive_since_, [&](const auto& entry) { return !seen.contains(entry.first); });

  replication.known = true;
  context.observations.replication = std::move(replication);
}

}  // namespace pgvigil::collectors
