#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/duration.h"

namespace pgvigil::config {

// A configuration the agent refuses to run with. The message names the file, the line and the
// key, and says what was expected; main() prints it and exits 2.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// TLS of a syslog listener, as the exporter-toolkit names its files: a certificate and key,
// and optionally the CA that client certificates must chain to (then required).
struct SyslogTls {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;

  bool operator==(const SyslogTls&) const = default;
};

struct SyslogSource {
  std::string listen;  // HOST:PORT of the TCP listener; "" = no syslog
  bool udp = false;    // also receive datagrams on the same address
  SyslogTls tls;
  std::string match;  // this target's messages: HOSTNAME or APP-NAME equal to it; "" = all

  bool operator==(const SyslogSource&) const = default;
};

struct DrainSource {
  std::string token_file;  // the drain's secret; its content is read at load time into `token`
  std::string token;       // secret: never logged or printed

  bool operator==(const DrainSource&) const = default;
};

// RDS's log_fdw (docs/logs.md): the foreign server over the log directory, and the schema where
// the agent creates its foreign table over the newest log file.
struct LogFdwSource {
  std::string server = "log_server";
  std::string schema = "pgvigil";

  bool operator==(const LogFdwSource&) const = default;
};

// Where a target's server log lines come from (docs/logs.md): a file, a syslog listener, an HTTPS
// drain, or SQL. At most one is set; none means SQL (pg_read_file) when the log collector is on.
struct LogSource {
  std::string path;
  SyslogSource syslog;
  DrainSource drain;
  std::string sql;  // "", pg_read_file or log_fdw
  LogFdwSource log_fdw;
  std::string format = "jsonlog";  // of a file or SQL: jsonlog, csvlog or stderr
  std::string line_prefix;         // the server's log_line_prefix, or a preset's name
  bool heartbeat = true;

  // "file", "syslog", "drain" or "sql".
  [[nodiscard]] std::string Kind() const {
    if (!path.empty()) return "file";
    if (!syslog.listen.empty()) return "syslog";
    if (!drain.token_file.empty()) return "drain";
    return "sql";
  }
  // Whether lines are stderr-style text whose prefix must be taken apart.
  [[nodiscard]] bool StderrLines() const {
    const std::string kind = Kind();
    return kind == "syslog" || kind == "drain" || format == "stderr";
  }

  bool operator==(const LogSource&) const = default;
};

// What pools send around the application's work: validation queries, transaction control,
// session reset (docs/configuration.md, how the agent counts its own load).
[[nodiscard]] std::vector<std::string> DefaultHousekeepingStatements();

// Everything under `defaults:`, and what each target may override key by key.
struct TargetSettings {
  // The interval of the collectors that read it, by key ("probe_interval"): the keys and their
  // defaults come from the collector table (src/collectors/registry.cpp), filled in by
  // DefaultSettings().
  [[nodiscard]] Duration Interval(std::string_view key) const {
    const auto found = intervals.find(key);
    if (found == intervals.end()) throw std::out_of_range("no interval " + std::string(key));
    return found->second;
  }

  std::map<std::string, Duration, std::less<>> intervals;
  Duration connect_probe_interval = std::chrono::seconds(60);
  Duration connect_timeout = std::chrono::seconds(5);
  Duration query_timeout = std::chrono::seconds(3);
  Duration slow_query_threshold = std::chrono::seconds(1);
  int statements_top_n = 50;
  int applications_top_n = 20;
  // Statements a pool sends around the application's work (validation, transaction control,
  // session reset), compared by pg::Fingerprint; a trailing " *" matches any continuation.
  std::vector<std::string> housekeeping_statements = DefaultHousekeepingStatements();
  // Roles of other monitoring tools (another pgvigil instance, an exporter): their statements
  // are never the application's work (docs/configuration.md).
  std::vector<std::string> monitoring_roles;
  std::map<std::string, bool> collectors;  // every name of the collector table, resolved
  LogSource log_source;

  bool operator==(const TargetSettings&) const = default;
};

// What a target's DSN reaches: a PostgreSQL server, or the admin console of a PgBouncer
// (docs/configuration.md, PgBouncer targets), which runs the pgbouncer collector and the probe
// only.
enum class TargetKind { kPostgres, kPgBouncer };

struct Target {
  std::string name;
  TargetKind kind = TargetKind::kPostgres;
  std::string dsn;            // may hold a password; print only through pg::RedactDsn
  std::string password_file;  // path; its content is read at load time into `password`
  std::string password;       // secret: never logged or printed
  std::vector<std::pair<std::string, std::string>> labels;  // constant labels, in file order
  TargetSettings settings;

  bool operator==(const Target&) const = default;
};

struct Thresholds {
  double warn = 0;
  double critical = 0;

  bool operator==(const Thresholds&) const = default;
};

struct DurationThresholds {
  Duration warn{};
  Duration critical{};

  bool operator==(const DurationThresholds&) const = default;
};

struct HealthConfig {
  Duration window = std::chrono::minutes(5);
  Thresholds connection_usage{0.70, 0.90};
  Thresholds error_ratio{0.01, 0.05};
  DurationThresholds probe_latency{std::chrono::milliseconds(100), std::chrono::milliseconds(500)};
  DurationThresholds mean_query_time{std::chrono::milliseconds(500), std::chrono::seconds(1)};
  // Replay lag of each standby on a primary, of the server itself on a standby.
  DurationThresholds replication_lag{std::chrono::seconds(30), std::chrono::minutes(5)};
  // How long a slot that retains WAL may be without a consumer.
  DurationThresholds replication_slot_inactive{std::chrono::minutes(10), std::chrono::hours(1)};
  // The oldest xid or mxid age as a share of 2^31; the oldest xmin holder's age in transactions;
  // .ready files waiting to be archived.
  Thresholds wraparound{0.5, 0.75};
  Thresholds xmin_horizon{10000000, 100000000};
  Thresholds archive_ready_files{16, 128};

  bool operator==(const HealthConfig&) const = default;
};

struct WebSettings {
  std::string listen_address = ":9432";
  std::string config_file;  // Prometheus web-config.yml: TLS and basic auth

  bool operator==(const WebSettings&) const = default;
};

struct LogSettings {
  std::string level = "info";
  std::string format = "logfmt";  // or "json"

  bool operator==(const LogSettings&) const = default;
};

struct Config {
  std::string source;  // the file it came from, or "" in zero-config mode
  WebSettings web;
  LogSettings log;
  TargetSettings defaults;
  HealthConfig health;
  std::vector<Target> targets;
  // Globs of files holding more targets (a YAML list each, as under `targets`), relative to the
  // config file's directory; re-read when they change (Prometheus' file_sd, for pgvigil).
  std::vector<std::string> targets_files;

  bool operator==(const Config&) const = default;
};

// The built-in defaults, with every collector of the collector table on or off as it ships and
// every interval it defines at its default.
[[nodiscard]] TargetSettings DefaultSettings();

// Reads, expands ${VAR} / ${VAR:-default}, and validates a config file. Throws ConfigError.
[[nodiscard]] Config LoadFile(const std::string& path);

// Same as LoadFile, for text already in memory; `source` names it in error messages.
[[nodiscard]] Config LoadString(const std::string& text, const std::string& source);

// No config file: one target named "default" whose DSN is $PGVIGIL_DSN, or empty so that libpq
// falls back to PGHOST, PGPORT, PGUSER, ~/.pgpass and the rest, exactly as psql does.
[[nodiscard]] Config ZeroConfig();

// The log format a --log.format or log.format value names: "logfmt" (the Prometheus exporters'
// name; "text" is accepted as an alias) or "json".
[[nodiscard]] std::string LogFormat(const std::string& name);

// Longer durations are refused: they would overflow the clocks they are added to.
inline constexpr Duration kMaxDuration = std::chrono::hours(24 * 365);

}  // namespace pgvigil::config
