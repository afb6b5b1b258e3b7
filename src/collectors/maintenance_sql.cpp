#include "collectors/maintenance_sql.h"

#include <vector>

namespace pgvigil::collectors {
namespace {

// Timestamps as /health writes them.
constexpr const char* kIsoFormat = "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'";

std::string Iso(const std::string& column) {
  return "to_char(" + column + " AT TIME ZONE 'UTC', " + kIsoFormat + ")";
}

}  // namespace

std::string MaintenanceCapabilitiesSql(int server_version_num) {
  const char* checkpoints =
      server_version_num >= 170000 ? "pg_stat_checkpointer" : "pg_stat_bgwriter";
  return std::string(
             "SELECT pg_has_role('pg_read_all_stats', 'USAGE') AS read_all_stats, "
             "has_function_privilege('pg_ls_waldir()', 'EXECUTE') AS waldir, "
             "has_function_privilege('pg_ls_archive_statusdir()', 'EXECUTE') "
             "AS archive_statusdir, "
             "has_table_privilege('pg_stat_activity', 'SELECT') AS activity, "
             "has_table_privilege('pg_replication_slots', 'SELECT') AS slots, "
             "has_table_privilege('pg_prepared_xacts', 'SELECT') AS prepared, "
             "has_table_privilege('pg_stat_replication', 'SELECT') AS replication, "
             "has_table_privilege('pg_stat_archiver', 'SELECT') AS archiver, "
             "has_table_privilege('") +
         checkpoints + "', 'SELECT') AS checkpoints";
}

std::string DatabaseAgesSql(bool read_all_stats) {
  // pg_database_size needs CONNECT on the database or pg_read_all_stats; a database dropped
  // meanwhile gives NULL, not an error.
  const std::string size = read_all_stats ? "pg_database_size(oid)"
                                          : "CASE WHEN has_database_privilege(oid, 'CONNECT') THEN "
                                            "pg_database_size(oid) END";
  return "SELECT datname, age(datfrozenxid) AS xid_age, mxid_age(datminmxid) AS mxid_age, " + size +
         " AS size_bytes FROM pg_database";
}

std::string XminHorizonSql(const XminHolders& holders) {
  // Every branch names its columns: any of them may come first.
  auto branch = [](const std::string& holder, const std::string& age, const std::string& pid,
                   const std::string& application, const std::string& user,
                   const std::string& state, const std::string& since, const std::string& slot,
                   const std::string& gid, const std::string& standby, const std::string& rest) {
    return "(SELECT '" + holder + "'::text AS holder, " + age + " AS age, " + pid + " AS pid, " +
           application + " AS application, " + user + " AS usename, " + state + " AS state, " +
           since + " AS since, " + slot + " AS slot, " + gid + " AS gid, " + standby +
           " AS standby " + rest + " ORDER BY 2 DESC LIMIT 1)";
  };
  const std::string none = "NULL::text";
  std::vector<std::string> parts;
  // Walsenders are left to standby_feedback: their xmin is the standby's.
  if (holders.transaction) {
    parts.push_back(branch("transaction", "greatest(age(backend_xmin), age(backend_xid))", "pid",
                           "application_name::text", "usename::text", "state::text",
                           Iso("xact_start"), none, none, none,
                           "FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                           "AND backend_type IS DISTINCT FROM 'walsender' "
                           "AND (backend_xmin IS NOT NULL OR backend_xid IS NOT NULL)"));
  }
  if (holders.replication_slot) {
    parts.push_back(branch("replication_slot", "greatest(age(xmin), age(catalog_xmin))",
                           "NULL::int", none, none, none, none, "slot_name::text", none, none,
                           "FROM pg_replication_slots "
                           "WHERE xmin IS NOT NULL OR catalog_xmin IS NOT NULL"));
  }
  if (holders.prepared_transaction) {
    parts.push_back(branch("prepared_transaction", "age(transaction)", "NULL::int", none,
                           "owner::text", none, Iso("prepared"), none, "gid::text", none,
                           "FROM pg_prepared_xacts"));
  }
  if (holders.standby_feedback) {
    parts.push_back(branch("standby_feedback", "age(backend_xmin)", "pid", "application_name::text",
                           "usename::text", "state::text", none, none, none,
                           "application_name::text",
                           "FROM pg_stat_replication WHERE backend_xmin IS NOT NULL"));
  }
  std::string sql;
  for (const std::string& part : parts) sql += (sql.empty() ? "" : " UNION ALL ") + part;
  return sql;
}

std::string CheckpointsSql(int server_version_num) {
  if (server_version_num >= 170000) {
    return "SELECT num_timed AS timed, num_requested AS requested, write_time AS write_ms, "
           "sync_time AS sync_ms, buffers_written AS buffers FROM pg_stat_checkpointer";
  }
  return "SELECT checkpoints_timed AS timed, checkpoints_req AS requested, "
         "checkpoint_write_time AS write_ms, checkpoint_sync_time AS sync_ms, "
         "buffers_checkpoint AS buffers FROM pg_stat_bgwriter";
}

}  // namespace pgvigil::collectors
