#include "collectors/statements_sql.h"

#include "collectors/statements_delta.h"
#include "pg/quote.h"

namespace pgvigil::collectors {

int ExtensionVersion(const std::string& text) {
  const auto dot = text.find('.');
  try {
    const int major = std::stoi(text.substr(0, dot));
    const int minor = dot == std::string::npos ? 0 : std::stoi(text.substr(dot + 1));
    return major * 100 + minor;
  } catch (const std::exception&) {
    return 0;
  }
}

StatementsCatalog LookUpStatements(pg::Session& session) {
  const pg::Rows rows = session.Query(
      "SELECT (SELECT oid FROM pg_roles WHERE rolname = current_user) AS own_userid, "
      "(SELECT oid FROM pg_database WHERE datname = current_database()) AS own_dbid, "
      "current_setting('pg_stat_statements.max', true) AS max, "
      "(SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
      "WHERE e.extname = 'pg_stat_statements') AS schema, "
      "(SELECT extversion FROM pg_extension WHERE extname = 'pg_stat_statements') AS version, "
      "(date_part('epoch', clock_timestamp() AT TIME ZONE current_setting('log_timezone')) * "
      "1000)::bigint AS log_now, "
      "(SELECT sum(xact_commit) FROM pg_stat_database) AS xact_commit, "
      "(SELECT sum(xact_rollback) FROM pg_stat_database) AS xact_rollback");
  if (rows.empty()) throw pg::Error(pg::ErrorKind::kQuery, "the catalog lookup returned no row");
  StatementsCatalog catalog;
  catalog.log_now_ms =
      static_cast<std::int64_t>(rows.Number(0, rows.Column("log_now")).value_or(0));
  catalog.own_userid = ToOid(rows.Number(0, rows.Column("own_userid")));
  catalog.own_dbid = ToOid(rows.Number(0, rows.Column("own_dbid")));
  const auto commit = rows.FindColumn("xact_commit");
  const auto rollback = rows.FindColumn("xact_rollback");
  if (commit && rollback) {
    const auto commits = rows.Number(0, *commit);
    const auto rollbacks = rows.Number(0, *rollback);
    if (commits && rollbacks) catalog.transactions = DatabaseTransactions{*commits, *rollbacks};
  }
  const auto& schema = rows.At(0, rows.Column("schema"));
  const auto& max = rows.At(0, rows.Column("max"));
  if (!schema) {
    catalog.why =
        "pg_stat_statements is not installed in the monitored database "
        "(CREATE EXTENSION pg_stat_statements)";
    return catalog;
  }
  if (!max) {
    catalog.why =
        "pg_stat_statements is installed but its library is not loaded (add it to "
        "shared_preload_libraries and restart the server)";
    return catalog;
  }
  catalog.max = rows.Number(0, rows.Column("max"));
  catalog.extension = StatementsExtension{pg::QuoteIdentifier(*schema) + ".",
                                          ExtensionVersion(rows.Text(0, rows.Column("version")))};
  return catalog;
}

std::optional<StatementsInfo> ReadStatementsInfo(pg::Session& session,
                                                 const StatementsExtension& extension) {
  // pg_stat_statements_info exists from extension version 1.9 (PostgreSQL 14).
  if (extension.version < 109) return std::nullopt;
  const pg::Rows info = session.Query("SELECT dealloc, stats_reset FROM " + extension.schema +
                                      "pg_stat_statements_info");
  if (info.empty()) return std::nullopt;
  return StatementsInfo{info.Number(0, info.Column("dealloc")),
                        info.At(0, info.Column("stats_reset"))};
}

std::string StatementsSql(int server_version_num, const std::string& schema,
                          int extension_version) {
  const char* exec = server_version_num >= 130000 ? "total_exec_time" : "total_time";
  const std::string since = extension_version >= 111 ? ", stats_since" : "";
  return std::string("SELECT userid, dbid, queryid, calls, ") + exec + " AS exec_ms, rows" + since +
         " FROM " + schema + "pg_stat_statements(false)";
}

std::string StatementTextsSql(const std::string& schema, const std::set<std::int64_t>& queryids) {
  std::string list;
  for (const std::int64_t id : queryids) list += (list.empty() ? "" : ",") + std::to_string(id);
  // One array constant, so this statement keeps one queryid however many ids it asks for.
  return "SELECT userid, dbid, queryid, left(query, " + std::to_string(kMatchLength) +
         ") AS query FROM " + schema + "pg_stat_statements(true) WHERE queryid = ANY('{" + list +
         "}'::bigint[])";
}

}  // namespace pgvigil::collectors
