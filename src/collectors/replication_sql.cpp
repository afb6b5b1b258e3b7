#include "collectors/replication_sql.h"

namespace pgvigil::collectors {
namespace {

// The server's WAL position: written WAL on a primary, replayed WAL on a standby. The string
// literal '0/0' stays untyped, so pg_stat_statements shows the statement as the agent sent it
// with its constants as parameters (pg::Fingerprint recognises it).
constexpr const char* kPosition =
    "CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END";

// What a cascading standby may send on: received or replayed, whichever is further.
constexpr const char* kSendPosition =
    "CASE WHEN pg_is_in_recovery() THEN greatest(pg_last_wal_receive_lsn(), "
    "pg_last_wal_replay_lsn()) ELSE pg_current_wal_lsn() END";

}  // namespace

std::string ReplicationStatusSql(int server_version_num) {
  std::string sql = std::string(
                        "SELECT pg_is_in_recovery() AS in_recovery, "
                        "pg_wal_lsn_diff(") +
                    kPosition +
                    ", '0/0') AS position_bytes, "
                    "pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())"
                    " AS receive_minus_replay_bytes, "
                    "date_part('epoch', now() - pg_last_xact_replay_timestamp())"
                    " AS since_last_replay_seconds, "
                    "date_part('epoch', current_setting('wal_receiver_timeout')::interval) * 1000"
                    " AS wal_receiver_timeout_ms";
  // PostgreSQL 13 added max_slot_wal_keep_size.
  if (server_version_num >= 130000) {
    sql += ", current_setting('max_slot_wal_keep_size') AS max_slot_wal_keep_size";
  }
  return sql;
}

std::string ReplicationStandbysSql(int /*server_version_num*/) {
  // The same columns on 12–18: pg_stat_replication's lag times came with 10.
  return std::string(
             "SELECT coalesce(r.application_name, '') AS application_name, "
             "host(r.client_addr) AS client_addr, r.state, r.sync_state, "
             "pg_wal_lsn_diff(p.lsn, r.sent_lsn) AS sent_bytes, "
             "pg_wal_lsn_diff(p.lsn, r.write_lsn) AS write_bytes, "
             "pg_wal_lsn_diff(p.lsn, r.flush_lsn) AS flush_bytes, "
             "pg_wal_lsn_diff(p.lsn, r.replay_lsn) AS replay_bytes, "
             "date_part('epoch', r.write_lag) AS write_seconds, "
             "date_part('epoch', r.flush_lag) AS flush_seconds, "
             "date_part('epoch', r.replay_lag) AS replay_seconds "
             "FROM pg_stat_replication r, (SELECT ") +
         kSendPosition + " AS lsn) p ORDER BY 1, r.pid";
}

std::string WalReceiverSql(int /*server_version_num*/) {
  // sender_host and sender_port exist from 11.
  return "SELECT status, sender_host, sender_port, "
         "date_part('epoch', now() - last_msg_receipt_time) AS last_message_age_seconds "
         "FROM pg_stat_wal_receiver";
}

std::string ReplicationSlotsSql(int server_version_num) {
  std::string sql =
      std::string(
          "SELECT s.slot_name, s.slot_type, s.database, s.active, "
          "pg_wal_lsn_diff(p.lsn, s.restart_lsn) AS retained_bytes") +
      // PostgreSQL 13 added wal_status and safe_wal_size.
      (server_version_num >= 130000 ? ", s.wal_status, s.safe_wal_size AS safe_wal_bytes" : "") +
      // PostgreSQL 17 added inactive_since; before, the collector observes it.
      (server_version_num >= 170000
           ? ", date_part('epoch', now() - s.inactive_since) AS inactive_seconds"
           : "") +
      " FROM pg_replication_slots s, (SELECT " + kPosition + " AS lsn) p ORDER BY s.slot_name";
  return sql;
}

}  // namespace pgvigil::collectors
