#include "config/log_source_field.h"

#include <stdexcept>

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

}  // namespace

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

void EmitLogSource(YAML::Emitter& out, const LogSource& log) {
  out << YAML::BeginMap;
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

}  // namespace pgvigil::config
