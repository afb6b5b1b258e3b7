#include "collectors/registry.h"

#include "collectors/activity.h"
#include "collectors/probe.h"
#include "collectors/settings.h"

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
      {"settings", true, &config::TargetSettings::settings_interval, &Make<SettingsCollector>},
  };
  return table;
}

}  // namespace pgvigil::collectors
