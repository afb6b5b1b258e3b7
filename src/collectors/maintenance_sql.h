#pragma once

#include <string>

namespace pgvigil::collectors {

// What the monitoring role may read, asked of the catalog before any view or function is touched:
// a query the role may not run would write an ERROR line to the server log on every poll. One row,
// booleans: read_all_stats (pg_read_all_stats, through pg_monitor: other roles' xmins and the
// standbys' feedback), waldir and archive_statusdir (pg_ls_waldir, pg_ls_archive_statusdir), and
// one per view: activity, slots, prepared, replication, archiver, checkpoints.
[[nodiscard]] std::string MaintenanceCapabilitiesSql(int server_version_num);

// Per database: datname, xid_age (age(datfrozenxid)), mxid_age (mxid_age(datminmxid)) and
// size_bytes (pg_database_size, NULL where the role may not connect and is no pg_read_all_stats
// member: calling it there would fail).
[[nodiscard]] std::string DatabaseAgesSql(bool read_all_stats);

// The oldest xmin each kind of holder pins, one row per kind that has one: holder, age, pid,
// application, usename, state, since, slot, gid, standby. `holders` lists which kinds the role may
// read ("transaction", "replication_slot", "prepared_transaction", "standby_feedback"); a kind
// left out is not queried. Empty when none is readable.
struct XminHolders {
  bool transaction = false;
  bool replication_slot = false;
  bool prepared_transaction = false;
  bool standby_feedback = false;
};
[[nodiscard]] std::string XminHorizonSql(const XminHolders& holders);

// pg_stat_archiver and archive_mode: mode, archived, failed, failing, last_failed_wal,
// last_failed_time (ISO 8601, UTC).
inline constexpr const char* kArchiverSql =
    "SELECT current_setting('archive_mode') AS mode, archived_count AS archived, "
    "failed_count AS failed, "
    "(last_failed_time IS NOT NULL AND (last_archived_time IS NULL OR "
    "last_failed_time > last_archived_time)) AS failing, last_failed_wal, "
    "to_char(last_failed_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
    "AS last_failed_time FROM pg_stat_archiver";

// Segments waiting to be archived (PostgreSQL 12+: pg_ls_archive_statusdir).
inline constexpr const char* kArchiveReadySql =
    "SELECT count(*) AS ready FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'";

// pg_wal's regular files: bytes and files.
inline constexpr const char* kWalDirectorySql =
    "SELECT coalesce(sum(size), 0) AS bytes, count(*) AS files FROM pg_ls_waldir()";

// Checkpoint counters under one set of column names: timed, requested, write_ms, sync_ms,
// buffers. pg_stat_bgwriter before PostgreSQL 17, pg_stat_checkpointer from 17.
[[nodiscard]] std::string CheckpointsSql(int server_version_num);

}  // namespace pgvigil::collectors
