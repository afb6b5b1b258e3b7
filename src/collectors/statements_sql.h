#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "pg/connection.h"

namespace pgvigil::collectors {

// pg_stat_statements as this poll may use it.
struct StatementsExtension {
  std::string schema;  // quoted, ready to prefix a name
  int version = 0;     // extversion as major * 100 + minor: 1.9 is 109
};

// pg_stat_database's sums over every database.
struct DatabaseTransactions {
  double commits = 0;
  double rollbacks = 0;
};

// What the catalog lookup read at the start of a poll. Catalog lookups only: nothing in it can
// fail on a server without the extension, so the agent never queries the extension where it is
// missing and starts by itself once it appears.
struct StatementsCatalog {
  std::uint32_t own_userid = 0;  // the monitoring session's role
  std::uint32_t own_dbid = 0;    // and database
  std::int64_t log_now_ms = 0;   // the server's clock, as its log writes it
  std::optional<DatabaseTransactions> transactions;
  std::optional<double> max;  // pg_stat_statements.max, once the library is loaded
  // nullopt where the extension is not usable, and `why` says what is missing.
  std::optional<StatementsExtension> extension;
  std::string why;
};

[[nodiscard]] StatementsCatalog LookUpStatements(pg::Session& session);

// pg_stat_statements_info (extension 1.9+, PostgreSQL 14+); nullopt before 1.9 or without a row.
struct StatementsInfo {
  std::optional<double> dealloc;
  std::optional<std::string> stats_reset;
};
[[nodiscard]] std::optional<StatementsInfo> ReadStatementsInfo(
    pg::Session& session, const StatementsExtension& extension);

// The counters query for a server version and extension version: 12 names the execution time
// total_time, 13+ total_exec_time; 14+ may hold a statement twice (toplevel true and false),
// summed by the reader; 17+ (extension 1.11) tells when each entry was created, which reveals
// resets of single entries.
[[nodiscard]] std::string StatementsSql(int server_version_num, const std::string& schema = "",
                                        int extension_version = 0);

// Texts of the statements with `queryids`, their first kMatchLength characters.
[[nodiscard]] std::string StatementTextsSql(const std::string& schema,
                                            const std::set<std::int64_t>& queryids);
// Enough to fingerprint any statement of the agent's; longer texts never match one.
inline constexpr std::size_t kMatchLength = 4096;

// Names of every database and role, by oid: kind 'd' or 'r', oid, name.
inline constexpr const char* kDatabaseAndRoleNamesSql =
    "SELECT 'd' AS kind, oid, datname AS name FROM pg_database "
    "UNION ALL SELECT 'r', oid, rolname FROM pg_roles";

// "1.10" -> 110; 0 where it does not read as a version.
[[nodiscard]] int ExtensionVersion(const std::string& text);

}  // namespace pgvigil::collectors
