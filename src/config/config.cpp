#include "config/config.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "collectors/registry.h"
#include "config/listen_address.h"
#include "config/settings_reader.h"
#include "config/targets_files.h"
#include "config/yaml_reader.h"
#include "pg/dsn.h"

namespace pgvigil::config {
namespace {

// Labels the agent itself puts on target series; a constant label must not shadow them.
const std::set<std::string> kReservedLabels = {"target",   "job",
                                               "instance", "datname",
                                               "usename",  "user",
                                               "state",    "collector",
                                               "reason",   "queryid",
                                               "severity", "sqlstate_class",
                                               "version",  "server_version_num",
                                               "le"};

bool IsLabelName(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

bool IsTargetName(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

// A file's whole text; ConfigError "<path>: cannot open <what>" if it cannot be read.
std::string ReadText(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot open " + what);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Walks one YAML document and turns it into a Config, failing with file:line: key: reason.
class Reader : public YamlReader {
 public:
  using YamlReader::YamlReader;

  Thresholds RatioThresholds(const YAML::Node& node, const std::string& path,
                             Thresholds thresholds) const {
    ForEachKey(node, path, {"warn", "critical"},
               [&](const std::string& key, const YAML::Node& value, const std::string& p) {
                 double number = Number(value, p);
                 if (number < 0 || number > 1) Fail(value, p, "expected a ratio from 0 to 1");
                 (key == "warn" ? thresholds.warn : thresholds.critical) = number;
               });
    if (thresholds.warn >= thresholds.critical) {
      Fail(node, path, "warn must be below critical");
    }
    return thresholds;
  }

  DurationThresholds LatencyThresholds(const YAML::Node& node, const std::string& path,
                                       DurationThresholds thresholds) const {
    ForEachKey(node, path, {"warn", "critical"},
               [&](const std::string& key, const YAML::Node& value, const std::string& p) {
                 (key == "warn" ? thresholds.warn : thresholds.critical) = DurationValue(value, p);
               });
    if (thresholds.warn >= thresholds.critical) {
      Fail(node, path, "warn must be below critical");
    }
    return thresholds;
  }

  Target ReadTarget(const YAML::Node& node, const std::string& path,
                    const TargetSettings& defaults) const {
    Target target;
    target.settings = defaults;
    std::vector<std::string> keys = {"name", "kind", "dsn", "password_file", "labels"};
    keys.insert(keys.end(), SettingKeys().begin(), SettingKeys().end());
    ForEachKey(node, path, keys,
               [&](const std::string& key, const YAML::Node& value, const std::string& p) {
                 if (key == "name") {
                   target.name = String(value, p);
                   if (!IsTargetName(target.name)) {
                     Fail(value, p, "expected letters, digits, '_', '-' or '.'");
                   }
                 } else if (key == "kind") {
                   const std::string kind = String(value, p);
                   if (kind == "postgres") {
                     target.kind = TargetKind::kPostgres;
                   } else if (kind == "pgbouncer") {
                     target.kind = TargetKind::kPgBouncer;
                   } else {
                     Fail(value, p, "expected postgres or pgbouncer, got '" + kind + "'");
                   }
                 } else if (key == "dsn") {
                   target.dsn = String(value, p);
                   if (std::string error = pg::DsnError(target.dsn); !error.empty()) {
                     Fail(value, p, "not a libpq connection string: " + error);
                   }
                 } else if (key == "password_file") {
                   target.password_file = String(value, p);
                   target.password = ReadPasswordFile(value, p, target.password_file);
                 } else if (key == "labels") {
                   ForEachKey(
                       value, p, {},
                       [&](const std::string& label, const YAML::Node& v, const std::string& lp) {
                         if (!IsLabelName(label) || label.starts_with("__")) {
                           Fail(v, lp, "not a valid Prometheus label name");
                         }
                         if (kReservedLabels.contains(label)) {
                           Fail(v, lp, "label name is used by the agent's own series");
                         }
                         target.labels.emplace_back(label, String(v, lp));
                       });
                 } else {
                   ReadSetting(*this, value, key, p, target.settings);
                 }
               });
    if (target.name.empty()) Fail(node, path + ".name", "every target needs a name");
    return target;
  }

  Config Read(const YAML::Node& root) const {
    Config config;
    config.source = source();
    config.defaults = DefaultSettings();
    if (!root.IsDefined() || root.IsNull()) Fail(root, "(top level)", "the file is empty");
    // `defaults` must be known before targets inherit from it, wherever it stands in the file.
    if (root.IsMap() && root["defaults"]) {
      ForEachKey(root["defaults"], "defaults", SettingKeys(),
                 [&](const std::string& key, const YAML::Node& value, const std::string& p) {
                   ReadSetting(*this, value, key, p, config.defaults);
                 });
    }
    ForEachKey(root, "", {"web", "log", "defaults", "health", "targets", "targets_files"},
               [&](const std::string& key, const YAML::Node& value, const std::string& path) {
                 if (key == "web") ReadWeb(value, path, config.web);
                 if (key == "log") ReadLog(value, path, config.log);
                 if (key == "health") ReadHealth(value, path, config.health);
                 if (key == "targets") ReadTargets(value, path, config);
                 if (key == "targets_files") {
                   if (!value.IsSequence()) Fail(value, path, "expected a list of file globs");
                   for (std::size_t i = 0; i < value.size(); ++i) {
                     const std::string item = path + "[" + std::to_string(i) + "]";
                     std::string pattern = String(value[i], item);
                     if (pattern.empty()) Fail(value[i], item, "expected a file glob");
                     config.targets_files.push_back(std::move(pattern));
                   }
                 }
               });
    for (const std::string& file : MatchTargetFiles(config)) {
      ReadTargetFile(file, config);
    }
    if (config.targets.empty() && config.targets_files.empty()) {
      Fail(root, "targets", "expected at least one target (or run without --config.file)");
    }
    return config;
  }

  // A file of targets: a YAML list of targets as under `targets`, whose names must be unique
  // among all the agent's targets. Errors name that file and its line.
  static void ReadTargetFile(const std::string& file, Config& config) {
    ReadYaml(ReadTargetsFile(file), file, [&](const YAML::Node& root) {
      if (!root.IsDefined() || root.IsNull()) return;  // an empty file: no targets yet
      Reader(file).ReadTargets(root, "(targets file)", config);
    });
  }

 private:
  void ReadWeb(const YAML::Node& node, const std::string& path, WebSettings& web) const {
    ForEachKey(node, path, {"listen_address", "config_file"},
               [&](const std::string& key, const YAML::Node& value, const std::string& p) {
                 if (key == "listen_address") {
                   web.listen_address = String(value, p);
                   try {
                     (void)ParseListenAddress(web.listen_address);
                   } catch (const ConfigError& error) {
                     Fail(value, p, error.what());
                   }
                 }
                 if (key == "config_file") web.config_file = String(value, p);
               });
  }

  void ReadLog(const YAML::Node& node, const std::string& path, LogSettings& log) const {
    ForEachKey(node, path, {"level", "format"},
               [&](const std::string& key, const YAML::Node& value, const std::string& p) {
                 if (key == "level")
                   log.level = OneOf(value, p, {"debug", "info", "warn", "error"});
                 if (key == "format")
                   log.format = LogFormat(OneOf(value, p, {"logfmt", "text", "json"}));
               });
  }

  void ReadHealth(const YAML::Node& node, const std::string& path, HealthConfig& health) const {
    ForEachKey(node, path,
               {"window", "connection_usage", "error_ratio", "probe_latency", "mean_query_time",
                "replication_lag", "replication_slot_inactive"},
               [&](const std::string& key, const YAML::Node& value, const std::string& p) {
                 if (key == "window") health.window = PositiveDuration(value, p);
                 if (key == "connection_usage") {
                   health.connection_usage = RatioThresholds(value, p, health.connection_usage);
                 }
                 if (key == "error_ratio")
                   health.error_ratio = RatioThresholds(value, p, health.error_ratio);
                 if (key == "probe_latency") {
                   health.probe_latency = LatencyThresholds(value, p, health.probe_latency);
                 }
                 if (key == "mean_query_time") {
                   health.mean_query_time = LatencyThresholds(value, p, health.mean_query_time);
                 }
                 if (key == "replication_lag") {
                   health.replication_lag = LatencyThresholds(value, p, health.replication_lag);
                 }
                 if (key == "replication_slot_inactive") {
                   health.replication_slot_inactive =
                       LatencyThresholds(value, p, health.replication_slot_inactive);
                 }
               });
  }

  void ReadTargets(const YAML::Node& node, const std::string& path, Config& config) const {
    if (node.IsNull()) return;  // `targets:` with none (they may all come from targets_files)
    if (!node.IsSequence()) Fail(node, path, "expected a list of targets");
    std::set<std::string> names;
    for (const Target& known : config.targets) names.insert(known.name);
    for (std::size_t i = 0; i < node.size(); ++i) {
      const std::string item_path = path + "[" + std::to_string(i) + "]";
      Target target = ReadTarget(node[i], item_path, config.defaults);
      if (!names.insert(target.name).second) {
        Fail(node[i], item_path + ".name", "duplicate target name '" + target.name + "'");
      }
      config.targets.push_back(std::move(target));
    }
  }
};

}  // namespace

std::string LogFormat(const std::string& name) { return name == "text" ? "logfmt" : name; }

std::vector<std::string> DefaultHousekeepingStatements() {
  return {"SELECT 1",  "BEGIN *",      "START TRANSACTION *", "COMMIT *", "END *",   "ROLLBACK *",
          "ABORT *",   "SAVEPOINT *",  "RELEASE *",           "SET *",    "RESET *", "SHOW *",
          "DISCARD *", "DEALLOCATE *", "UNLISTEN *",          "CLOSE ALL"};
}

TargetSettings DefaultSettings() {
  TargetSettings settings;
  for (const auto& info : collectors::CollectorTable()) {
    settings.collectors[std::string(info.name)] = info.enabled_by_default;
  }
  return settings;
}

Config LoadString(const std::string& text, const std::string& source) {
  return ReadYaml(text, source, [&](const YAML::Node& root) { return Reader(source).Read(root); });
}

Config LoadFile(const std::string& path) { return LoadString(ReadText(path, "config file"), path); }

Config ZeroConfig() {
  Config config;
  config.defaults = DefaultSettings();
  Target target;
  target.name = "default";
  if (const char* dsn = std::getenv("PGVIGIL_DSN")) {
    target.dsn = dsn;
    if (std::string error = pg::DsnError(target.dsn); !error.empty()) {
      throw ConfigError("PGVIGIL_DSN: not a libpq connection string: " + error);
    }
  }
  target.settings = config.defaults;
  config.targets.push_back(std::move(target));
  return config;
}

}  // namespace pgvigil::config
