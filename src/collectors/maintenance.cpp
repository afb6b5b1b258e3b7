#include "collectors/maintenance.h"

#include <array>

#include "collectors/maintenance_sql.h"

namespace pgvigil::collectors {
namespace {

using prometheus::MetricType;

const metrics::Descriptor kXidAge{
    "pg_database_xid_age",
    MetricType::Gauge,
    "Age in transactions of the database's oldest unfrozen xid (age(datfrozenxid)); "
    "wraparound at 2^31.",
    {"datname"}};
const metrics::Descriptor kMxidAge{
    "pg_database_mxid_age",
    MetricType::Gauge,
    "Age in multixacts of the database's oldest multixact (mxid_age(datminmxid)); "
    "wraparound at 2^31.",
    {"datname"}};
const metrics::Descriptor kDatabaseSize{"pg_database_size_bytes",
                                        MetricType::Gauge,
                                        "Disk space used by the database, in bytes.",
                                        {"datname"}};
const metrics::Descriptor kXminHorizon{
    "pg_xmin_horizon_age",
    MetricType::Gauge,
    "Age in transactions of the oldest xmin each kind of holder pins; 0 when none holds one.",
    {"holder"}};
const metrics::Descriptor kArchived{
    "pg_stat_archiver_archived_total", MetricType::Counter, "WAL files archived successfully.", {}};
const metrics::Descriptor kArchiveFailed{"pg_stat_archiver_failed_total",
                                         MetricType::Counter,
                                         "Failed attempts to archive a WAL file.",
                                         {}};
const metrics::Descriptor kArchiverFailing{
    "pg_stat_archiver_failing",
    MetricType::Gauge,
    "1 when the archiver's newest attempt failed (no success since the last failure).",
    {}};
const metrics::Descriptor kReadyFiles{
    "pg_stat_archiver_ready_files",
    MetricType::Gauge,
    "WAL segments waiting to be archived (.ready files in pg_wal/archive_status).",
    {}};
const metrics::Descriptor kCheckpoints{"pg_checkpoints_total",
                                       MetricType::Counter,
                                       "Checkpoints started, by what triggered them.",
                                       {"trigger"}};
const metrics::Descriptor kCheckpointWrite{
    "pg_checkpoint_write_seconds_total",
    MetricType::Counter,
    "Time checkpoints spent writing files to disk, in seconds.",
    {}};
const metrics::Descriptor kCheckpointSync{
    "pg_checkpoint_sync_seconds_total",
    MetricType::Counter,
    "Time checkpoints spent synchronizing files to disk, in seconds.",
    {}};
const metrics::Descriptor kCheckpointBuffers{"pg_checkpoint_buffers_written_total",
                                             MetricType::Counter,
                                             "Buffers written by checkpoints.",
                                             {}};
const metrics::Descriptor kWalBytes{
    "pg_wal_directory_bytes", MetricType::Gauge, "Size of the files in pg_wal, in bytes.", {}};
const metrics::Descriptor kWalFiles{
    "pg_wal_directory_files", MetricType::Gauge, "Files in pg_wal.", {}};

struct Capabilities {
  bool read_all_stats = false;
  bool waldir = false;
  bool archive_statusdir = false;
  bool activity = false;
  bool slots = false;
  bool prepared = false;
  bool replication = false;
  bool archiver = false;
  bool checkpoints = false;
};

Capabilities ReadCapabilities(pg::Session& session) {
  const pg::Rows rows = session.Query(MaintenanceCapabilitiesSql(session.ServerVersionNum()));
  if (rows.empty()) throw pg::Error(pg::ErrorKind::kQuery, "the privilege lookup returned no row");
  auto flag = [&rows](const char* column) {
    return rows.Bool(0, rows.Column(column)).value_or(false);
  };
  return {flag("read_all_stats"), flag("waldir"),   flag("archive_statusdir"),
          flag("activity"),       flag("slots"),    flag("prepared"),
          flag("replication"),    flag("archiver"), flag("checkpoints")};
}

void CollectDatabases(pg::Session& session, const Capabilities& can,
                      Observations::Maintenance& seen, metrics::FamilySet& out) {
  const pg::Rows rows = session.Query(DatabaseAgesSql(can.read_all_stats));
  const std::size_t datname = rows.Column("datname");
  const std::size_t xid_age = rows.Column("xid_age");
  const std::size_t mxid_age = rows.Column("mxid_age");
  const std::size_t size = rows.Column("size_bytes");
  std::size_t unsized = 0;
  for (std::size_t row = 0; row < rows.size(); ++row) {
    const std::string name = rows.Text(row, datname);
    const metrics::Labels labels{{"datname", name}};
    if (auto age = rows.Number(row, xid_age)) {
      out.Add(kXidAge, labels, *age);
      if (!seen.xid_age || *age > seen.xid_age->age) seen.xid_age = {name, *age};
    }
    if (auto age = rows.Number(row, mxid_age)) {
      out.Add(kMxidAge, labels, *age);
      if (!seen.mxid_age || *age > seen.mxid_age->age) seen.mxid_age = {name, *age};
    }
    if (auto bytes = rows.Number(row, size)) {
      out.Add(kDatabaseSize, labels, *bytes);
    } else {
      ++unsized;
    }
  }
  if (unsized > 0) {
    seen.unavailable.push_back(
        std::to_string(unsized) +
        " databases have no pg_database_size_bytes: the monitoring role may not connect to "
        "them (GRANT CONNECT ON DATABASE, or GRANT pg_monitor TO the role)");
  }
}

void CollectXminHorizon(pg::Session& session, const Capabilities& can,
                        Observations::Maintenance& seen, metrics::FamilySet& out) {
  XminHolders holders;
  // Without pg_read_all_stats other roles' backend_xmin and the walsenders' feedback read as
  // NULL: a partial answer would look like no holder at all, so those kinds are left out.
  holders.transaction = can.activity && can.read_all_stats;
  holders.replication_slot = can.slots;
  holders.prepared_transaction = can.prepared;
  holders.standby_feedback = can.replication && can.read_all_stats;
  if (!can.read_all_stats) {
    seen.unavailable.push_back(
        "the monitoring role is not a member of pg_read_all_stats: other roles' transactions "
        "and the standbys' feedback are hidden, so pg_xmin_horizon_age for holder "
        "\"transaction\" and \"standby_feedback\" is left out (GRANT pg_monitor TO the role)");
  }
  if (!can.slots) seen.unavailable.push_back("pg_replication_slots is not readable by the role");
  if (!can.prepared) seen.unavailable.push_back("pg_prepared_xacts is not readable by the role");
  const std::string sql = XminHorizonSql(holders);
  if (sql.empty()) return;
  seen.xmin_horizon_readable = true;
  std::array<std::pair<const char*, bool>, 4> kinds{
      {{"transaction", holders.transaction},
       {"replication_slot", holders.replication_slot},
       {"prepared_transaction", holders.prepared_transaction},
       {"standby_feedback", holders.standby_feedback}}};
  std::array<double, 4> ages{};
  const pg::Rows rows = session.Query(sql);
  const std::size_t holder = rows.Column("holder");
  const std::size_t age = rows.Column("age");
  for (std::size_t row = 0; row < rows.size(); ++row) {
    const auto value = rows.Number(row, age);
    if (!value) continue;
    const std::string kind = rows.Text(row, holder);
    for (std::size_t i = 0; i < kinds.size(); ++i) {
      if (kind == kinds[i].first) ages[i] = *value;
    }
    // An xmin as new as the next transaction holds nothing back (a monitoring poll's snapshot).
    // At the same age, a session's snapshot is held by the prepared transaction, slot or standby
    // whose xmin it took, not the other way round: they are named.
    const auto& oldest = seen.xmin_horizon;
    const bool older =
        !oldest || *value > oldest->age ||
        (*value == oldest->age && oldest->kind == "transaction" && kind != "transaction");
    if (*value <= 0 || !older) continue;
    auto text = [&](const char* column) { return rows.At(row, rows.Column(column)); };
    seen.xmin_horizon = Observations::Maintenance::Holder{kind,
                                                          *value,
                                                          rows.Number(row, rows.Column("pid")),
                                                          text("application"),
                                                          text("usename"),
                                                          text("state"),
                                                          text("since"),
                                                          text("slot"),
                                                          text("gid"),
                                                          text("standby")};
  }
  for (std::size_t i = 0; i < kinds.size(); ++i) {
    if (!kinds[i].second) continue;
    out.Add(kXminHorizon, {{"holder", kinds[i].first}}, ages[i]);
  }
}

void CollectArchiver(pg::Session& session, const Capabilities& can, Observations::Maintenance& seen,
                     metrics::FamilySet& out) {
  if (!can.archiver) {
    seen.unavailable.push_back(
        "pg_stat_archiver is not readable by the role: the archiver series are left out");
    return;
  }
  const pg::Rows rows = session.Query(kArchiverSql);
  if (rows.empty()) return;
  Observations::Maintenance::Archiver archiver;
  archiver.mode = rows.Text(0, rows.Column("mode"));
  archiver.archived = rows.Number(0, rows.Column("archived")).value_or(0);
  archiver.failed = rows.Number(0, rows.Column("failed")).value_or(0);
  archiver.failing = rows.Bool(0, rows.Column("failing")).value_or(false);
  archiver.last_failed_wal = rows.At(0, rows.Column("last_failed_wal"));
  archiver.last_failed_time = rows.At(0, rows.Column("last_failed_time"));
  out.Add(kArchived, {}, archiver.archived);
  out.Add(kArchiveFailed, {}, archiver.failed);
  out.Add(kArchiverFailing, {}, archiver.failing ? 1 : 0);
  if (can.archive_statusdir) {
    const pg::Rows ready = session.Query(kArchiveReadySql);
    archiver.ready_files = ready.empty() ? std::nullopt : ready.Number(0, ready.Column("ready"));
    if (archiver.ready_files) {
      out.Add(kReadyFiles, {}, *archiver.ready_files);
    }
  } else {
    seen.unavailable.push_back(
        "pg_ls_archive_statusdir() is not permitted to the monitoring role: "
        "pg_stat_archiver_ready_files is left out (GRANT pg_monitor TO the role)");
  }
  seen.archiver = archiver;
}

void CollectCheckpoints(pg::Session& session, const Capabilities& can,
                        Observations::Maintenance& seen, metrics::FamilySet& out) {
  const int version = session.ServerVersionNum();
  if (!can.checkpoints) {
    seen.unavailable.push_back(
        std::string(version >= 170000 ? "pg_stat_checkpointer" : "pg_stat_bgwriter") +
        " is not readable by the role: the checkpoint series are left out");
    return;
  }
  const pg::Rows rows = session.Query(CheckpointsSql(version));
  if (rows.empty()) return;
  if (auto timed = rows.Number(0, rows.Column("timed"))) {
    out.Add(kCheckpoints, {{"trigger", "timed"}}, *timed);
  }
  if (auto requested = rows.Number(0, rows.Column("requested"))) {
    out.Add(kCheckpoints, {{"trigger", "requested"}}, *requested);
  }
  if (auto write_ms = rows.Number(0, rows.Column("write_ms"))) {
    out.Add(kCheckpointWrite, {}, *write_ms / 1000);
  }
  if (auto sync_ms = rows.Number(0, rows.Column("sync_ms"))) {
    out.Add(kCheckpointSync, {}, *sync_ms / 1000);
  }
  if (auto buffers = rows.Number(0, rows.Column("buffers"))) {
    out.Add(kCheckpointBuffers, {}, *buffers);
  }
}

void CollectWalDirectory(pg::Session& session, const Capabilities& can,
                         Observations::Maintenance& seen, metrics::FamilySet& out) {
  if (!can.waldir) {
    seen.unavailable.push_back(
        "pg_ls_waldir() is not permitted to the monitoring role: pg_wal_directory_bytes and "
        "pg_wal_directory_files are left out (GRANT pg_monitor TO the role)");
    return;
  }
  const pg::Rows rows = session.Query(kWalDirectorySql);
  if (rows.empty()) return;
  const auto bytes = rows.Number(0, rows.Column("bytes"));
  const auto files = rows.Number(0, rows.Column("files"));
  if (bytes) {
    out.Add(kWalBytes, {}, *bytes);
    seen.wal_bytes = bytes;
  }
  if (files) out.Add(kWalFiles, {}, *files);
}

}  // namespace

std::span<const metrics::Descriptor> MaintenanceMetrics() {
  static const metrics::Descriptor all[] = {
      kXidAge,         kMxidAge,           kDatabaseSize, kXminHorizon, kArchived,
      kArchiveFailed,  kArchiverFailing,   kReadyFiles,   kCheckpoints, kCheckpointWrite,
      kCheckpointSync, kCheckpointBuffers, kWalBytes,     kWalFiles};
  return all;
}

void MaintenanceCollector::Collect(CollectContext& context, metrics::FamilySet& out) {
  pg::Session& session = *context.session;
  const Capabilities can = ReadCapabilities(session);
  Observations::Maintenance seen;
  CollectDatabases(session, can, seen, out);
  CollectXminHorizon(session, can, seen, out);
  CollectArchiver(session, can, seen, out);
  CollectCheckpoints(session, can, seen, out);
  CollectWalDirectory(session, can, seen, out);
  seen.known = true;
  context.observations.maintenance = std::move(seen);
}

}  // namespace pgvigil::collectors
