#pragma once

#include <optional>
#include <span>
#include <string>

#include "collectors/collector.h"

namespace pgvigil::collectors {

// The series the settings collector exports (docs/metrics.md).
[[nodiscard]] std::span<const metrics::Descriptor> SettingsMetrics();

// pg_settings (the limits that matter, in base units), the server's identity and each
// database's connection limit. These change rarely; the default interval is 5 minutes.
class SettingsCollector final : public Collector {
 public:
  explicit SettingsCollector(const config::Target& /*target*/) {}
  void Collect(CollectContext& context, metrics::FamilySet& out) override;
};

// A pg_settings value converted to base units (bytes, seconds) from its `unit` column.
struct SettingValue {
  std::string metric_suffix;  // "", "_bytes" or "_seconds"
  double value = 0;
};
[[nodiscard]] std::optional<SettingValue> ConvertSetting(const std::string& setting,
                                                         const std::string& unit,
                                                         const std::string& vartype);

// pg_settings name -> metric name ("pg_stat_statements.max" ->
// "pg_settings_pg_stat_statements_max").
[[nodiscard]] std::string SettingMetricName(const std::string& name, const SettingValue& value);

}  // namespace pgvigil::collectors
