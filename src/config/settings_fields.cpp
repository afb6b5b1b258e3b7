#include <array>
#include <charconv>

#include "collectors/registry.h"
#include "config/log_source_field.h"
#include "config/schema.h"

namespace pgvigil::config {
namespace {

// An interval setting of the collector table: its key and default come from there.
Field<TargetSettings> IntervalField(std::string key) {
  return {key,
          [key](const YamlReader& r, const YAML::Node& n, const std::string& p, TargetSettings& s) {
            s.intervals[key] = r.PositiveDuration(n, p);
          },
          [key](YAML::Emitter& out, const TargetSettings& s) {
            out << FormatDuration(s.Interval(key));
          }};
}

Field<TargetSettings> CollectorsField() {
  return {"collectors",
          [](const YamlReader& r, const YAML::Node& n, const std::string& p, TargetSettings& s) {
            std::vector<std::string> names;
            for (const auto& info : collectors::CollectorTable()) names.emplace_back(info.name);
            r.ForEachKey(n, p, names,
                         [&](const std::string& name, const YAML::Node& v, const std::string& vp) {
                           s.collectors[name] = r.Bool(v, vp);
                         });
          },
          [](YAML::Emitter& out, const TargetSettings& s) {
            out << YAML::Flow << YAML::BeginMap;
            for (const auto& [name, enabled] : s.collectors) {
              out << YAML::Key << name << YAML::Value << enabled;
            }
            out << YAML::EndMap;
          }};
}

Fields<TargetSettings> MakeTargetSettingFields() {
  using S = TargetSettings;
  Fields<S> fields;
  // The first interval is the probe's: connect_probe_interval reads best beside it.
  for (const auto& interval : collectors::IntervalSettings()) {
    fields.push_back(IntervalField(std::string(interval.key)));
    if (fields.size() == 1) {
      fields.push_back(DurationField("connect_probe_interval", &S::connect_probe_interval,
                                     /*positive=*/false));
    }
  }
  fields.push_back(DurationField("connect_timeout", &S::connect_timeout, true));
  fields.push_back(DurationField("query_timeout", &S::query_timeout, true));
  fields.push_back(DurationField("slow_query_threshold", &S::slow_query_threshold, true));
  fields.push_back(IntegerField("statements_top_n", &S::statements_top_n, 1, 10000));
  fields.push_back(IntegerField("applications_top_n", &S::applications_top_n, 1, 1000));
  fields.push_back(StringListField("housekeeping_statements", &S::housekeeping_statements,
                                   std::string("statement")));
  fields.push_back(
      StringListField("monitoring_roles", &S::monitoring_roles, std::string("role name")));
  fields.push_back(CollectorsField());
  fields.push_back({"log_source",
                    [](const YamlReader& r, const YAML::Node& n, const std::string& p, S& s) {
                      ReadLogSource(r, n, p, s.log_source);
                    },
                    [](YAML::Emitter& out, const S& s) { EmitLogSource(out, s.log_source); }});
  return fields;
}

}  // namespace

const Fields<TargetSettings>& TargetSettingFields() {
  static const Fields<TargetSettings> fields = MakeTargetSettingFields();
  return fields;
}

const Fields<HealthConfig>& HealthFields() {
  using H = HealthConfig;
  static const Fields<H> fields = {
      DurationField("window", &H::window, /*positive=*/true),
      ThresholdsField("connection_usage", &H::connection_usage, 0, 1),
      ThresholdsField("error_ratio", &H::error_ratio, 0, 1),
      DurationThresholdsField("probe_latency", &H::probe_latency),
      DurationThresholdsField("mean_query_time", &H::mean_query_time),
      DurationThresholdsField("replication_lag", &H::replication_lag),
      DurationThresholdsField("replication_slot_inactive", &H::replication_slot_inactive),
      ThresholdsField("wraparound", &H::wraparound, 0, 1),
      ThresholdsField("xmin_horizon", &H::xmin_horizon, 0, 2147483647, /*whole=*/true),
      ThresholdsField("archive_ready_files", &H::archive_ready_files, 0, 2147483647,
                      /*whole=*/true),
  };
  return fields;
}

void EmitDouble(YAML::Emitter& out, double value) {
  std::array<char, 32> text{};
  const auto [end, error] = std::to_chars(text.data(), text.data() + text.size(), value);
  out << std::string(text.data(), error == std::errc() ? end : text.data());
}

}  // namespace pgvigil::config
