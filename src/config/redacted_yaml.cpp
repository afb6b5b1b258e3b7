#include "config/redacted_yaml.h"

#include <yaml-cpp/yaml.h>

#include <array>
#include <charconv>
#include <type_traits>

#include "pg/dsn.h"

namespace pgvigil::config {
namespace {

void EmitSettings(YAML::Emitter& out, const TargetSettings& settings) {
  out << YAML::Key << "probe_interval" << YAML::Value << FormatDuration(settings.probe_interval);
  out << YAML::Key << "connect_probe_interval" << YAML::Value
      << FormatDuration(settings.connect_probe_interval);
  out << YAML::Key << "activity_interval" << YAML::Value
      << FormatDuration(settings.activity_interval);
  out << YAML::Key << "database_interval" << YAML::Value
      << FormatDuration(settings.database_interval);
  out << YAML::Key << "statements_interval" << YAML::Value
      << FormatDuration(settings.statements_interval);
  out << YAML::Key << "settings_interval" << YAML::Value
      << FormatDuration(settings.settings_interval);
  out << YAML::Key << "replication_interval" << YAML::Value
      << FormatDuration(settings.replication_interval);
  out << YAML::Key << "connect_timeout" << YAML::Value << FormatDuration(settings.connect_timeout);
  out << YAML::Key << "query_timeout" << YAML::Value << FormatDuration(settings.query_timeout);
  out << YAML::Key << "slow_query_threshold" << YAML::Value
      << FormatDuration(settings.slow_query_threshold);
  out << YAML::Key << "statements_top_n" << YAML::Value << settings.statements_top_n;
  out << YAML::Key << "applications_top_n" << YAML::Value << settings.applications_top_n;
  out << YAML::Key << "housekeeping_statements" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const auto& statement : settings.housekeeping_statements) out << statement;
  out << YAML::EndSeq;
  out << YAML::Key << "monitoring_roles" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const auto& role : settings.monitoring_roles) out << role;
  out << YAML::EndSeq;
  out << YAML::Key << "collectors" << YAML::Value << YAML::Flow << YAML::BeginMap;
  for (const auto& [name, enabled] : settings.collectors) {
    out << YAML::Key << name << YAML::Value << enabled;
  }
  out << YAML::EndMap;
  const LogSource& log = settings.log_source;
  out << YAML::Key << "log_source" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "path" << YAML::Value << log.path;
  out << YAML::Key << "syslog" << YAML::Value << YAML::Flow << YAML::BeginMap;
  out << YAML::Key << "listen" << YAML::Value << log.syslog.listen;
  out << YAML::Key << "udp" << YAML::Value << log.syslog.udp;
  out << YAML::Key << "tls" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "cert_file" << YAML::Value << log.syslog.tls.cert_file;
  out << YAML::Key << "key_file" << YAML::Value << log.syslog.tls.key_file;
  out << YAML::Key << "client_ca_file" << YAML::Value << log.syslog.tls.client_ca_file;
  out << YAML::EndMap;
  out << YAML::Key << "match" << YAML::Value << log.syslog.match;
  out << YAML::EndMap;
  // The token file's path only: its content is a secret.
  out << YAML::Key << "drain" << YAML::Value << YAML::Flow << YAML::BeginMap;
  out << YAML::Key << "token_file" << YAML::Value << log.drain.token_file;
  out << YAML::EndMap;
  out << YAML::Key << "sql" << YAML::Value << log.sql;
  out << YAML::Key << "log_fdw" << YAML::Value << YAML::Flow << YAML::BeginMap;
  out << YAML::Key << "server" << YAML::Value << log.log_fdw.server;
  out << YAML::Key << "schema" << YAML::Value << log.log_fdw.schema;
  out << YAML::EndMap;
  out << YAML::Key << "format" << YAML::Value << log.format;
  out << YAML::Key << "line_prefix" << YAML::Value << log.line_prefix;
  out << YAML::Key << "heartbeat" << YAML::Value << log.heartbeat;
  out << YAML::EndMap;
}

// yaml-cpp prints doubles with 17 digits (0.7 as 0.69999999999999996); the shortest text that
// reads back as the same double is what the operator wrote.
template <typename T>
void EmitNumber(YAML::Emitter& out, const T& value) {
  if constexpr (std::is_floating_point_v<T>) {
    std::array<char, 32> text{};
    const auto [end, error] = std::to_chars(text.data(), text.data() + text.size(), value);
    out << std::string(text.data(), error == std::errc() ? end : text.data());
  } else {
    out << value;
  }
}

template <typename T>
void EmitThresholds(YAML::Emitter& out, const char* name, const T& warn, const T& critical) {
  out << YAML::Key << name << YAML::Value << YAML::Flow << YAML::BeginMap;
  out << YAML::Key << "warn" << YAML::Value;
  EmitNumber(out, warn);
  out << YAML::Key << "critical" << YAML::Value;
  EmitNumber(out, critical);
  out << YAML::EndMap;
}

}  // namespace

std::string ToRedactedYaml(const Config& config) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "web" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "listen_address" << YAML::Value << config.web.listen_address;
  out << YAML::Key << "config_file" << YAML::Value << config.web.config_file;
  out << YAML::EndMap;
  out << YAML::Key << "log" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "level" << YAML::Value << config.log.level;
  out << YAML::Key << "format" << YAML::Value << config.log.format;
  out << YAML::EndMap;
  out << YAML::Key << "defaults" << YAML::Value << YAML::BeginMap;
  EmitSettings(out, config.defaults);
  out << YAML::EndMap;
  const HealthConfig& health = config.health;
  out << YAML::Key << "health" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "window" << YAML::Value << FormatDuration(health.window);
  EmitThresholds(out, "connection_usage", health.connection_usage.warn,
                 health.connection_usage.critical);
  EmitThresholds(out, "error_ratio", health.error_ratio.warn, health.error_ratio.critical);
  EmitThresholds(out, "probe_latency", FormatDuration(health.probe_latency.warn),
                 FormatDuration(health.probe_latency.critical));
  EmitThresholds(out, "mean_query_time", FormatDuration(health.mean_query_time.warn),
                 FormatDuration(health.mean_query_time.critical));
  EmitThresholds(out, "replication_lag", FormatDuration(health.replication_lag.warn),
                 FormatDuration(health.replication_lag.critical));
  EmitThresholds(out, "replication_slot_inactive",
                 FormatDuration(health.replication_slot_inactive.warn),
                 FormatDuration(health.replication_slot_inactive.critical));
  out << YAML::EndMap;
  if (!config.targets_files.empty()) {
    out << YAML::Key << "targets_files" << YAML::Value << YAML::BeginSeq;
    for (const std::string& pattern : config.targets_files) out << pattern;
    out << YAML::EndSeq;
  }
  out << YAML::Key << "targets" << YAML::Value << YAML::BeginSeq;
  for (const Target& target : config.targets) {
    out << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << target.name;
    if (target.kind == TargetKind::kPgBouncer)
      out << YAML::Key << "kind" << YAML::Value << "pgbouncer";
    out << YAML::Key << "dsn" << YAML::Value << pg::RedactDsn(target.dsn);
    if (!target.password_file.empty()) {
      out << YAML::Key << "password_file" << YAML::Value << target.password_file;
    }
    if (!target.labels.empty()) {
      out << YAML::Key << "labels" << YAML::Value << YAML::Flow << YAML::BeginMap;
      for (const auto& [name, value] : target.labels)
        out << YAML::Key << name << YAML::Value << value;
      out << YAML::EndMap;
    }
    EmitSettings(out, target.settings);
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace pgvigil::config
