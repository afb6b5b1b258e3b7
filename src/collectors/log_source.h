#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "pg/result.h"

namespace pgvigil::collectors {

// Splits a byte stream into log records: one per line for jsonlog; for csvlog a newline inside
// a quoted field does not end the record. A record longer than `max_record` keeps only its
// first `max_record` bytes and is flagged truncated, so memory stays bounded whatever the
// server writes.
class RecordSplitter {
 public:
  RecordSplitter(bool csv, std::size_t max_record) : csv_(csv), max_record_(max_record) {}

  using Sink = std::function<void(std::string_view record, bool truncated)>;
  void Feed(std::string_view bytes, const Sink& sink);
  // Emits a final record that has no newline yet (used when a file is rotated away).
  void Flush(const Sink& sink);

 private:
  bool csv_;
  std::size_t max_record_;
  bool in_quotes_ = false;
  bool truncated_ = false;
  std::string record_;
};

// Follows a file the way `tail -F` does: starts at its end (no replay of history), notices
// rotation (the path now names a new file: read the rest of the old one, then the new one from
// its start) and truncation (copytruncate: start again from 0). Bytes are handed out exactly
// once. Used by one thread.
class FileFollower {
 public:
  explicit FileFollower(std::string path) : path_(std::move(path)) {}
  ~FileFollower();
  FileFollower(const FileFollower&) = delete;
  FileFollower& operator=(const FileFollower&) = delete;

  // Reads what was written since the last call. `rotated` is called between the end of an old
  // file and the start of a new one. Throws std::runtime_error if the file cannot be read.
  void Poll(const std::function<void(std::string_view)>& data,
            const std::function<void()>& rotated);

 private:
  void ReadToEnd(const std::function<void(std::string_view)>& data);

  std::string path_;
  int fd_ = -1;
  dev_t device_ = 0;
  ino_t inode_ = 0;
  off_t offset_ = 0;
  bool started_ = false;
};

// Follows the server's current log through SQL, for an agent that does not run on the database
// host: pg_current_logfile(format) names the file, pg_stat_file sizes it, pg_read_binary_file
// reads it in chunks. Like FileFollower it starts at the end, hands out each byte once, follows a
// rotation to a new file name (reading the rest of the old file first) and starts again when the
// file shrinks. A rotation that keeps the name (rename and reopen) looks like a truncation here:
// what was written to the old file after the last poll is not read. Used by one thread.
class ServerLogFollower {
 public:
  explicit ServerLogFollower(std::string format) : format_(std::move(format)) {}

  // Throws pg::Error when the server writes no such log or the role may not read it.
  void Poll(pg::Session& session, const std::function<void(std::string_view)>& data,
            const std::function<void()>& rotated);

  static constexpr std::int64_t kChunk = 1 << 20;
  static constexpr std::int64_t kMaxPerPoll = 16 << 20;

 private:
  void ReadAvailable(pg::Session& session, const std::function<void(std::string_view)>& data);

  std::string format_;
  std::string path_;
  std::int64_t offset_ = 0;
  bool started_ = false;
};

// bytea in PostgreSQL's hex output format ("\x4142") to its bytes.
[[nodiscard]] std::string DecodeHexBytea(std::string_view text);

struct LogRecord {
  std::string time;
  std::string severity;          // ERROR, FATAL, ...
  std::string sqlstate;          // may be empty
  std::string message;           // never the statement or its parameters
  std::string application_name;  // of the session that logged it; "" when unknown
};

// One jsonlog record (PostgreSQL 15+). A truncated or malformed record still yields its
// severity and SQLSTATE when they are in the kept part (they come early in each line).
[[nodiscard]] std::optional<LogRecord> ParseJsonlog(std::string_view record, bool truncated);

// One csvlog record: fields 1 (time), 12 (severity), 13 (SQLSTATE), 14 (message) and 23
// (application_name).
[[nodiscard]] std::optional<LogRecord> ParseCsvlog(std::string_view record);

}  // namespace pgvigil::collectors
