#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "pg/result.h"

namespace pgvigil::logs {

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

// bytea in PostgreSQL's hex output format ("\\x4142") to its bytes.
[[nodiscard]] std::string DecodeHexBytea(std::string_view text);

}  // namespace pgvigil::logs
