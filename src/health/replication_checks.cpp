#include "health/replication_checks.h"

#include <algorithm>
#include <array>
#include <string>
#include <vector>

namespace pgvigil::health {
namespace {

using json = nlohmann::ordered_json;
using Replication = collectors::Observations::Replication;

json Optional(const std::optional<double>& value) {
  return value ? json(Rounded(*value)) : json(nullptr);
}

json OptionalText(const std::optional<std::string>& value) {
  return value ? json(*value) : json(nullptr);
}

double Seconds(config::Duration duration) {
  return std::chrono::duration<double>(duration).count();
}

// The collector's data, or why there is none.
const Replication* Known(const TargetInput& input, std::string& why) {
  const Replication& replication = input.observations->replication;
  if (!input.reachable) {
    why = "the target is unreachable";
    return nullptr;
  }
  if (!replication.known) {
    why = MissingData(input, "replication");
    return nullptr;
  }
  return &replication;
}

void AddReplicationLag(const TargetInput& input, const config::HealthConfig& config,
                       Checks& checks) {
  std::string why;
  const Replication* replication = Known(input, why);
  if (!replication) {
    checks.Add(Unknown("replication_lag", why), "");
    return;
  }
  const double warn = Seconds(config.replication_lag.warn);
  const double critical = Seconds(config.replication_lag.critical);
  json facts = {{"value_seconds", nullptr}, {"warn_seconds", warn}, {"critical_seconds", critical}};
  if (replication->in_recovery) {
    const auto& receiver = *replication->receiver;
    if (!receiver.replay_lag_seconds) {
      checks.Add(Unknown("replication_lag",
                         receiver.streaming
                             ? "no transaction has been replayed since the standby started"
                             : "the monitoring role may not read pg_stat_wal_receiver (GRANT "
                               "pg_monitor TO the monitoring role)"),
                 "");
      return;
    }
    const double lag = *receiver.replay_lag_seconds;
    const Level level = LevelOf(lag, warn, critical);
    facts["value_seconds"] = Rounded(lag);
    const bool streaming = receiver.streaming.value_or(false);
    checks.Add({"replication_lag", level, std::nullopt, facts},
               "this standby last replayed a transaction " + FormatSeconds(lag) + " ago and " +
                   (streaming ? "has " + FormatBytes(receiver.replay_lag_bytes.value_or(0)) +
                                    " received but not replayed"
                              : "is not streaming") +
                   " (> " + FormatSeconds(level == Level::kCritical ? critical : warn) + ")");
    return;
  }
  // A primary: the standby furthest behind.
  const Replication::Standby* worst = nullptr;
  for (const auto& standby : replication->standbys) {
    if (!standby.lag_seconds[2]) continue;
    if (!worst || *standby.lag_seconds[2] > *worst->lag_seconds[2]) worst = &standby;
  }
  facts["standbys"] = replication->standbys.size();
  if (!worst) {
    if (!replication->standbys.empty() && !replication->standbys.front().lag_bytes[3]) {
      checks.Add(Unknown("replication_lag",
                         "the standbys' lag is hidden from the monitoring role (GRANT pg_monitor "
                         "TO the monitoring role)"),
                 "");
    } else {
      checks.Add({"replication_lag", Level::kOk, std::nullopt, facts}, "");
    }
    return;
  }
  const double lag = *worst->lag_seconds[2];
  const Level level = LevelOf(lag, warn, critical);
  facts["value_seconds"] = Rounded(lag);
  facts["standby"] = worst->name;
  checks.Add({"replication_lag", level, std::nullopt, facts},
             "standby `" + worst->name + "` replays " + FormatSeconds(lag) + " behind (" +
                 FormatBytes(worst->lag_bytes[3].value_or(0)) + ") (> " +
                 FormatSeconds(level == Level::kCritical ? critical : warn) + ")");
}

void AddStandbyStreaming(const TargetInput& input, Checks& checks) {
  std::string why;
  const Replication* replication = Known(input, why);
  if (!replication) {
    checks.Add(Unknown("standby_streaming", why), "");
    return;
  }
  if (!replication->in_recovery) {
    checks.Add({"standby_streaming", Level::kOk, std::nullopt, {{"role", "primary"}}}, "");
    return;
  }
  const auto& receiver = *replication->receiver;
  if (!receiver.streaming) {
    checks.Add(Unknown("standby_streaming",
                       "the monitoring role may not read pg_stat_wal_receiver (GRANT pg_monitor "
                       "TO the monitoring role)"),
               "");
    return;
  }
  json facts = {{"value", *receiver.streaming ? 1 : 0},
                {"status", receiver.status.empty() ? json(nullptr) : json(receiver.status)}};
  if (*receiver.streaming) {
    checks.Add({"standby_streaming", Level::kOk, std::nullopt, facts}, "");
    return;
  }
  std::string reason = receiver.status.empty()
                           ? "no WAL receiver runs on this standby"
                           : "the WAL receiver is `" + receiver.status + "`, not streaming";
  if (receiver.last_message_age_seconds) {
    reason += "; it last heard from " + receiver.sender.value_or("its upstream") + " " +
              FormatSeconds(*receiver.last_message_age_seconds) + " ago";
  }
  if (receiver.since_last_replay_seconds) {
    reason += "; the last transaction replayed is " +
              FormatSeconds(*receiver.since_last_replay_seconds) + " old";
  }
  reason +=
      ": check that the upstream server runs and accepts replication connections "
      "(primary_conninfo), and the standby's server log";
  checks.Add({"standby_streaming", Level::kCritical, std::nullopt, facts}, reason);
}

std::string KeepSize(const Replication& replication) {
  if (!replication.max_slot_wal_keep_size) return "";
  if (*replication.max_slot_wal_keep_size == "-1") return "; max_slot_wal_keep_size is unset";
  return "; max_slot_wal_keep_size is " + *replication.max_slot_wal_keep_size;
}

void AddReplicationSlots(const TargetInput& input, const config::HealthConfig& config,
                         Checks& checks) {
  std::string why;
  const Replication* replication = Known(input, why);
  if (!replication) {
    checks.Add(Unknown("replication_slots", why), "");
    return;
  }
  const double warn = Seconds(config.replication_slot_inactive.warn);
  const double critical = Seconds(config.replication_slot_inactive.critical);
  Level worst = Level::kOk;
  std::vector<std::pair<Level, std::string>> findings;
  std::size_t inactive = 0;
  double retained = 0;
  for (const auto& slot : replication->slots) {
    retained = std::max(retained, slot.retained_bytes.value_or(0));
    if (!slot.active) ++inactive;
    const std::string name = "slot `" + slot.name + "`";
    if (slot.wal_status == "lost") {
      findings.emplace_back(Level::kCritical,
                            name + " has lost WAL its consumer needs (wal_status lost): the " +
                                slot.type +
                                " consumer cannot resume from it; re-create the slot and its "
                                "standby or subscription");
      continue;
    }
    if (slot.wal_status == "unreserved") {
      findings.emplace_back(
          Level::kCritical,
          name + " retains " + FormatBytes(slot.retained_bytes.value_or(0)) +
              ", more than max_slot_wal_keep_size (" +
              replication->max_slot_wal_keep_size.value_or("?") +
              ") allows (wal_status unreserved): it is lost at the next checkpoint unless its "
              "consumer catches up");
      continue;
    }
    if (slot.active || slot.retained_bytes.value_or(0) <= 0) continue;
    const Level level = LevelOf(slot.inactive_seconds, warn, critical);
    if (level == Level::kOk) continue;
    findings.emplace_back(
        level, name + " inactive for " + FormatSeconds(slot.inactive_seconds) + " retains " +
                   FormatBytes(*slot.retained_bytes) + KeepSize(*replication) + " (inactive > " +
                   FormatSeconds(level == Level::kCritical ? critical : warn) + ")");
  }
  std::stable_sort(findings.begin(), findings.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::string reason;
  for (const auto& [level, text] : findings) {
    worst = std::max(worst, level);
    reason += (reason.empty() ? "" : "; ") + text;
  }
  checks.Add({"replication_slots",
              worst,
              std::nullopt,
              {{"slots", replication->slots.size()},
               {"inactive", inactive},
               {"max_retained_bytes", Count(retained)},
               {"warn_seconds", warn},
               {"critical_seconds", critical}}},
             reason);
}

}  // namespace

std::string FormatBytes(double bytes) {
  constexpr std::array<const char*, 4> kUnits = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return Format(bytes, 0) + " B";
  double value = bytes;
  std::size_t unit = 0;
  value /= 1024;
  while (value >= 1024 && unit + 1 < kUnits.size()) {
    value /= 1024;
    ++unit;
  }
  return Format(value, value < 10 ? 1 : 0) + " " + kUnits[unit];
}

std::string FormatSeconds(double seconds) {
  if (seconds < 120) return Format(seconds, seconds < 10 ? 1 : 0) + " s";
  if (seconds < 7200) return Format(seconds / 60, 0) + " min";
  if (seconds < 172800) return Format(seconds / 3600, 1) + " h";
  return Format(seconds / 86400, 1) + " d";
}

void AddReplicationChecks(const TargetInput& input, const config::HealthConfig& config,
                          Checks& checks) {
  AddReplicationLag(input, config, checks);
  AddStandbyStreaming(input, checks);
  AddReplicationSlots(input, config, checks);
}

json ReplicationJson(const TargetInput& input) {
  const Replication& replication = input.observations->replication;
  if (!input.reachable || !replication.known) return nullptr;
  json standbys = json::array();
  for (const auto& standby : replication.standbys) {
    standbys.push_back(
        {{"name", standby.name},
         {"client_addr", OptionalText(standby.client_addr)},
         {"state", standby.state.empty() ? json(nullptr) : json(standby.state)},
         {"sync_state", standby.sync_state.empty() ? json(nullptr) : json(standby.sync_state)},
         {"lag_bytes",
          {{"sent", Optional(standby.lag_bytes[0])},
           {"write", Optional(standby.lag_bytes[1])},
           {"flush", Optional(standby.lag_bytes[2])},
           {"replay", Optional(standby.lag_bytes[3])}}},
         {"lag_seconds",
          {{"write", Optional(standby.lag_seconds[0])},
           {"flush", Optional(standby.lag_seconds[1])},
           {"replay", Optional(standby.lag_seconds[2])}}}});
  }
  json receiver = nullptr;
  if (replication.receiver) {
    const auto& r = *replication.receiver;
    receiver = {{"streaming", r.streaming ? json(*r.streaming) : json(nullptr)},
                {"status", r.status.empty() ? json(nullptr) : json(r.status)},
                {"sender", OptionalText(r.sender)},
                {"last_message_age_seconds", Optional(r.last_message_age_seconds)},
                {"replay_lag_bytes", Optional(r.replay_lag_bytes)},
                {"replay_lag_seconds", Optional(r.replay_lag_seconds)}};
  }
  json slots = json::array();
  for (const auto& slot : replication.slots) {
    slots.push_back({{"name", slot.name},
                     {"type", slot.type},
                     {"database", OptionalText(slot.database)},
                     {"active", slot.active},
                     {"retained_bytes", Optional(slot.retained_bytes)},
                     {"wal_status", OptionalText(slot.wal_status)},
                     {"safe_wal_bytes", Optional(slot.safe_wal_bytes)},
                     {"inactive_seconds", Rounded(slot.inactive_seconds)}});
  }
  return {{"role", replication.in_recovery ? "standby" : "primary"},
          {"standbys", std::move(standbys)},
          {"receiver", std::move(receiver)},
          {"slots", std::move(slots)}};
}

void AddReplicationNotes(const TargetInput& input, json& notes) {
  const Replication& replication = input.observations->replication;
  if (!input.reachable || !replication.known) return;
  for (const auto& note : replication.notes) notes.push_back(note);
}

}  // namespace pgvigil::health
