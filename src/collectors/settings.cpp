#include "collectors/settings.h"

#include <algorithm>
#include <charconv>
#include <iterator>
#include <utility>
#include <vector>

namespace pgvigil::collectors {
namespace {

using prometheus::MetricType;

// A setting the collector reads, and its series: pg_settings_<name> with the suffix of the
// unit PostgreSQL gives it (SettingMetricName), in base units.
struct Setting {
  const char* name;
  metrics::Descriptor metric;
};

Setting Read(const char* name, const char* suffix = "") {
  std::string metric = "pg_settings_";
  for (const char* c = name; *c != '\0'; ++c) metric += (*c == '.' ? '_' : *c);
  return {name,
          {metric + suffix,
           MetricType::Gauge,
           std::string("Server setting ") + name + " from pg_settings, in base units.",
           {}}};
}

const Setting kSettings[] = {
    Read("max_connections"),
    Read("superuser_reserved_connections"),
    Read("reserved_connections"),
    Read("shared_buffers", "_bytes"),
    Read("effective_cache_size", "_bytes"),
    Read("work_mem", "_bytes"),
    Read("maintenance_work_mem", "_bytes"),
    Read("max_wal_size", "_bytes"),
    Read("min_wal_size", "_bytes"),
    Read("checkpoint_timeout", "_seconds"),
    Read("statement_timeout", "_seconds"),
    Read("lock_timeout", "_seconds"),
    Read("idle_in_transaction_session_timeout", "_seconds"),
    Read("idle_session_timeout", "_seconds"),
    Read("deadlock_timeout", "_seconds"),
    Read("log_min_duration_statement", "_seconds"),
    Read("max_worker_processes"),
    Read("max_parallel_workers"),
    Read("max_wal_senders"),
    Read("max_replication_slots"),
    Read("max_prepared_transactions"),
    Read("max_locks_per_transaction"),
    Read("autovacuum"),
    Read("autovacuum_max_workers"),
    Read("track_activity_query_size", "_bytes"),
    Read("track_io_timing"),
    Read("pg_stat_statements.max"),
};

const metrics::Descriptor kServerInfo{"pg_server_info",
                                      MetricType::Gauge,
                                      "Server identity; always 1.",
                                      {"version", "server_version_num"}};
const metrics::Descriptor kDatabaseConnectionLimit{"pg_database_connection_limit",
                                                   MetricType::Gauge,
                                                   "Per-database connection limit (-1 = none).",
                                                   {"datname"}};
const metrics::Descriptor kRoleConnectionLimit{
    "pg_role_connection_limit",
    MetricType::Gauge,
    "Connection limit of a login role that has one (rolconnlimit).",
    {"usename"}};

constexpr const char* kSettingsSql =
    "SELECT name, reset_val AS setting, coalesce(unit, '') AS unit, vartype FROM pg_settings WHERE "
    "name IN ("
    "'max_connections', 'superuser_reserved_connections', 'reserved_connections', "
    "'shared_buffers', 'effective_cache_size', 'work_mem', 'maintenance_work_mem', "
    "'max_wal_size', 'min_wal_size', 'checkpoint_timeout', 'statement_timeout', 'lock_timeout', "
    "'idle_in_transaction_session_timeout', 'idle_session_timeout', 'deadlock_timeout', "
    "'log_min_duration_statement', 'max_worker_processes', 'max_parallel_workers', "
    "'max_wal_senders', 'max_replication_slots', 'max_prepared_transactions', "
    "'max_locks_per_transaction', 'autovacuum', 'autovacuum_max_workers', "
    "'track_activity_query_size', 'track_io_timing', 'pg_stat_statements.max')";

constexpr const char* kIdentitySql =
    "SELECT current_setting('server_version') AS version, "
    "current_setting('server_version_num') AS version_num, pg_is_in_recovery() AS in_recovery";

constexpr const char* kDatabasesSql =
    "SELECT datname, datconnlimit FROM pg_database WHERE datallowconn AND NOT datistemplate";

// Login roles with a connection limit (rolconnlimit -1 is none; ">= 0" rather than "<> -1",
// whose negative constant pg_stat_statements would show differently, see pg::Fingerprint).
constexpr const char* kRolesSql =
    "SELECT rolname, rolconnlimit FROM pg_roles WHERE rolcanlogin AND rolconnlimit >= 0";

std::optional<double> ParseNumber(const std::string& text) {
  double value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

// "8kB" -> {8 * 1024, "_bytes"}; "min" -> {60, "_seconds"}.
std::optional<std::pair<double, std::string>> UnitScale(const std::string& unit) {
  std::size_t digits = 0;
  while (digits < unit.size() && std::isdigit(static_cast<unsigned char>(unit[digits]))) ++digits;
  const double multiple = digits == 0 ? 1 : std::stod(unit.substr(0, digits));
  const std::string base = unit.substr(digits);
  static const std::pair<const char*, std::pair<double, const char*>> kUnits[] = {
      {"B", {1, "_bytes"}},
      {"kB", {1024, "_bytes"}},
      {"MB", {1024.0 * 1024, "_bytes"}},
      {"GB", {1024.0 * 1024 * 1024, "_bytes"}},
      {"TB", {1024.0 * 1024 * 1024 * 1024, "_bytes"}},
      {"us", {1e-6, "_seconds"}},
      {"ms", {1e-3, "_seconds"}},
      {"s", {1, "_seconds"}},
      {"min", {60, "_seconds"}},
      {"h", {3600, "_seconds"}},
      {"d", {86400, "_seconds"}},
  };
  if (base.empty()) return std::pair{multiple, std::string()};
  for (const auto& [name, scale] : kUnits) {
    if (base == name) return std::pair{multiple * scale.first, std::string(scale.second)};
  }
  return std::nullopt;
}

}  // namespace

std::span<const metrics::Descriptor> SettingsMetrics() {
  static const std::vector<metrics::Descriptor> all = [] {
    std::vector<metrics::Descriptor> metrics;
    for (const Setting& setting : kSettings) metrics.push_back(setting.metric);
    metrics.insert(metrics.end(), {kServerInfo, kDatabaseConnectionLimit, kRoleConnectionLimit});
    return metrics;
  }();
  return all;
}

std::optional<SettingValue> ConvertSetting(const std::string& setting, const std::string& unit,
                                           const std::string& vartype) {
  if (vartype == "bool") return SettingValue{"", setting == "on" ? 1.0 : 0.0};
  if (vartype != "integer" && vartype != "real") return std::nullopt;
  auto number = ParseNumber(setting);
  auto scale = UnitScale(unit);
  if (!number || !scale) return std::nullopt;
  // Negative values are sentinels ("-1 = disabled"), not quantities: keep them as they are.
  const double value = *number < 0 ? *number : *number * scale->first;
  return SettingValue{scale->second, value};
}

std::string SettingMetricName(const std::string& name, const SettingValue& value) {
  std::string metric = "pg_settings_";
  for (char c : name) metric += (c == '.' ? '_' : c);
  return metric + value.metric_suffix;
}

void SettingsCollector::Collect(CollectContext& context, metrics::FamilySet& out) {
  pg::Session& session = *context.session;
  const pg::Rows settings = session.Query(kSettingsSql);
  const std::size_t name = settings.Column("name");
  const std::size_t setting = settings.Column("setting");
  const std::size_t unit = settings.Column("unit");
  const std::size_t vartype = settings.Column("vartype");
  for (std::size_t row = 0; row < settings.size(); ++row) {
    const std::string setting_name = settings.Text(row, name);
    auto value = ConvertSetting(settings.Text(row, setting), settings.Text(row, unit),
                                settings.Text(row, vartype));
    if (!value) continue;
    // A unit other than the one PostgreSQL 12 to 18 give the setting would make a series of
    // another name, one docs/metrics.md does not list: left out.
    const std::string metric = SettingMetricName(setting_name, *value);
    const auto* known = std::find_if(std::begin(kSettings), std::end(kSettings),
                                     [&](const Setting& s) { return s.metric.name == metric; });
    if (known == std::end(kSettings)) continue;
    out.Add(known->metric, {}, value->value);
  }

  const pg::Rows identity = session.Query(kIdentitySql);
  if (identity.empty())
    throw pg::Error(pg::ErrorKind::kQuery, "server identity query returned no row");
  Observations::Server server;
  server.known = true;
  // "15.18 (Debian 15.18-0+deb12u1)" -> "15.18"
  const std::string full_version = identity.Text(0, identity.Column("version"));
  server.version = full_version.substr(0, full_version.find(' '));
  const std::string version_num = identity.Text(0, identity.Column("version_num"));
  server.version_num = static_cast<int>(ParseNumber(version_num).value_or(0));
  server.in_recovery = identity.Bool(0, identity.Column("in_recovery")).value_or(false);
  out.Add(kServerInfo, {{"version", server.version}, {"server_version_num", version_num}}, 1);

  const pg::Rows databases = session.Query(kDatabasesSql);
  const std::size_t datname = databases.Column("datname");
  const std::size_t limit = databases.Column("datconnlimit");
  for (std::size_t row = 0; row < databases.size(); ++row) {
    if (auto value = databases.Number(row, limit)) {
      out.Add(kDatabaseConnectionLimit, {{"datname", databases.Text(row, datname)}}, *value);
    }
  }
  const pg::Rows roles = session.Query(kRolesSql);
  const std::size_t rolname = roles.Column("rolname");
  const std::size_t rolconnlimit = roles.Column("rolconnlimit");
  for (std::size_t row = 0; row < roles.size(); ++row) {
    if (auto value = roles.Number(row, rolconnlimit)) {
      out.Add(kRoleConnectionLimit, {{"usename", roles.Text(row, rolname)}}, *value);
    }
  }
  context.observations.server = server;
}

}  // namespace pgvigil::collectors
