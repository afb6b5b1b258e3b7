#include "collectors/activity.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <map>
#include <set>

namespace pgvigil::collectors {
namespace {

using prometheus::MetricType;

const metrics::Descriptor kConnectionsMax{
    "pg_connections_max",
    MetricType::Gauge,
    "Connections ordinary roles may open: max_connections less the reserved slots.",
    {}};
const metrics::Descriptor kConnectionsUsed{
    "pg_connections_used",
    MetricType::Gauge,
    "Client backends counted against max_connections, the agent's own included.",
    {}};
const metrics::Descriptor kInRecovery{
    "pg_in_recovery", MetricType::Gauge, "1 if the server is a standby in recovery.", {}};
const metrics::Descriptor kSessions{
    "pg_stat_activity_sessions",
    MetricType::Gauge,
    "Client backends by database, user and state, the agent's own excluded.",
    {"datname", "usename", "state"}};
const metrics::Descriptor kLockWaiters{"pg_stat_activity_lock_waiters",
                                       MetricType::Gauge,
                                       "Active client backends waiting on a heavyweight lock.",
                                       {"datname"}};
const metrics::Descriptor kSlowQueries{"pg_stat_activity_slow_queries",
                                       MetricType::Gauge,
                                       "Active queries running longer than slow_query_threshold.",
                                       {"datname"}};
const metrics::Descriptor kMaxQueryDuration{"pg_stat_activity_max_query_duration_seconds",
                                            MetricType::Gauge,
                                            "Age of the longest-running active query, in seconds.",
                                            {"datname"}};
const metrics::Descriptor kMaxTxDuration{
    "pg_stat_activity_max_tx_duration_seconds",
    MetricType::Gauge,
    "Age of the oldest open transaction by database and state, in seconds.",
    {"datname", "state"}};
const metrics::Descriptor kApplicationSessions{
    "pg_stat_activity_application_sessions",
    MetricType::Gauge,
    "Client backends by application_name (the top applications_top_n by sessions, the rest as "
    "\"other\"), the agent's own excluded.",
    {"application_name", "state"}};

struct PerDatabase {
  double waiting = 0;
  double slow = 0;
  std::optional<double> longest_query;
};

// States every exported application has a series for, with 0 when it has none: its series do
// not come and go with its sessions. Other states get one while they occur.
constexpr std::array<const char*, 3> kSteadyStates = {"active", "idle", "idle in transaction"};
constexpr std::size_t kTopApplications = 10;

template <typename Sessions, typename Exported>
void ExportApplications(const std::map<std::string, Sessions>& applications,
                        const Exported& exported, metrics::FamilySet& out) {
  std::map<std::string, std::map<std::string, double>> series;  // name -> state -> sessions
  for (const auto& name : exported) {
    for (const char* steady : kSteadyStates) series[name.first][steady] = 0;
  }
  for (const char* steady : kSteadyStates) series["other"][steady] = 0;
  for (const auto& [name, sessions] : applications) {
    auto& into = series[exported.contains(name) ? name : std::string("other")];
    for (const auto& [row_state, count] : sessions.by_state) into[row_state] += count;
  }
  for (const auto& [name, states] : series) {
    for (const auto& [row_state, count] : states) {
      out.Add(kApplicationSessions, {{"application_name", name}, {"state", row_state}}, count);
    }
  }
}

template <typename Sessions>
std::vector<Observations::Connections::Application> TopApplications(
    const std::map<std::string, Sessions>& applications) {
  std::vector<Observations::Connections::Application> top;
  for (const auto& application : applications) {
    const std::string& name = application.first;
    const auto& by_state = application.second.by_state;
    const double total = application.second.total;
    const auto state_count = [&by_state](const char* wanted) {
      const auto it = by_state.find(wanted);
      return it == by_state.end() ? 0.0 : it->second;
    };
    top.push_back(
        {name, total, state_count("active"),
         state_count("idle in transaction") + state_count("idle in transaction (aborted)")});
  }
  std::sort(top.begin(), top.end(), [](const auto& a, const auto& b) {
    return a.sessions != b.sessions ? a.sessions > b.sessions : a.name < b.name;
  });
  if (top.size() > kTopApplications) top.resize(kTopApplications);
  return top;
}

}  // namespace

std::span<const metrics::Descriptor> ActivityMetrics() {
  static const metrics::Descriptor all[] = {kConnectionsMax, kConnectionsUsed,     kInRecovery,
                                            kSessions,       kApplicationSessions, kLockWaiters,
                                            kSlowQueries,    kMaxQueryDuration,    kMaxTxDuration};
  return all;
}

std::string ActivitySql(int server_version_num, config::Duration slow_threshold) {
  const std::string reserved =
      server_version_num >= 160000 ? " - current_setting('reserved_connections')::int" : "";
  // A role without pg_monitor sees other roles' backends with backend_type and state NULL, but
  // with their database and user: those are client backends too (background processes have no
  // user, physical walsenders no database), and they hold connection slots all the same.
  const std::string client_backend =
      "(backend_type = 'client backend' OR (backend_type IS NULL AND datid IS NOT NULL AND "
      "usesysid IS NOT NULL))";
  // Seconds as a plain number: a typed literal (interval '1 s') would change how
  // pg_stat_statements shows this statement, and the agent's own-load accounting needs to
  // recognise it (pg::Fingerprint). For the same reason date_part('epoch', …), not
  // EXTRACT(epoch FROM …), whose field PostgreSQL 14+ shows as a parameter ($9).
  char threshold[32];
  std::snprintf(threshold, sizeof threshold, "%.3f",
                std::chrono::duration<double>(slow_threshold).count());
  return "WITH limits AS (\n"
         "  SELECT current_setting('max_connections')::int\n"
         "       - current_setting('superuser_reserved_connections')::int" +
         reserved +
         " AS usable,\n"
         "       (SELECT count(*) FROM pg_stat_activity\n"
         "         WHERE " +
         client_backend +
         ") AS used,\n"
         "       pg_is_in_recovery() AS in_recovery\n"
         "), groups AS (\n"
         "  SELECT GROUPING(application_name) = 0 AS per_application,\n"
         "         coalesce(datname, '') AS datname, coalesce(usename, '') AS usename,\n"
         "         coalesce(application_name, '') AS application_name,\n"
         "         coalesce(state, 'unknown') AS state, count(*) AS backends,\n"
         "         count(*) FILTER (WHERE state = 'active' AND wait_event_type = 'Lock')"
         " AS waiting,\n"
         "         max(date_part('epoch', now() - xact_start)) AS oldest_xact_seconds,\n"
         "         max(date_part('epoch', now() - query_start)) FILTER (WHERE state = 'active')"
         " AS longest_query_seconds,\n"
         "         count(*) FILTER (WHERE state = 'active' AND"
         " date_part('epoch', now() - query_start) > " +
         threshold +
         ") AS slow\n"
         "  FROM pg_stat_activity\n"
         "  WHERE " +
         client_backend +
         " AND pid <> pg_backend_pid()\n"
         "  GROUP BY GROUPING SETS ((datname, usename, state), (application_name, state))\n"
         ")\n"
         "SELECT * FROM limits LEFT JOIN groups ON true";
}

ActivityCollector::ActivityCollector(const config::Target& target)
    : slow_query_threshold_(target.settings.slow_query_threshold),
      applications_top_n_(target.settings.applications_top_n),
      exported_(static_cast<std::size_t>(applications_top_n_)) {}

const ActivityCollector::Exported& ActivityCollector::UpdateExported(
    const std::map<std::string, Sessions>& apps) {
  std::vector<std::pair<double, std::string>> ranked;
  for (const auto& [name, sessions] : apps) ranked.emplace_back(sessions.total, name);
  // Most sessions first; ties by name, so the choice is stable.
  const std::set<std::string> in_top =
      TopKeys(std::move(ranked), static_cast<std::size_t>(applications_top_n_),
              [](const auto& a, const auto& b) {
                return a.first != b.first ? a.first > b.first : a.second < b.second;
              });
  exported_.Update(
      in_top, [](const std::string&) { return Nothing{}; }, [](const std::string&, Nothing) {});
  return exported_;
}

void ActivityCollector::Collect(CollectContext& context, metrics::FamilySet& out) {
  const pg::Rows rows = context.session->Query(
      ActivitySql(context.session->ServerVersionNum(), slow_query_threshold_));
  if (rows.empty())
    throw pg::Error(pg::ErrorKind::kQuery, "pg_stat_activity query returned no row");
  const auto usable = rows.Number(0, rows.Column("usable"));
  const auto used = rows.Number(0, rows.Column("used"));
  const auto in_recovery = rows.Bool(0, rows.Column("in_recovery"));
  const std::size_t per_application = rows.Column("per_application");
  const std::size_t application_name = rows.Column("application_name");
  const std::size_t datname = rows.Column("datname");
  const std::size_t usename = rows.Column("usename");
  const std::size_t state = rows.Column("state");
  const std::size_t backends = rows.Column("backends");
  const std::size_t waiting = rows.Column("waiting");
  const std::size_t oldest_xact = rows.Column("oldest_xact_seconds");
  const std::size_t longest_query = rows.Column("longest_query_seconds");
  const std::size_t slow = rows.Column("slow");

  Observations::Connections connections;
  connections.known = usable.has_value() && used.has_value();
  connections.max = usable.value_or(0);
  connections.used = used.value_or(0);
  connections.in_recovery = in_recovery.value_or(false);
  if (usable) {
    out.Add(kConnectionsMax, {}, *usable);
  }
  if (used) {
    out.Add(kConnectionsUsed, {}, *used);
  }
  if (in_recovery) {
    out.Add(kInRecovery, {}, *in_recovery ? 1 : 0);
  }

  std::map<std::string, PerDatabase> databases;
  std::map<std::pair<std::string, std::string>, double> oldest_by_state;
  std::map<std::string, Sessions> applications;
  for (std::size_t row = 0; row < rows.size(); ++row) {
    // No other client backend: the LEFT JOIN leaves the group columns NULL.
    const auto count = rows.Number(row, backends);
    if (!count) continue;
    const std::string row_state = rows.Text(row, state);
    if (rows.Bool(row, per_application).value_or(false)) {
      Sessions& sessions = applications[rows.Text(row, application_name)];
      sessions.by_state[row_state] += *count;
      sessions.total += *count;
      continue;
    }
    const std::string db = rows.Text(row, datname);
    out.Add(kSessions,
            {{"datname", db}, {"usename", rows.Text(row, usename)}, {"state", row_state}}, *count);
    PerDatabase& per_db = databases[db];
    const double row_waiting = rows.Number(row, waiting).value_or(0);
    const double row_slow = rows.Number(row, slow).value_or(0);
    per_db.waiting += row_waiting;
    per_db.slow += row_slow;
    if (auto seconds = rows.Number(row, longest_query)) {
      per_db.longest_query = std::max(per_db.longest_query.value_or(0), *seconds);
    }
    if (auto seconds = rows.Number(row, oldest_xact)) {
      double& oldest = oldest_by_state[{db, row_state}];
      oldest = std::max(oldest, *seconds);
    }
    if (row_state == "active") connections.active += *count;
    if (row_state == "idle") connections.idle += *count;
    if (row_state.starts_with("idle in transaction")) connections.idle_in_transaction += *count;
    if (row_state == "unknown") connections.hidden += *count;
    connections.waiting += row_waiting;
    connections.slow_active += row_slow;
  }
  for (const auto& [db, per_db] : databases) {
    out.Add(kLockWaiters, {{"datname", db}}, per_db.waiting);
    out.Add(kSlowQueries, {{"datname", db}}, per_db.slow);
    if (per_db.longest_query) out.Add(kMaxQueryDuration, {{"datname", db}}, *per_db.longest_query);
  }
  for (const auto& [key, seconds] : oldest_by_state) {
    out.Add(kMaxTxDuration, {{"datname", key.first}, {"state", key.second}}, seconds);
  }
  ExportApplications(applications, UpdateExported(applications).members(), out);
  connections.by_application = TopApplications(applications);
  context.observations.connections = connections;
}

}  // namespace pgvigil::collectors
