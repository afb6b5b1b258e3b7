#include "config/settings_reader.h"

#include <stdexcept>

#include "collectors/registry.h"
#include "config/listen_address.h"
#include "logs/line_prefix.h"

namespace pgvigil::config {
namespace {

std::string PresetList() {
  std::string list;
  for (const auto& name : logs::PresetNames()) list += (list.empty() ? "" : ", ") + name;
  return list;
}

void ReadSyslog(const YamlReader& reader, const YAML::Node& node, const std::string& path,
                SyslogSource& syslog) {
  reader.ForEachKey(node, path, {"listen", "udp", "tls", "match"},
                    [&](const std::string& k, const YAML::Node& value, const std::string& p) {
                      if (k == "listen") {
                        syslog.listen = reader.String(value, p);
                        if (!syslog.listen.empty()) {
                          try {
                            (void)ParseListenAddress(syslog.listen);
                          } catch (const ConfigError& e) {
                            reader.Fail(value, p, e.what());
                          }
                        }
                      }
                      if (k == "udp") syslog.udp = reader.Bool(value, p);
                      if (k == "match") syslog.match = reader.String(value, p);
                      if (k == "tls") {
                        reader.ForEachKey(
                            value, p, {"cert_file", "key_file", "client_ca_file"},
                            [&](const std::string& t, const YAML::Node& v, const std::string& tp) {
                              if (t == "cert_file") syslog.tls.cert_file = reader.String(v, tp);
                              if (t == "key_file") syslog.tls.key_file = reader.String(v, tp);
                              if (t == "client_ca_file")
                                syslog.tls.client_ca_file = reader.String(v, tp);
                            });
                        const auto& tls = syslog.tls;
                        if (tls.cert_file.empty() != tls.key_file.empty()) {
                          reader.Fail(value, p, "expected both cert_file and key_file, or neither");
                        }
                        if (!tls.client_ca_file.empty() && tls.cert_file.empty()) {
                          reader.Fail(value, p, "client_ca_file needs cert_file and key_file");
                        }
                      }
                    });
}

void ReadLogSource(const YamlReader& reader, const YAML::Node& node, const std::string& path,
                   LogSource& source) {
  reader.ForEachKey(
      node, path,
      {"path", "syslog", "drain", "sql", "log_fdw", "format", "line_prefix", "heartbeat"},
      [&](const std::string& k, const YAML::Node& value, const std::string& p) {
        if (k == "path") source.path = reader.String(value, p);
        if (k == "format") source.format = reader.OneOf(value, p, {"jsonlog", "csvlog", "stderr"});
        if (k == "sql") source.sql = reader.OneOf(value, p, {"", "pg_read_file", "log_fdw"});
        if (k == "log_fdw") {
          reader.ForEachKey(value, p, {"server", "schema"},
                            [&](const std::string& fk, const YAML::Node& v, const std::string& fp) {
                              std::string& name =
                                  fk == "server" ? source.log_fdw.server : source.log_fdw.schema;
                              name = reader.String(v, fp);
                              if (name.empty()) reader.Fail(v, fp, "expected a name");
                            });
        }
        if (k == "heartbeat") source.heartbeat = reader.Bool(value, p);
        if (k == "line_prefix") {
          source.line_prefix = reader.String(value, p);
          try {
            (void)logs::LinePrefix(source.line_prefix);
          } catch (const std::invalid_argument& e) {
            reader.Fail(value, p, std::string(e.what()) + " (or a preset: " + PresetList() + ")");
          }
        }
        if (k == "syslog") ReadSyslog(reader, value, p, source.syslog);
        if (k == "drain") {
          reader.ForEachKey(value, p, {"token_file"},
                            [&](const std::string&, const YAML::Node& v, const std::string& tp) {
                              source.drain.token_file = reader.String(v, tp);
                              source.drain.token =
                                  source.drain.token_file.empty()
                                      ? std::string()
                                      : reader.ReadPasswordFile(v, tp, source.drain.token_file);
                              if (!source.drain.token_file.empty() && source.drain.token.empty()) {
                                reader.Fail(v, tp, "the token file is empty");
                              }
                            });
        }
      });
  const int sources = !source.path.empty() + !source.syslog.listen.empty() +
                      !source.drain.token_file.empty() + !source.sql.empty();
  if (sources > 1) {
    reader.Fail(node, path,
                "expected one log source (path, syslog.listen, drain.token_file or sql), got " +
                    std::to_string(sources));
  }
  if (source.sql == "log_fdw" && source.format == "jsonlog") {
    reader.Fail(node, path,
                "log_fdw reads csvlog or stderr files: set format to csvlog (preferred) or stderr");
  }
}

}  // namespace

const std::vector<std::string>& SettingKeys() {
  static const std::vector<std::string> keys = {
      "probe_interval",      "connect_probe_interval",  "activity_interval",
      "database_interval",   "statements_interval",     "settings_interval",
      "connect_timeout",     "query_timeout",           "slow_query_threshold",
      "statements_top_n",    "applications_top_n",      "collectors",
      "log_source",          "housekeeping_statements", "monitoring_roles",
      "replication_interval"};
  return keys;
}

namespace {

// A YAML list of non-empty strings ("a list of statements", "a list of role names").
std::vector<std::string> NonEmptyStrings(const YamlReader& reader, const YAML::Node& node,
                                         const std::string& path, const std::string& what) {
  if (!node.IsSequence()) reader.Fail(node, path, "expected a list of " + what + "s");
  std::vector<std::string> items;
  for (std::size_t i = 0; i < node.size(); ++i) {
    const std::string item_path = path + "[" + std::to_string(i) + "]";
    std::string item = reader.String(node[i], item_path);
    if (item.empty()) reader.Fail(node[i], item_path, "expected a " + what + ", got nothing");
    items.push_back(std::move(item));
  }
  return items;
}

}  // namespace

void ReadSetting(const YamlReader& reader, const YAML::Node& node, const std::string& key,
                 const std::string& path, TargetSettings& settings) {
  if (key == "probe_interval") {
    settings.probe_interval = reader.PositiveDuration(node, path);
  } else if (key == "connect_probe_interval") {
    settings.connect_probe_interval = reader.DurationValue(node, path);
  } else if (key == "activity_interval") {
    settings.activity_interval = reader.PositiveDuration(node, path);
  } else if (key == "database_interval") {
    settings.database_interval = reader.PositiveDuration(node, path);
  } else if (key == "statements_interval") {
    settings.statements_interval = reader.PositiveDuration(node, path);
  } else if (key == "settings_interval") {
    settings.settings_interval = reader.PositiveDuration(node, path);
  } else if (key == "replication_interval") {
    settings.replication_interval = reader.PositiveDuration(node, path);
  } else if (key == "connect_timeout") {
    settings.connect_timeout = reader.PositiveDuration(node, path);
  } else if (key == "query_timeout") {
    settings.query_timeout = reader.PositiveDuration(node, path);
  } else if (key == "slow_query_threshold") {
    settings.slow_query_threshold = reader.PositiveDuration(node, path);
  } else if (key == "statements_top_n") {
    settings.statements_top_n = reader.Integer(node, path, 1, 10000);
  } else if (key == "applications_top_n") {
    settings.applications_top_n = reader.Integer(node, path, 1, 1000);
  } else if (key == "housekeeping_statements") {
    settings.housekeeping_statements = NonEmptyStrings(reader, node, path, "statement");
  } else if (key == "monitoring_roles") {
    settings.monitoring_roles = NonEmptyStrings(reader, node, path, "role name");
  } else if (key == "collectors") {
    std::vector<std::string> names;
    for (const auto& info : collectors::CollectorTable()) names.emplace_back(info.name);
    reader.ForEachKey(node, path, names,
                      [&](const std::string& name, const YAML::Node& value, const std::string& p) {
                        settings.collectors[name] = reader.Bool(value, p);
                      });
  } else if (key == "log_source") {
    ReadLogSource(reader, node, path, settings.log_source);
  }
}

}  // namespace pgvigil::config
