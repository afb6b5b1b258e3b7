#include "config/redacted_yaml.h"

#include <yaml-cpp/yaml.h>

#include "config/schema.h"
#include "pg/dsn.h"

namespace pgvigil::config {
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
  EmitFields(out, TargetSettingFields(), config.defaults);
  out << YAML::EndMap;
  out << YAML::Key << "health" << YAML::Value << YAML::BeginMap;
  EmitFields(out, HealthFields(), config.health);
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
    EmitFields(out, TargetSettingFields(), target.settings);
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace pgvigil::config
