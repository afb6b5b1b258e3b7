#include "logs/log_fdw_source.h"

#include <vector>

#include "pg/quote.h"

namespace pgvigil::logs {
namespace {

void AppendCsvField(std::string& out, std::string_view field) {
  if (field.find_first_of(",\"\n\r") == std::string_view::npos) {
    out += field;
    return;
  }
  out += '"';
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

constexpr const char* kListing = "list_postgres_log_files()";
constexpr const char* kCreating = "create_foreign_table_for_log_file(text,text,text)";

}  // namespace

std::string CsvlogRecord(std::string_view time, std::string_view pid, std::string_view severity,
                         std::string_view sqlstate, std::string_view message,
                         std::string_view application_name) {
  // csvlog's fields 1, 4, 12, 13, 14 and 23 (ParseCsvlog reads those).
  std::vector<std::string_view> fields(23);
  fields[0] = time;
  fields[3] = pid;
  fields[11] = severity;
  fields[12] = sqlstate;
  fields[13] = message;
  fields[22] = application_name;
  std::string out;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += ',';
    AppendCsvField(out, fields[i]);
  }
  return out + "\n";
}

LogFdwFollower::LogFdwFollower(std::string format, std::string server, std::string schema)
    : format_(std::move(format)),
      server_(std::move(server)),
      schema_(std::move(schema)),
      table_(pg::QuoteIdentifier(schema_) + "." + pg::QuoteIdentifier("pgvigil_log_" + format_)) {}

std::string LogFdwFollower::Check(pg::Session& session) const {
  // Each function is called only where what it needs exists: has_*_privilege on a missing
  // object is an error, on a NULL oid it is NULL. No server error in normal operation
  // (docs/architecture.md).
  const std::string schema =
      "to_regnamespace(" + pg::QuoteLiteral(pg::QuoteIdentifier(schema_)) + ")::oid";
  const pg::Rows rows = session.Query(
      std::string("SELECT coalesce(has_function_privilege(to_regprocedure('") + kListing +
      "')::oid, 'EXECUTE'), false) AS may_list, "
      "coalesce(has_function_privilege(to_regprocedure('" +
      kCreating +
      "')::oid, 'EXECUTE'), false) AS may_create, "
      "(SELECT has_server_privilege(oid, 'USAGE') FROM pg_foreign_server WHERE srvname = " +
      pg::QuoteLiteral(server_) +
      ") AS may_use_server, "
      "coalesce(has_schema_privilege(" +
      schema + ", 'CREATE') AND has_schema_privilege(" + schema +
      ", 'USAGE'), false) AS may_create_in_schema, "
      "pg_is_in_recovery() AS standby, "
      "(SELECT substring(o FROM 10) FROM pg_foreign_table t, unnest(t.ftoptions) o "
      "WHERE t.ftrelid = to_regclass(" +
      pg::QuoteLiteral(table_) + ") AND o LIKE 'filename=%' LIMIT 1) AS covers");
  if (rows.empty()) throw pg::Error(pg::ErrorKind::kQuery, "log_fdw check returned no row");
  std::vector<std::string> missing;
  if (!rows.Bool(0, rows.Column("may_list")).value_or(false)) {
    missing.push_back("EXECUTE on list_postgres_log_files() (CREATE EXTENSION log_fdw)");
  }
  if (!rows.Bool(0, rows.Column("may_create")).value_or(false)) {
    missing.push_back("EXECUTE on create_foreign_table_for_log_file(text, text, text)");
  }
  const auto server = rows.At(0, rows.Column("may_use_server"));
  if (!server) {
    missing.push_back("the foreign server " + server_ + " (CREATE SERVER " + server_ +
                      " FOREIGN DATA WRAPPER log_fdw)");
  } else if (!rows.Bool(0, rows.Column("may_use_server")).value_or(false)) {
    missing.push_back("USAGE on FOREIGN SERVER " + server_);
  }
  if (!rows.Bool(0, rows.Column("may_create_in_schema")).value_or(false)) {
    missing.push_back("CREATE and USAGE on the schema " + schema_ + " (which must exist)");
  }
  if (!missing.empty()) {
    std::string text = "log_fdw: the monitoring role lacks ";
    for (std::size_t i = 0; i < missing.size(); ++i) text += (i > 0 ? ", " : "") + missing[i];
    throw pg::Error(pg::ErrorKind::kQuery, text + " (docs/logs.md, RDS and log_fdw)");
  }
  if (rows.Bool(0, rows.Column("standby")).value_or(false)) {
    throw pg::Error(pg::ErrorKind::kQuery,
                    "log_fdw: the server is a standby, where the agent cannot create its "
                    "foreign table; read the log on the primary or export it");
  }
  const auto covers = rows.At(0, rows.Column("covers"));
  if (!covers) return "";
  // log_fdw's filename option is the file's name; a stand-in's may be a path to it.
  const std::size_t slash = covers->rfind('/');
  return slash == std::string::npos ? *covers : covers->substr(slash + 1);
}

LogFdwFollower::File LogFdwFollower::Newest(pg::Session& session) const {
  const std::string which = format_ == "csvlog"
                                ? "file_name LIKE '%.csv'"
                                : "file_name NOT LIKE '%.csv' AND file_name NOT LIKE '%.json'";
  const pg::Rows rows =
      session.Query("SELECT file_name, file_size_bytes FROM list_postgres_log_files() WHERE " +
                    which + " ORDER BY file_name DESC LIMIT 1");
  if (rows.empty() || !rows.At(0, 0)) {
    throw pg::Error(pg::ErrorKind::kQuery,
                    "log_fdw lists no " + format_ +
                        " file: check log_destination (csvlog) and logging_collector");
  }
  return {*rows.At(0, 0), static_cast<std::int64_t>(rows.Number(0, 1).value_or(0))};
}

std::optional<std::int64_t> LogFdwFollower::SizeOf(pg::Session& session,
                                                   const std::string& file) const {
  const pg::Rows rows =
      session.Query("SELECT file_size_bytes FROM list_postgres_log_files() WHERE file_name = " +
                    pg::QuoteLiteral(file));
  if (rows.empty()) return std::nullopt;
  return static_cast<std::int64_t>(rows.Number(0, 0).value_or(0));
}

void LogFdwFollower::Open(pg::Session& session, const std::string& file, bool exists) {
  // The monitoring session is read-only (default_transaction_read_only): this one transaction
  // asks for read-write. The schema goes first on its search_path, where
  // create_foreign_table_for_log_file creates the table; the rest of the path stays, so the
  // function is found where it is installed. Statements are sent one by one, so each is one
  // entry of the agent's own load.
  (void)session.Query("BEGIN READ WRITE");
  try {
    (void)session.Query("SELECT set_config('search_path', " +
                        pg::QuoteLiteral(pg::QuoteIdentifier(schema_)) +
                        " || ', ' || current_setting('search_path'), true)");
    if (exists) (void)session.Query("DROP FOREIGN TABLE " + table_);
    (void)session.Query("SELECT create_foreign_table_for_log_file(" +
                        pg::QuoteLiteral("pgvigil_log_" + format_) + ", " +
                        pg::QuoteLiteral(server_) + ", " + pg::QuoteLiteral(file) + ")");
    (void)session.Query("COMMIT");
  } catch (const pg::Error&) {
    try {
      (void)session.Query("ROLLBACK");
    } catch (const pg::Error&) {  // NOLINT(bugprone-empty-catch): the first error is the one
    }
    throw;
  }
}

void LogFdwFollower::ReadNew(pg::Session& session, std::int64_t size, bool finished,
                             const std::function<void(std::string_view)>& data) {
  const std::string window = " FROM " + table_ + " OFFSET " + std::to_string(rows_read_) +
                             " LIMIT " + std::to_string(kMaxRowsPerPoll);
  // csvlog's time in the server's log_timezone, as the file has it ("... UTC" where that is
  // UTC), whatever the session's TimeZone and DateStyle.
  const pg::Rows rows = session.Query(
      format_ == "csvlog"
          ? "SELECT to_char(log_time AT TIME ZONE current_setting('log_timezone'), "
            "'YYYY-MM-DD HH24:MI:SS.MS') || CASE WHEN log_time AT TIME ZONE "
            "current_setting('log_timezone') = log_time AT TIME ZONE 'UTC' THEN ' UTC' ELSE ' ' "
            "|| current_setting('log_timezone') END AS log_time, process_id, error_severity, "
            "sql_state_code, message, application_name" +
                window
          : "SELECT log_entry" + window);
  std::size_t count = rows.size();
  if (static_cast<std::int64_t>(count) >= kMaxRowsPerPoll) {
    behind_ = true;  // more rows wait: the next poll reads on, grown or not
  } else {
    behind_ = false;
    size_read_ = size;
    // The file grew while it was scanned: its last row may be a line still being written.
    if (!finished && count > 0 && SizeOf(session, file_).value_or(size) != size) {
      --count;
      size_read_ = -1;
    }
  }
  auto field = [&](std::size_t row, std::size_t column) -> std::string_view {
    const auto& value = rows.At(row, column);
    return value ? std::string_view(*value) : std::string_view();
  };
  for (std::size_t row = 0; row < count; ++row) {
    if (format_ == "csvlog") {
      data(CsvlogRecord(field(row, 0), field(row, 1), field(row, 2), field(row, 3), field(row, 4),
                        field(row, 5)));
    } else {
      data(std::string(field(row, 0)) + "\n");
    }
  }
  rows_read_ += static_cast<std::int64_t>(count);
}

void LogFdwFollower::Poll(pg::Session& session, const std::function<void(std::string_view)>& data,
                          const std::function<void()>& rotated) {
  const std::string covers = Check(session);
  const File newest = Newest(session);
  if (!started_) {
    if (covers != newest.name) Open(session, newest.name, !covers.empty());
    // It starts at the end: the rows there are now are history.
    const pg::Rows count = session.Query("SELECT count(*)" + std::string(" FROM ") + table_);
    file_ = newest.name;
    rows_read_ = static_cast<std::int64_t>(count.empty() ? 0 : count.Number(0, 0).value_or(0));
    size_read_ = newest.size;
    started_ = true;
    return;
  }
  if (newest.name != file_) {
    // The rest of the file the server just left, while it is listed and the table covers it.
    if (covers == file_) {
      if (const auto size = SizeOf(session, file_)) ReadNew(session, *size, true, data);
    }
    rotated();
    Open(session, newest.name, !covers.empty());
    file_ = newest.name;
    rows_read_ = 0;
    size_read_ = -1;
    behind_ = false;
  } else if (covers != file_) {
    Open(session, file_, !covers.empty());  // dropped or changed by someone else
  }
  if (behind_ || newest.size != size_read_) ReadNew(session, newest.size, false, data);
}

}  // namespace pgvigil::logs
