#include "collectors/registry.h"

#include "collectors/activity.h"
#include "collectors/database.h"
#include "collectors/log.h"
#include "collectors/maintenance.h"
#include "collectors/pgbouncer.h"
#include "collectors/probe.h"
#include "collectors/replication.h"
#include "collectors/settings.h"
#include "collectors/statements.h"
#include "config/config.h"

namespace pgvigil::collectors {
namespace {

template <typename T>
std::unique_ptr<Collector> Make(const config::Target& target) {
  return std::make_unique<T>(target);
}

void ShareConnections(const Observations& from, Observations& to) {
  to.connections = from.connections;
}

void ShareStatements(const Observations& from, Observations& to) {
  to.statements = from.statements;
}

void ShareReplication(const Observations& from, Observations& to) {
  to.replication = from.replication;
}

void ShareMaintenance(const Observations& from, Observations& to) {
  to.maintenance = from.maintenance;
}

// Collectors whose reading depends on the cluster and the role alone.
std::string NoSettings(const config::TargetSettings&, const Observations&) { return {}; }

// What changes what the activity collector reports besides the cluster: the slow threshold and
// how many applications get series of their own.
std::string ActivityShareKey(const config::TargetSettings& settings, const Observations&) {
  return std::to_string(settings.slow_query_threshold.count()) + '|' +
         std::to_string(settings.applications_top_n);
}

// The statements collector: its top-N, what counts as housekeeping and whose statements are
// another monitor's, and whether the extension is there in the target's database.
std::string StatementsShareKey(const config::TargetSettings& settings,
                               const Observations& observations) {
  std::string key = std::to_string(settings.slow_query_threshold.count()) + '|' +
                    std::to_string(settings.statements_top_n) + '|' +
                    (observations.capabilities.pg_stat_statements ? "1" : "0");
  for (const auto& statement : settings.housekeeping_statements) key += '|' + statement;
  key += "|monitoring";
  for (const auto& role : settings.monitoring_roles) key += '|' + role;
  return key;
}

}  // namespace

bool CollectorInfo::RunsOn(config::TargetKind kind) const {
  return kind == config::TargetKind::kPgBouncer ? on_pgbouncer : on_postgres;
}

const std::vector<CollectorInfo>& CollectorTable() {
  using std::chrono::minutes;
  using std::chrono::seconds;
  static const std::vector<CollectorInfo> table = {
      {.name = "probe",
       .enabled_by_default = true,
       .interval_key = "probe_interval",
       .default_interval = seconds(5),
       .make = &Make<ProbeCollector>,
       .on_pgbouncer = true,
       .counts_late_runs = true,
       .decides_up = true,
       .metrics = ProbeMetrics()},
      {.name = "activity",
       .enabled_by_default = true,
       .interval_key = "activity_interval",
       .default_interval = seconds(10),
       .make = &Make<ActivityCollector>,
       .share = &ShareConnections,
       .share_key = &ActivityShareKey,
       .metrics = ActivityMetrics()},
      {.name = "database",
       .enabled_by_default = true,
       .interval_key = "database_interval",
       .default_interval = seconds(15),
       .make = &Make<DatabaseCollector>,
       .metrics = DatabaseMetrics()},
      {.name = "statements",
       .enabled_by_default = true,
       .interval_key = "statements_interval",
       .default_interval = seconds(30),
       .make = &Make<StatementsCollector>,
       .share = &ShareStatements,
       .share_key = &StatementsShareKey,
       .metrics = StatementsMetrics()},
      // Not shared: reset_val includes a database's own ALTER DATABASE … SET values.
      {.name = "settings",
       .enabled_by_default = true,
       .interval_key = "settings_interval",
       .default_interval = minutes(5),
       .make = &Make<SettingsCollector>,
       .metrics = SettingsMetrics()},
      // Streaming replication and slots (docs/metrics.md, replication).
      {.name = "replication",
       .enabled_by_default = true,
       .interval_key = "replication_interval",
       .default_interval = seconds(15),
       .make = &Make<ReplicationCollector>,
       // Standbys, the receiver and slots are the cluster's: one read serves its targets.
       .share = &ShareReplication,
       .share_key = &NoSettings,
       .metrics = ReplicationMetrics()},
      // Wraparound, the xmin horizon, the archiver, checkpoints and sizes: slow-moving state.
      {.name = "maintenance",
       .enabled_by_default = true,
       .interval_key = "maintenance_interval",
       .default_interval = minutes(1),
       .make = &Make<MaintenanceCollector>,
       // Every database's ages and size, the archiver, checkpoints and pg_wal: the cluster's.
       .share = &ShareMaintenance,
       .share_key = &NoSettings,
       .metrics = MaintenanceMetrics()},
      // Reads a file rather than the database; it follows the log at the probe's pace.
      {.name = "log",
       .enabled_by_default = false,
       .interval_key = "probe_interval",
       .default_interval = {},
       .make = &Make<LogCollector>,
       .metrics = LogMetrics()},
      // PgBouncer targets only: pools, clients and stats, at the pace of pg_stat_activity.
      {.name = "pgbouncer",
       .enabled_by_default = true,
       .interval_key = "activity_interval",
       .default_interval = {},
       .make = &Make<PgBouncerCollector>,
       .on_postgres = false,
       .on_pgbouncer = true,
       .metrics = PgBouncerMetrics()},
  };
  return table;
}

std::vector<IntervalSetting> IntervalSettings() {
  std::vector<IntervalSetting> settings;
  for (const auto& info : CollectorTable()) {
    if (info.default_interval == config::Duration::zero()) continue;  // follows another's
    settings.push_back({info.interval_key, info.default_interval});
  }
  return settings;
}

const CollectorInfo* FindCollector(std::string_view name) {
  for (const auto& info : CollectorTable()) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

}  // namespace pgvigil::collectors
