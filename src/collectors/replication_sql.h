#pragma once

#include <string>

namespace pgvigil::collectors {

// The replication collector's queries by server version (docs/metrics.md, replication). Every
// WAL position is read on the server's own clock and position in the same statement as what it
// is compared with, and nothing calls a function a standby refuses (pg_current_wal_lsn() only
// where pg_is_in_recovery() is false).

// One row: in_recovery, position_bytes (the current WAL position as bytes; the replayed position
// on a standby), receive_minus_replay_bytes and since_last_replay_seconds (standby only),
// wal_receiver_timeout_ms, and on 13+ max_slot_wal_keep_size (as the server shows it, "-1" when
// unset).
[[nodiscard]] std::string ReplicationStatusSql(int server_version_num);

// pg_stat_replication, a row per standby (on a standby: the standbys cascading from it): each
// stage's distance in bytes from the server's position (on a standby, what it has received or
// replayed, whichever is further) and PostgreSQL's lag times in seconds. A role without
// pg_monitor reads NULL for everything but the standby's name and address.
[[nodiscard]] std::string ReplicationStandbysSql(int server_version_num);

// pg_stat_wal_receiver on a standby: no row while no WAL receiver runs.
[[nodiscard]] std::string WalReceiverSql(int server_version_num);

// pg_replication_slots, physical and logical: retained_bytes from the server's position (the
// replayed position on a standby) to restart_lsn; wal_status and safe_wal_bytes from 13;
// inactive_seconds from inactive_since on 17+.
[[nodiscard]] std::string ReplicationSlotsSql(int server_version_num);

}  // namespace pgvigil::collectors
