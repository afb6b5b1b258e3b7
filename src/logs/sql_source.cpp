#include "logs/sql_source.h"

#include "pg/quote.h"

namespace pgvigil::logs {

std::string DecodeHexBytea(std::string_view text) {
  if (!text.starts_with("\\x")) {
    throw pg::Error(pg::ErrorKind::kQuery, "expected bytea in hex format");
  }
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw pg::Error(pg::ErrorKind::kQuery, "bad hex digit in bytea");
  };
  std::string bytes;
  bytes.reserve((text.size() - 2) / 2);
  for (std::size_t i = 2; i + 1 < text.size(); i += 2) {
    bytes += static_cast<char>(nibble(text[i]) * 16 + nibble(text[i + 1]));
  }
  return bytes;
}

void ServerLogFollower::Poll(pg::Session& session,
                             const std::function<void(std::string_view)>& data,
                             const std::function<void()>& rotated) {
  // The privileges first: calling a function the role may not execute is a server error, and
  // the agent causes none (docs/architecture.md).
  const pg::Rows current = session.Query(
      "SELECT has_function_privilege('pg_current_logfile(text)', 'EXECUTE') "
      "AND has_function_privilege('pg_stat_file(text, boolean)', 'EXECUTE') "
      "AND has_function_privilege('pg_read_binary_file(text, bigint, bigint, boolean)', "
      "'EXECUTE') AS allowed, "
      "CASE WHEN has_function_privilege('pg_current_logfile(text)', 'EXECUTE') "
      "THEN pg_current_logfile(" +
      pg::QuoteLiteral(format_) + ") END AS path");
  if (current.empty() || !current.Bool(0, 0).value_or(false)) {
    throw pg::Error(pg::ErrorKind::kQuery,
                    "the monitoring role may not read the server log: GRANT EXECUTE ON FUNCTION "
                    "pg_current_logfile(text), pg_stat_file(text, boolean) and "
                    "pg_read_binary_file(text, bigint, bigint, boolean) TO it, or set "
                    "log_source.path");
  }
  const auto& path = current.At(0, 1);
  if (!path) {
    throw pg::Error(pg::ErrorKind::kQuery, "the server writes no " + format_ +
                                               " log (logging_collector, log_destination)");
  }
  if (!started_) {
    const pg::Rows size =
        session.Query("SELECT size FROM pg_stat_file(" + pg::QuoteLiteral(*path) + ", true)");
    path_ = *path;
    offset_ = static_cast<std::int64_t>(size.empty() ? 0 : size.Number(0, 0).value_or(0));
    started_ = true;
    return;
  }
  if (*path != path_) {
    ReadAvailable(session, data);  // the rest of the file the server just left
    rotated();
    path_ = *path;
    offset_ = 0;
  }
  ReadAvailable(session, data);
}

void ServerLogFollower::ReadAvailable(pg::Session& session,
                                      const std::function<void(std::string_view)>& data) {
  std::int64_t read = 0;
  while (read < kMaxPerPoll) {
    const pg::Rows rows = session.Query("SELECT (pg_stat_file(" + pg::QuoteLiteral(path_) +
                                        ", true)).size AS size, pg_read_binary_file(" +
                                        pg::QuoteLiteral(path_) + ", " + std::to_string(offset_) +
                                        ", " + std::to_string(kChunk) + ", true) AS chunk");
    const auto size = rows.empty() ? std::nullopt : rows.Number(0, rows.Column("size"));
    if (!size) return;  // gone: rotated away and removed
    if (static_cast<std::int64_t>(*size) < offset_) {
      offset_ = 0;  // truncated in place
      continue;
    }
    const auto& hex = rows.At(0, rows.Column("chunk"));
    if (!hex) return;
    const std::string bytes = DecodeHexBytea(*hex);
    if (bytes.empty()) return;
    offset_ += static_cast<std::int64_t>(bytes.size());
    read += static_cast<std::int64_t>(bytes.size());
    data(bytes);
    if (static_cast<std::int64_t>(bytes.size()) < kChunk) return;
  }
}

}  // namespace pgvigil::logs
