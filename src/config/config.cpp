#include "config/config.h"

#include <glob.h>
#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "collectors/registry.h"
#include "logs/line_prefix.h"
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

constexpr std::uintmax_t kMaxTargetsFileBytes = 64 << 20;

// A file's whole text; ConfigError "<path>: cannot open <what>" if it cannot be read.
std::string ReadText(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot open " + what);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Parses one YAML document and hands it to `read`. Malformed YAML, and anything yaml-cpp still
// throws while reading (a conversion the reader did not foresee), are config errors naming
// `source` and the line, never an abort: at start that is exit 2, on SIGHUP a rejected reload.
template <typename Read>
auto ReadYaml(const std::string& text, const std::string& source, Read read) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(source + ":" + std::to_string(e.mark.line + 1) +
                      ": malformed YAML: " + e.msg);
  }
  try {
    return read(root);
  } catch (const YAML::Exception& e) {
    throw ConfigError(source + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

// The files the config's targets_files globs match, sorted, relative globs resolved against
// the config file's directory.
std::vector<std::string> MatchTargetFiles(const Config& config) {
  std::vector<std::string> files;
  const std::filesystem::path base = config.source.empty()
                                         ? std::filesystem::path(".")
                                         : std::filesystem::path(config.source).parent_path();
  for (const std::string& pattern : config.targets_files) {
    const std::string full = std::filesystem::path(pattern).is_absolute()
                                 ? pattern
                                 : (base / pattern).lexically_normal().string();
    glob_t matched{};
    if (::glob(full.c_str(), 0, nullptr, &matched) == 0) {
      for (std::size_t i = 0; i < matched.gl_pathc; ++i) {
        // Regular files only: a glob that meets a FIFO or /dev/zero must not hang the load.
        struct stat info {};
        if (::stat(matched.gl_pathv[i], &info) == 0 && S_ISREG(info.st_mode)) {
          files.emplace_back(matched.gl_pathv[i]);
        }
      }
    }
    ::globfree(&matched);
  }
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());
  return files;
}

// Walks one YAML document and turns it into a Config, failing with file:line: key: reason.
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void Fail(const YAML::Node& node, const std::string& key,
                         const std::string& what) const {
    std::ostringstream out;
    out << source_;
    if (node.IsDefined() && node.Mark().line >= 0) out << ':' << node.Mark().line + 1;
    out << ": " << key << ": " << what;
    throw ConfigError(out.str());
  }

  // Calls `handle(key, value, path)` for each entry; a key not in `known` is an error.
  void ForEachKey(
      const YAML::Node& map, const std::string& path, const std::vector<std::string>& known,
      const std::function<void(const std::string&, const YAML::Node&, const std::string&)>& handle)
      const {
    if (map.IsNull()) return;
    if (!map.IsMap()) Fail(map, path.empty() ? "(top level)" : path, "expected a map of keys");
    for (const auto& entry : map) {
      if (!entry.first.IsScalar()) {
        Fail(entry.first, path.empty() ? "(top level)" : path,
             "expected a plain key, got a list or map");
      }
      const auto key = entry.first.Scalar();
      const std::string key_path = path.empty() ? key : path + "." + key;
      if (!known.empty() && std::find(known.begin(), known.end(), key) == known.end()) {
        std::string list;
        for (const auto& name : known) list += (list.empty() ? "" : ", ") + name;
        Fail(entry.first, key_path, "unknown key (expected one of: " + list + ")");
      }
      handle(key, entry.second, key_path);
    }
  }

  std::string String(const YAML::Node& node, const std::string& key) const {
    if (node.IsNull()) return "";
    if (!node.IsScalar()) Fail(node, key, "expected a string");
    return Expand(node, key, node.Scalar());
  }

  Duration DurationValue(const YAML::Node& node, const std::string& key) const {
    const std::string text = String(node, key);
    auto parsed = ParseDuration(text);
    if (!parsed) {
      Fail(node, key, "expected a duration such as 250ms, 5s, 1m or 1h, got '" + text + "'");
    }
    if (*parsed > kMaxDuration) Fail(node, key, "expected at most 365d, got '" + text + "'");
    return *parsed;
  }

  Duration PositiveDuration(const YAML::Node& node, const std::string& key) const {
    Duration value = DurationValue(node, key);
    if (value <= Duration::zero()) Fail(node, key, "expected a duration greater than 0s");
    return value;
  }

  double Number(const YAML::Node& node, const std::string& key) const {
    const std::string text = String(node, key);
    try {
      std::size_t used = 0;
      double value = std::stod(text, &used);
      if (used == text.size() && std::isfinite(value)) return value;
    } catch (const std::exception&) {
    }
    Fail(node, key, "expected a finite number, got '" + text + "'");
  }

  int Integer(const YAML::Node& node, const std::string& key, int min, int max) const {
    double value = Number(node, key);
    if (value != static_cast<int>(value) || value < min || value > max) {
      Fail(node, key,
           "expected a whole number from " + std::to_string(min) + " to " + std::to_string(max));
    }
    return static_cast<int>(value);
  }

  bool Bool(const YAML::Node& node, const std::string& key) const {
    std::string text = String(node, key);
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (text == "true" || text == "yes" || text == "on") return true;
    if (text == "false" || text == "no" || text == "off") return false;
    Fail(node, key, "expected true or false, got '" + text + "'");
  }

  std::string OneOf(const YAML::Node& node, const std::string& key,
                    const std::vector<std::string>& allowed) const {
    std::string value = String(node, key);
    if (std::find(allowed.begin(), allowed.end(), value) != allowed.end()) return value;
    std::string list;
    for (const auto& name : allowed) list += (list.empty() ? "" : ", ") + name;
    Fail(node, key, "expected one of " + list + ", got '" + value + "'");
  }

  void Settings(const YAML::Node& node, const std::string& key, const std::string& path,
                TargetSettings& settings) const {
    if (key == "probe_interval") {
      settings.probe_interval = PositiveDuration(node, path);
    } else if (key == "connect_probe_interval") {
      settings.connect_probe_interval = DurationValue(node, path);
    } else if (key == "activity_interval") {
      settings.activity_interval = PositiveDuration(node, path);
    } else if (key == "database_interval") {
      settings.database_interval = PositiveDuration(node, path);
    } else if (key == "statements_interval") {
      settings.statements_interval = PositiveDuration(node, path);
    } else if (key == "settings_interval") {
      settings.settings_interval = PositiveDuration(node, path);
    } else if (key == "connect_timeout") {
      settings.connect_timeout = PositiveDuration(node, path);
    } else if (key == "query_timeout") {
      settings.query_timeout = PositiveDuration(node, path);
    } else if (key == "slow_query_threshold") {
      settings.slow_query_threshold = PositiveDuration(node, path);
    } else if (key == "statements_top_n") {
      settings.statements_top_n = Integer(node, path, 1, 10000);
    } else if (key == "applications_top_n") {
      settings.applications_top_n = Integer(node, path, 1, 1000);
    } else if (key == "housekeeping_statements") {
      if (!node.IsSequence()) Fail(node, path, "expected a list of statements");
      settings.housekeeping_statements.clear();
      for (std::size_t i = 0; i < node.size(); ++i) {
        const std::string item_path = path + "[" + std::to_string(i) + "]";
        std::string statement = String(node[i], item_path);
        if (statement.empty()) Fail(node[i], item_path, "expected a statement, got nothing");
        settings.housekeeping_statements.push_back(std::move(statement));
      }
    } else if (key == "collectors") {
      std::vector<std::string> names;
      for (const auto& info : collectors::CollectorTable()) names.emplace_back(info.name);
      ForEachKey(node, path, names,
                 [&](const std::string& name, const YAML::Node& value, const std::string& p) {
                   settings.collectors[name] = Bool(value, p);
                 });
    } else if (key == "log_source") {
      ReadLogSource(node, path, settings.log_source);
    }
  }

  void ReadLogSource(const YAML::Node& node, const std::string& path, LogSource& source) const {
    ForEachKey(
        node, path,
        {"path", "syslog", "drain", "sql", "log_fdw", "format", "line_prefix", "heartbeat"},
        [&](const std::string& k, const YAML::Node& value, const std::string& p) {
          if (k == "path") source.path = String(value, p);
          if (k == "format") source.format = OneOf(value, p, {"jsonlog", "csvlog", "stderr"});
          if (k == "sql") source.sql = OneOf(value, p, {"", "pg_read_file", "log_fdw"});
          if (k == "log_fdw") {
            ForEachKey(value, p, {"server", "schema"},
                       [&](const std::string& fk, const YAML::Node& v, const std::string& fp) {
                         std::string& name =
                             fk == "server" ? source.log_fdw.server : source.log_fdw.schema;
                         name = String(v, fp);
                         if (name.empty()) Fail(v, fp, "expected a name");
                       });
          }
          if (k == "heartbeat") source.heartbeat = Bool(value, p);
          if (k == "line_prefix") {
            source.line_prefix = String(value, p);
            try {
              (void)logs::LinePrefix(source.line_prefix);
            } catch (const std::invalid_argument& e) {
              Fail(value, p, std::string(e.what()) + " (or a preset: " + PresetList() + ")");
            }
          }
          if (k == "syslog") ReadSyslog(value, p, source.syslog);
          if (k == "drain") {
            ForEachKey(value, p, {"token_file"},
                       [&](const std::string&, const YAML::Node& v, const std::string& tp) {
                         source.drain.token_file = String(v, tp);
                         source.drain.token =
                             source.drain.token_file.empty()
                                 ? std::string()
                                 : ReadPasswordFile(v, tp, source.drain.token_file);
                         if (!source.drain.token_file.empty() && source.drain.token.empty()) {
                           Fail(v, tp, "the token file is empty");
                         }
                       });
          }
        });
    const int sources = !source.path.empty() + !source.syslog.listen.empty() +
                        !source.drain.token_file.empty() + !source.sql.empty();
    if (sources > 1) {
      Fail(node, path,
           "expected one log source (path, syslog.listen, drain.token_file or sql), got " +
               std::to_string(sources));
    }
    if (source.sql == "log_fdw" && source.format == "jsonlog") {
      Fail(node, path,
           "log_fdw reads csvlog or stderr files: set format to csvlog (preferred) or stderr");
    }
  }

  void ReadSyslog(const YAML::Node& node, const std::string& path, SyslogSource& syslog) const {
    ForEachKey(node, path, {"listen", "udp", "tls", "match"},
               [&](const std::string& k, const YAML::Node& value, const std::string& p) {
                 if (k == "listen") {
                   syslog.listen = String(value, p);
                   if (!syslog.listen.empty()) {
                     try {
                       (void)ParseListenAddress(syslog.listen);
                     } catch (const ConfigError& e) {
                       Fail(value, p, e.what());
                     }
                   }
                 }
                 if (k == "udp") syslog.udp = Bool(value, p);
                 if (k == "match") syslog.match = String(value, p);
                 if (k == "tls") {
                   ForEachKey(
                       value, p, {"cert_file", "key_file", "client_ca_file"},
                       [&](const std::string& t, const YAML::Node& v, const std::string& tp) {
                         if (t == "cert_file") syslog.tls.cert_file = String(v, tp);
                         if (t == "key_file") syslog.tls.key_file = String(v, tp);
                         if (t == "client_ca_file") syslog.tls.client_ca_file = String(v, tp);
                       });
                   const auto& tls = syslog.tls;
                   if (tls.cert_file.empty() != tls.key_file.empty()) {
                     Fail(value, p, "expected both cert_file and key_file, or neither");
                   }
                   if (!tls.client_ca_file.empty() && tls.cert_file.empty()) {
                     Fail(value, p, "client_ca_file needs cert_file and key_file");
                   }
                 }
               });
  }

  static std::string PresetList() {
    std::string list;
    for (const auto& name : logs::PresetNames()) list += (list.empty() ? "" : ", ") + name;
    return list;
  }

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
                   Settings(value, key, p, target.settings);
                 }
               });
    if (target.name.empty()) Fail(node, path + ".name", "every target needs a name");
    return target;
  }

  static const std::vector<std::string>& SettingKeys() {
    static const std::vector<std::string> keys = {
        "probe_interval",       "connect_probe_interval", "activity_interval",  "database_interval",
        "statements_interval",  "settings_interval",      "connect_timeout",    "query_timeout",
        "slow_query_threshold", "statements_top_n",       "applications_top_n", "collectors",
        "log_source",           "housekeeping_statements"};
    return keys;
  }

  Config Read(const YAML::Node& root) const {
    Config config;
    config.source = source_;
    config.defaults = DefaultSettings();
    if (!root.IsDefined() || root.IsNull()) Fail(root, "(top level)", "the file is empty");
    // `defaults` must be known before targets inherit from it, wherever it stands in the file.
    if (root.IsMap() && root["defaults"]) {
      ForEachKey(root["defaults"], "defaults", SettingKeys(),
                 [&](const std::string& key, const YAML::Node& value, const std::string& p) {
                   Settings(value, key, p, config.defaults);
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
    std::error_code error;
    const std::uintmax_t size = std::filesystem::file_size(file, error);
    if (!error && size > kMaxTargetsFileBytes) {
      throw ConfigError(file + ": targets file larger than 64 MiB");
    }
    ReadYaml(ReadText(file, "targets file"), file, [&](const YAML::Node& root) {
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
               {"window", "connection_usage", "error_ratio", "probe_latency", "mean_query_time"},
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

  std::string ReadPasswordFile(const YAML::Node& node, const std::string& key,
                               const std::string& path) const {
    std::ifstream in(path, std::ios::binary);
    if (!in) Fail(node, key, "cannot read password file '" + path + "'");
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) Fail(node, key, "cannot read password file '" + path + "'");
    while (!content.empty() && (content.back() == '\n' || content.back() == '\r')) {
      content.pop_back();
    }
    return content;
  }

  // ${VAR} and ${VAR:-default}; "$$" is a literal dollar sign.
  std::string Expand(const YAML::Node& node, const std::string& key,
                     const std::string& text) const {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] != '$' || i + 1 >= text.size()) {
        out += text[i];
        continue;
      }
      if (text[i + 1] == '$') {
        out += '$';
        ++i;
        continue;
      }
      if (text[i + 1] != '{') {
        out += text[i];
        continue;
      }
      const std::size_t close = text.find('}', i + 2);
      if (close == std::string::npos) Fail(node, key, "unterminated ${ in '" + text + "'");
      std::string inner = text.substr(i + 2, close - i - 2);
      std::string name = inner;
      std::optional<std::string> fallback;
      if (auto dash = inner.find(":-"); dash != std::string::npos) {
        name = inner.substr(0, dash);
        fallback = inner.substr(dash + 2);
      }
      if (!IsLabelName(name)) Fail(node, key, "bad variable name '" + name + "'");
      const char* value = std::getenv(name.c_str());
      if (value != nullptr && (*value != '\0' || !fallback)) {
        out += value;
      } else if (fallback) {
        out += *fallback;
      } else {
        Fail(node, key, "environment variable " + name + " is not set and has no default");
      }
      i = close;
    }
    return out;
  }

  std::string source_;
};

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
  out << YAML::Key << "connect_timeout" << YAML::Value << FormatDuration(settings.connect_timeout);
  out << YAML::Key << "query_timeout" << YAML::Value << FormatDuration(settings.query_timeout);
  out << YAML::Key << "slow_query_threshold" << YAML::Value
      << FormatDuration(settings.slow_query_threshold);
  out << YAML::Key << "statements_top_n" << YAML::Value << settings.statements_top_n;
  out << YAML::Key << "applications_top_n" << YAML::Value << settings.applications_top_n;
  out << YAML::Key << "housekeeping_statements" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const auto& statement : settings.housekeeping_statements) out << statement;
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

std::string LogFormat(const std::string& name) { return name == "text" ? "logfmt" : name; }

std::vector<std::string> DefaultHousekeepingStatements() {
  return {"SELECT 1",  "BEGIN *",      "START TRANSACTION *", "COMMIT *", "END *",   "ROLLBACK *",
          "ABORT *",   "SAVEPOINT *",  "RELEASE *",           "SET *",    "RESET *", "SHOW *",
          "DISCARD *", "DEALLOCATE *", "UNLISTEN *",          "CLOSE ALL"};
}

std::string TargetFilesState(const Config& config) {
  std::string state;
  for (const std::string& file : MatchTargetFiles(config)) {
    struct stat info {};
    if (::stat(file.c_str(), &info) != 0) continue;
    state += file + " " + std::to_string(info.st_mtim.tv_sec) + "." +
             std::to_string(info.st_mtim.tv_nsec) + " " + std::to_string(info.st_size) + "\n";
  }
  return state;
}

std::uint64_t StableHash(std::string_view text) {
  std::uint64_t hash = 14695981039346656037ULL;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  return hash;
}

bool InShard(const std::string& target, unsigned index, unsigned count) {
  // The shard with the highest weight takes the target. FNV-1a alone mixes its last bytes too
  // little to rank shards fairly: each weight goes through splitmix64's finalizer.
  const std::uint64_t name = StableHash(target);
  auto weight = [&](unsigned shard) {
    std::uint64_t x = name + (shard + 1) * 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  };
  unsigned best = 0;
  for (unsigned shard = 1; shard < count; ++shard) {
    if (weight(shard) > weight(best)) best = shard;
  }
  return best == index;
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

ListenAddress ParseListenAddress(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) {
    throw ConfigError("listen address '" + address + "': expected HOST:PORT, :PORT or [IPv6]:PORT");
  }
  std::string host = address.substr(0, colon);
  const std::string port_text = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find_first_of(":[]") != std::string::npos) {
    throw ConfigError("listen address '" + address +
                      "': an IPv6 host needs brackets, as [::1]:9432");
  }
  const bool digits = !port_text.empty() && port_text.size() <= 5 &&
                      std::all_of(port_text.begin(), port_text.end(),
                                  [](unsigned char c) { return std::isdigit(c) != 0; });
  const int port = digits ? std::stoi(port_text) : -1;
  if (port < 0 || port > 65535) {
    throw ConfigError("listen address '" + address + "': expected a port from 0 to 65535");
  }
  return {host.empty() ? "0.0.0.0" : host, port};
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
