#include "collectors/registry.h"

#include "collectors/activity.h"
#include "collectors/database.h"
#include "collectors/log.h"
#include "collectors/pgbouncer.h"
#include "collectors/probe.h"
#include "collectors/replication.h"
#include "collectors/settings.h"
#include "collectors/statements.h"

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
  to.capabilities.pg_stat_statements = from.capabilities.pg_stat_statements;
}

}  // namespace

const std::vector<CollectorInfo>& CollectorTable() {
  static const std::vector<CollectorInfo> table = {
      {"probe", true, &config::TargetSettings::probe_interval, &Make<ProbeCollector>, true, true},
      {"activity", true, &config::TargetSettings::activity_interval, &Make<ActivityCollector>, true,
       false, &ShareConnections},
      {"database", true, &config::TargetSettings::database_interval, &Make<DatabaseCollector>},
      {"statements", true, &config::TargetSettings::statements_interval, &Make<StatementsCollector>,
       true, false, &ShareStatements},
      // Not shared: reset_val includes a database's own ALTER DATABASE … SET values.
      {"settings", true, &config::TargetSettings::settings_interval, &Make<SettingsCollector>},
      // Reads a file rather than the database; it follows the log at the probe's pace.
      {"log", false, &config::TargetSettings::probe_interval, &Make<LogCollector>},
      // PgBouncer targets only: pools, clients and stats, at the pace of pg_stat_activity.
      {"pgbouncer", true, &config::TargetSettings::activity_interval, &Make<PgBouncerCollector>,
       false, true},
      // Streaming replication and slots (docs/metrics.md, replication).
      {"replication", true, &config::TargetSettings::replication_interval,
       &Make<ReplicationCollector>},
  };
  return table;
}

}  // namespace pgvigil::collectors
