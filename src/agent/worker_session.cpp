// The worker's monitoring session: connecting with backoff, joining the cluster it reaches, the
// capabilities it has, and losing it (docs/architecture.md).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "agent/worker.h"

namespace pgvigil::agent {
namespace {

using collectors::SteadyClock;

// What the role may do, and where the session is (ClusterKey).
constexpr const char* kCapabilitiesSql =
    "SELECT pg_has_role(current_user, 'pg_monitor', 'USAGE') AS pg_monitor, "
    "EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements') "
    "AS pg_stat_statements, "
    "(SELECT oid FROM pg_roles WHERE rolname = current_user) AS userid, "
    "(SELECT oid FROM pg_database WHERE datname = current_database()) AS dbid, "
    "coalesce(host(inet_server_addr()), '') AS address, current_setting('port') AS port, "
    "pg_postmaster_start_time()::text AS started, "
    "has_function_privilege('pg_control_system()', 'EXECUTE') AS may_identify";
constexpr const char* kSystemIdentifierSql =
    "SELECT system_identifier::text AS system FROM pg_control_system()";
}  // namespace

pg::ConnectOptions Worker::Options(bool monitoring_session, const std::stop_token& stop) {
  return {target_.dsn,
          target_.password,
          target_.settings.connect_timeout,
          target_.settings.query_timeout,
          monitoring_session,
          stop,
          &own_load_,
          &slots_,
          /*admin_console=*/!traits_.has_catalogs};
}

void Worker::Connect(SteadyClock::time_point now, const std::stop_token& stop) {
  const pg::ConnectOptions options = Options(/*monitoring_session=*/true, stop);
  try {
    if (open_) {
      session_ = open_(options);
    } else {
      session_ = pg::Connection::Open(options);
    }
    // PgBouncer's console has no catalogs: nothing to detect, no cluster to share.
    if (traits_.has_catalogs) DetectCapabilities();
  } catch (const pg::Error& error) {
    session_.reset();
    closed_after_pass_ = false;  // a failure: back to backoff, and fresh data once it is over
    observations_.last_error = error.what();
    std::uniform_real_distribution<double> spread(0.8, 1.2);
    reconnect_at_ =
        now + std::chrono::duration_cast<SteadyClock::duration>(backoff_ * spread(jitter_));
    if (!connect_failing_logged_) {
      spdlog::warn("target {}: cannot connect: {} (retrying with backoff up to {}s)", target_.name,
                   error.what(), kMaxBackoff.count() / 1000);
      connect_failing_logged_ = true;
    } else {
      spdlog::debug("target {}: still cannot connect: {}", target_.name, error.what());
    }
    backoff_ = std::min(backoff_ * 2, kMaxBackoff);
    return;
  }
  backoff_ = kFirstBackoff;
  observations_.last_error.reset();
  if (connect_failing_logged_ || !ever_connected_) {
    spdlog::info("target {}: connected (server_version_num {})", target_.name,
                 session_->ServerVersionNum());
  }
  connect_failing_logged_ = false;
  ever_connected_ = true;
  // Fresh data as soon as the target is back, rather than one interval later (a session closed
  // after a pass on purpose keeps the schedule).
  if (!closed_after_pass_) {
    for (auto& entry : schedule_) entry.next_due = now;
  }
  closed_after_pass_ = false;
}

void Worker::JoinCluster(const pg::Rows& identity) {
  if (identity.empty()) return;
  std::string system = "started " + identity.Text(0, identity.Column("started"));
  if (identity.Bool(0, identity.Column("may_identify")).value_or(false)) {
    const pg::Rows control = session_->Query(kSystemIdentifierSql);
    if (!control.empty()) system = control.Text(0, 0);
  }
  const auto oid = [&](const char* column) {
    return static_cast<std::uint32_t>(identity.Number(0, identity.Column(column)).value_or(0));
  };
  const std::string cluster = ClusterKey(system, identity.Text(0, identity.Column("address")),
                                         identity.Text(0, identity.Column("port")), oid("userid"));
  membership_.reset();
  membership_ = clusters_.Join(cluster, oid("userid"), oid("dbid"), own_load_);
  for (auto& entry : schedule_) {
    if (entry.info->share == nullptr) continue;
    // Targets share a collector only where it would read and report the same: same cluster and
    // role, same interval, and the same settings of its own.
    const std::string key = cluster + '|' + entry.name + '|' +
                            std::to_string(entry.schedule.interval().count()) + '|' +
                            entry.info->share_key(target_.settings, observations_);
    auto shared = clusters_.Collector(key, [&] { return entry.info->make(target_); });
    if (shared != entry.shared) {
      entry.shared = std::move(shared);
      entry.shared_version = 0;
      // Due together with the other targets of the cluster: one of them reads, the rest take it.
      entry.schedule = Schedule(cluster, entry.name, entry.schedule.interval());
    }
  }
}

void Worker::DetectCapabilities() {
  const pg::Rows rows = session_->Query(kCapabilitiesSql);
  collectors::Observations::Capabilities found;
  found.known = !rows.empty();
  if (found.known) {
    found.pg_monitor = rows.Bool(0, rows.Column("pg_monitor")).value_or(false);
    found.pg_stat_statements = rows.Bool(0, rows.Column("pg_stat_statements")).value_or(false);
  }
  auto& had = observations_.capabilities;
  // Logged when a capability changes, not on every reconnect.
  if (found.known && (!had.known || had.pg_monitor != found.pg_monitor) && !found.pg_monitor) {
    spdlog::warn(
        "target {}: the monitoring role lacks pg_monitor; other sessions' states are "
        "hidden (GRANT pg_monitor TO the role)",
        target_.name);
  }
  if (found.known && (!had.known || had.pg_stat_statements != found.pg_stat_statements) &&
      !found.pg_stat_statements) {
    spdlog::info("target {}: pg_stat_statements is not installed in the monitored database",
                 target_.name);
  }
  had = found;
  // What the statements collector saw over the last connection no longer holds.
  observations_.statements.extension.reset();
  JoinCluster(rows);
}

void Worker::Disconnected(SteadyClock::time_point now) {
  session_.reset();
  observations_.connections = {};
  // Series read over the lost connection are stale now; the probe's own counters are not.
  for (auto& entry : schedule_) {
    if (entry.collector->NeedsConnection()) entry.exposition.reset();
  }
  reconnect_at_ = now;  // one immediate attempt (a restart is often over by then), then backoff
  spdlog::warn("target {}: connection lost: {}", target_.name,
               observations_.last_error.value_or("unknown error"));
}

}  // namespace pgvigil::agent
