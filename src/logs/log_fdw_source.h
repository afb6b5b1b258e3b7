#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "pg/result.h"

namespace pgvigil::logs {

// Follows the newest server log file through RDS's log_fdw extension (docs/logs.md, "RDS and
// log_fdw"), for servers whose log is reachable only so: list_postgres_log_files() names the
// files and their sizes, create_foreign_table_for_log_file() makes a foreign table over one.
//
// Each poll lists the files (a directory read) and picks the newest one of the format by name
// (RDS names them by the hour). The agent keeps one foreign table, pgvigil_log_<format>, over
// that file, in the schema the operator named; when the newest file changes the table is
// dropped and created over the new one in one short writable transaction (BEGIN READ WRITE ...
// COMMIT), the only writes the agent makes. The table's filename option says which file it
// covers, so a restarted agent reuses it. The
// file is scanned only when its size grew: each such scan reads the whole file on the server
// (a foreign table has no index or offset), and the rows past those already read are handed
// out, csvlog rows as csvlog records rebuilt from the columns the log collector reads, stderr
// rows as lines. When the file grew during the scan its last row may be a line the server was
// still writing: it is held back and read again at the next poll. Like ServerLogFollower it
// starts at the end, hands out each row once and, when a newer file appears, reads the rest of
// the old one first; files between the two are skipped. Used by one thread.
class LogFdwFollower {
 public:
  // format: csvlog (files named *.csv) or stderr (the others, but *.json).
  LogFdwFollower(std::string format, std::string server, std::string schema);

  // Throws pg::Error when log_fdw, the foreign server or the schema is missing, the role lacks a
  // grant, the server is a standby, or no file of the format exists; nothing is called that
  // would fail first.
  void Poll(pg::Session& session, const std::function<void(std::string_view)>& data,
            const std::function<void()>& rotated);

  static constexpr std::int64_t kMaxRowsPerPoll = 100000;

 private:
  struct File {
    std::string name;
    std::int64_t size = 0;
  };
  // The file the table covers now ("" when there is no table); throws unless every grant is
  // there.
  [[nodiscard]] std::string Check(pg::Session& session) const;
  [[nodiscard]] File Newest(pg::Session& session) const;
  [[nodiscard]] std::optional<std::int64_t> SizeOf(pg::Session& session,
                                                   const std::string& file) const;
  // (Re)creates the table over `file` in one writable transaction.
  void Open(pg::Session& session, const std::string& file, bool exists);
  // Hands out up to kMaxRowsPerPoll rows past rows_read_. `size` is the file's size listed
  // before the scan; `finished`: the server writes to it no more.
  void ReadNew(pg::Session& session, std::int64_t size, bool finished,
               const std::function<void(std::string_view)>& data);

  std::string format_;
  std::string server_;
  std::string schema_;
  std::string table_;            // "schema"."pgvigil_log_<format>"
  std::string file_;             // the file being read
  std::int64_t size_read_ = -1;  // the file's size when it was last read to its end
  std::int64_t rows_read_ = 0;
  bool behind_ = false;  // the last scan stopped at kMaxRowsPerPoll
  bool started_ = false;
};

// One csvlog record with the given fields (time, pid, severity, SQLSTATE, message,
// application_name) in their csvlog positions, the others empty.
[[nodiscard]] std::string CsvlogRecord(std::string_view time, std::string_view pid,
                                       std::string_view severity, std::string_view sqlstate,
                                       std::string_view message, std::string_view application_name);

}  // namespace pgvigil::logs
