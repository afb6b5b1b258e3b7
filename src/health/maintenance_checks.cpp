#include "health/maintenance_checks.h"

#include <cmath>
#include <string>

namespace pgvigil::health {
namespace {

using json = nlohmann::ordered_json;
using Maintenance = collectors::Observations::Maintenance;

// Transaction and multixact IDs wrap around at 2^31.
constexpr double kWraparoundLimit = 2147483648.0;

json Optional(const std::optional<std::string>& value) {
  return value ? json(*value) : json(nullptr);
}

std::string Quoted(const std::optional<std::string>& value) {
  return "`" + value.value_or("") + "`";
}

// Why a maintenance check cannot be judged, or "" when it can.
std::string Missing(const TargetInput& input) {
  if (!input.reachable) return "the target is unreachable";
  if (!input.observations->maintenance.known) return MissingData(input, "maintenance");
  return "";
}

void AddWraparound(const TargetInput& input, const config::HealthConfig& config, Checks& checks) {
  const Maintenance& seen = input.observations->maintenance;
  if (const std::string missing = Missing(input); !missing.empty()) {
    checks.Add(Unknown("wraparound", missing), "");
    return;
  }
  if (!seen.xid_age && !seen.mxid_age) {
    checks.Add(Unknown("wraparound", "pg_database returned no database"), "");
    return;
  }
  const bool multixact = seen.mxid_age && (!seen.xid_age || seen.mxid_age->age > seen.xid_age->age);
  const Maintenance::Age& oldest = multixact ? *seen.mxid_age : *seen.xid_age;
  const double ratio = oldest.age / kWraparoundLimit;
  const Level level = LevelOf(ratio, config.wraparound.warn, config.wraparound.critical);
  const double limit =
      level == Level::kCritical ? config.wraparound.critical : config.wraparound.warn;
  checks.Add({"wraparound",
              level,
              std::nullopt,
              {{"value", Rounded(ratio)},
               {"warn", config.wraparound.warn},
               {"critical", config.wraparound.critical},
               {"database", oldest.database},
               {"kind", multixact ? "mxid" : "xid"}}},
             "database `" + oldest.database + "` has " + (multixact ? "multixact" : "xid") +
                 " age " + Grouped(oldest.age) + ", " + Format(ratio, 3) +
                 " of the 2^31 limit (> " + Format(limit, 3) +
                 "): VACUUM (FREEZE) its oldest tables, and end whatever holds the xmin horizon "
                 "(see xmin_horizon) so that vacuum can freeze");
}

std::string HolderSentence(const Maintenance::Holder& holder) {
  const std::string age = Grouped(holder.age) + " transactions back";
  const std::string since = holder.since ? " since " + *holder.since : "";
  if (holder.kind == "prepared_transaction") {
    return "prepared transaction " + Quoted(holder.gid) + " (owner " + holder.user.value_or("") +
           ") holds the xmin horizon " + age + since + "; COMMIT PREPARED or ROLLBACK PREPARED it";
  }
  if (holder.kind == "replication_slot") {
    return "replication slot " + Quoted(holder.slot) + " holds the xmin horizon " + age +
           "; start its consumer or drop it (SELECT pg_drop_replication_slot('" +
           holder.slot.value_or("") + "'))";
  }
  if (holder.kind == "standby_feedback") {
    return "standby " + Quoted(holder.standby) + " holds the xmin horizon " + age +
           " through hot_standby_feedback; end its long-running queries, or turn "
           "hot_standby_feedback off there";
  }
  const std::string pid = holder.pid ? std::to_string(std::llround(*holder.pid)) : "?";
  return "session pid " + pid + " (application " + Quoted(holder.application) + ", user " +
         holder.user.value_or("") + ", " + holder.state.value_or("unknown state") +
         ") holds the xmin horizon " + age + " in a transaction open" + since +
         "; end that transaction, or SELECT pg_terminate_backend(" + pid + ")";
}

void AddXminHorizon(const TargetInput& input, const config::HealthConfig& config, Checks& checks) {
  const Maintenance& seen = input.observations->maintenance;
  if (const std::string missing = Missing(input); !missing.empty()) {
    checks.Add(Unknown("xmin_horizon", missing), "");
    return;
  }
  if (!seen.xmin_horizon_readable) {
    checks.Add(Unknown("xmin_horizon", "the monitoring role may read none of the xmin holders"),
               "");
    return;
  }
  if (!seen.xmin_horizon) {
    checks.Add({"xmin_horizon",
                Level::kOk,
                std::nullopt,
                {{"value", 0},
                 {"warn", Count(config.xmin_horizon.warn)},
                 {"critical", Count(config.xmin_horizon.critical)},
                 {"holder", nullptr}}},
               "");
    return;
  }
  const Maintenance::Holder& holder = *seen.xmin_horizon;
  const Level level = LevelOf(holder.age, config.xmin_horizon.warn, config.xmin_horizon.critical);
  checks.Add({"xmin_horizon",
              level,
              std::nullopt,
              {{"value", Count(holder.age)},
               {"warn", Count(config.xmin_horizon.warn)},
               {"critical", Count(config.xmin_horizon.critical)},
               {"holder", holder.kind}}},
             HolderSentence(holder) + " (> " +
                 Grouped(level == Level::kCritical ? config.xmin_horizon.critical
                                                   : config.xmin_horizon.warn) +
                 ")");
}

void AddArchiver(const TargetInput& input, const config::HealthConfig& config, Checks& checks) {
  const Maintenance& seen = input.observations->maintenance;
  if (const std::string missing = Missing(input); !missing.empty()) {
    checks.Add(Unknown("archiver", missing), "");
    return;
  }
  if (!seen.archiver) {
    checks.Add(Unknown("archiver", "pg_stat_archiver is not readable by the monitoring role"), "");
    return;
  }
  const Maintenance::Archiver& archiver = *seen.archiver;
  const json ready = archiver.ready_files ? json(Count(*archiver.ready_files)) : json(nullptr);
  const std::string waiting =
      archiver.ready_files ? Grouped(*archiver.ready_files) + " segments wait in pg_wal" : "";
  if (archiver.failing) {
    checks.Add({"archiver",
                Level::kCritical,
                std::nullopt,
                {{"value", ready}, {"failing", true}, {"failed", Count(archiver.failed)}}},
               "archive_command is failing: the newest attempt" +
                   (archiver.last_failed_wal ? " (WAL " + *archiver.last_failed_wal + ")" : "") +
                   " failed" +
                   (archiver.last_failed_time ? " at " + *archiver.last_failed_time : "") + ", " +
                   Grouped(archiver.failed) + " failures counted" +
                   (waiting.empty() ? "" : ", " + waiting) +
                   "; fix archive_command (its error is in the server log) before pg_wal fills "
                   "the disk");
    return;
  }
  const double files = archiver.ready_files.value_or(0);
  const Level level =
      LevelOf(files, config.archive_ready_files.warn, config.archive_ready_files.critical);
  checks.Add({"archiver",
              level,
              std::nullopt,
              {{"value", ready},
               {"failing", false},
               {"warn", Count(config.archive_ready_files.warn)},
               {"critical", Count(config.archive_ready_files.critical)}}},
             waiting + " to be archived (> " +
                 Grouped(level == Level::kCritical ? config.archive_ready_files.critical
                                                   : config.archive_ready_files.warn) +
                 "): archive_command keeps up too slowly; make it faster or archive in parallel");
}

}  // namespace

std::string Grouped(double value) {
  const long long number = std::llround(value);
  std::string digits = std::to_string(number < 0 ? -number : number);
  for (int at = static_cast<int>(digits.size()) - 3; at > 0; at -= 3) {
    digits.insert(static_cast<std::size_t>(at), ",");
  }
  return (number < 0 ? "-" : "") + digits;
}

void AddMaintenanceChecks(const TargetInput& input, const config::HealthConfig& config,
                          Checks& checks) {
  AddWraparound(input, config, checks);
  AddXminHorizon(input, config, checks);
  AddArchiver(input, config, checks);
}

json MaintenanceJson(const TargetInput& input) {
  const Maintenance& seen = input.observations->maintenance;
  // A target that is down has no current figures: the last ones would read as today's.
  if (!input.reachable || !seen.known) return nullptr;
  auto age = [](const std::optional<Maintenance::Age>& oldest) -> json {
    if (!oldest) return nullptr;
    return {{"database", oldest->database},
            {"age", Count(oldest->age)},
            {"ratio", oldest->age / kWraparoundLimit}};
  };
  json horizon = nullptr;
  if (seen.xmin_horizon) {
    const Maintenance::Holder& holder = *seen.xmin_horizon;
    horizon = {{"holder", holder.kind},
               {"age", Count(holder.age)},
               {"pid", holder.pid ? json(Count(*holder.pid)) : json(nullptr)},
               {"application", Optional(holder.application)},
               {"user", Optional(holder.user)},
               {"slot", Optional(holder.slot)},
               {"gid", Optional(holder.gid)},
               {"since", Optional(holder.since)},
               {"state", Optional(holder.state)},
               {"standby", Optional(holder.standby)}};
  }
  json archiver = nullptr;
  if (seen.archiver) {
    const Maintenance::Archiver& a = *seen.archiver;
    archiver = {{"mode", a.mode},
                {"archived", Count(a.archived)},
                {"failed", Count(a.failed)},
                {"failing", a.failing},
                {"ready_files", a.ready_files ? json(Count(*a.ready_files)) : json(nullptr)},
                {"last_failed_wal", Optional(a.last_failed_wal)}};
  }
  return {{"xid_age", age(seen.xid_age)},
          {"mxid_age", age(seen.mxid_age)},
          {"xmin_horizon", horizon},
          {"archiver", archiver},
          {"wal_bytes", seen.wal_bytes ? json(Count(*seen.wal_bytes)) : json(nullptr)}};
}

}  // namespace pgvigil::health
