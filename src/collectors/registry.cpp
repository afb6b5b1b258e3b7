#include "collectors/registry.h"

#include "collectors/activity.h"
#include "collectors/database.h"
#include "collectors/log.h"
#include "collectors/probe.h"
#include "collectors/settings.h"
#include "collectors/statements.h"

namespace pgvigil::collectors {
namespace {

template <typename T>
std::unique_ptr<Collector> Make(const config::Target& target) {
  return std::make_unique<T>(target);
}

}  // namespace

const std::vector<CollectorInfo>& CollectorTable() {
  static const std::vector<CollectorInfo> table = {
      {"probe", true, &config::TargetSettings::probe_interval, &Make<ProbeCollector>},
      {"activity", true, &config::TargetSettings::activity_interval, &Make<ActivityCollector>},
      {"database", true, &config::TargetSettings::database_interval, &Make<DatabaseCollector>},
      {"statements", true, &config::TargetSettings::statements_interval,
       &Make<StatementsCollector>},
      {"settings", true, &config::TargetSettings::settings_interval, &Make<SettingsCollector>},
      // Reads a file rather than the database; it follows the log at the probe's pace.
      {"log", false, &config::TargetSettings::probe_interval, &Make<LogCollector>},
  };
  return table;
}

}  // namespace pgvigil::collectors
