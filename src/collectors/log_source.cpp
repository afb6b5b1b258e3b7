#include "collectors/log_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <vector>

namespace pgvigil::collectors {
namespace {

constexpr std::size_t kReadChunk = 64 * 1024;

// The string value of "key":"..." in a JSON text that may be cut short; nullopt if absent.
std::optional<std::string> ScanJsonString(std::string_view text, std::string_view key) {
  const std::string needle = "\"" + std::string(key) + "\":\"";
  const auto start = text.find(needle);
  if (start == std::string_view::npos) return std::nullopt;
  std::string value;
  for (std::size_t i = start + needle.size(); i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      value += text[++i];
    } else if (text[i] == '"') {
      return value;
    } else {
      value += text[i];
    }
  }
  return value;  // cut off inside the value
}

}  // namespace

void RecordSplitter::Feed(std::string_view bytes, const Sink& sink) {
  for (char c : bytes) {
    if (csv_ && c == '"') in_quotes_ = !in_quotes_;
    if (c == '\n' && !in_quotes_) {
      sink(record_, truncated_);
      record_.clear();
      truncated_ = false;
      continue;
    }
    if (record_.size() < max_record_) {
      record_ += c;
    } else {
      truncated_ = true;
    }
  }
}

void RecordSplitter::Flush(const Sink& sink) {
  if (!record_.empty()) sink(record_, truncated_);
  record_.clear();
  truncated_ = false;
  in_quotes_ = false;
}

FileFollower::~FileFollower() {
  if (fd_ >= 0) ::close(fd_);
}

void FileFollower::ReadToEnd(const std::function<void(std::string_view)>& data) {
  std::vector<char> buffer(kReadChunk);
  while (true) {
    const ssize_t got = ::pread(fd_, buffer.data(), buffer.size(), offset_);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw std::runtime_error("reading " + path_ + ": " + std::strerror(errno));
    if (got == 0) return;
    offset_ += got;
    data(std::string_view(buffer.data(), static_cast<std::size_t>(got)));
  }
}

void FileFollower::Poll(const std::function<void(std::string_view)>& data,
                        const std::function<void()>& rotated) {
  if (fd_ < 0) {
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      throw std::runtime_error("cannot open log file " + path_ + ": " + std::strerror(errno));
    }
    struct stat st {};
    ::fstat(fd_, &st);
    device_ = st.st_dev;
    inode_ = st.st_ino;
    // The first file is read from its end; a file that replaced it after a rotation, whole.
    offset_ = started_ ? 0 : st.st_size;
    started_ = true;
  }
  struct stat open_file {};
  ::fstat(fd_, &open_file);
  if (open_file.st_size < offset_) offset_ = 0;  // truncated in place (copytruncate)
  ReadToEnd(data);

  struct stat at_path {};
  if (::stat(path_.c_str(), &at_path) != 0) return;  // rotated away; the new file is not there yet
  if (at_path.st_dev == device_ && at_path.st_ino == inode_) return;
  ReadToEnd(data);  // whatever reached the old file before the switch
  ::close(fd_);
  fd_ = -1;
  rotated();
  Poll(data, rotated);
}

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

namespace {

std::string Quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

}  // namespace

void ServerLogFollower::Poll(pg::Session& session,
                             const std::function<void(std::string_view)>& data,
                             const std::function<void()>& rotated) {
  // The privileges first: calling a function the role may not execute is a server error, and
  // the agent causes none (DESIGN §5a).
  const pg::Rows current = session.Query(
      "SELECT has_function_privilege('pg_current_logfile(text)', 'EXECUTE') "
      "AND has_function_privilege('pg_stat_file(text, boolean)', 'EXECUTE') "
      "AND has_function_privilege('pg_read_binary_file(text, bigint, bigint, boolean)', "
      "'EXECUTE') AS allowed, "
      "CASE WHEN has_function_privilege('pg_current_logfile(text)', 'EXECUTE') "
      "THEN pg_current_logfile(" +
      Quoted(format_) + ") END AS path");
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
        session.Query("SELECT size FROM pg_stat_file(" + Quoted(*path) + ", true)");
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
    const pg::Rows rows =
        session.Query("SELECT (pg_stat_file(" + Quoted(path_) +
                      ", true)).size AS size, pg_read_binary_file(" + Quoted(path_) + ", " +
                      std::to_string(offset_) + ", " + std::to_string(kChunk) + ", true) AS chunk");
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

std::optional<LogRecord> ParseJsonlog(std::string_view record, bool truncated) {
  if (record.empty()) return std::nullopt;
  LogRecord out;
  if (!truncated) {
    auto json = nlohmann::json::parse(record, nullptr, /*allow_exceptions=*/false);
    if (json.is_object()) {
      // A field of another type than PostgreSQL writes is read as absent, never thrown on.
      auto text = [&json](const char* key) {
        const auto it = json.find(key);
        return it != json.end() && it->is_string() ? it->get<std::string>() : std::string();
      };
      out.time = text("timestamp");
      out.severity = text("error_severity");
      out.sqlstate = text("state_code");
      out.message = text("message");
      out.application_name = text("application_name");
      if (out.severity.empty()) return std::nullopt;
      return out;
    }
  }
  auto severity = ScanJsonString(record, "error_severity");
  if (!severity) return std::nullopt;
  out.severity = *severity;
  out.time = ScanJsonString(record, "timestamp").value_or("");
  out.sqlstate = ScanJsonString(record, "state_code").value_or("");
  out.message = ScanJsonString(record, "message").value_or("");
  out.application_name = ScanJsonString(record, "application_name").value_or("");
  return out;
}

std::optional<LogRecord> ParseCsvlog(std::string_view record) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  constexpr std::size_t kApplicationName = 22;
  for (std::size_t i = 0; i < record.size() && fields.size() <= kApplicationName + 1; ++i) {
    const char c = record[i];
    if (quoted) {
      if (c == '"' && i + 1 < record.size() && record[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  if (fields.size() < 13 || fields[11].empty()) return std::nullopt;
  if (fields.size() > kApplicationName + 1) fields.resize(kApplicationName + 1);
  LogRecord out{fields[0], fields[11], fields[12], fields.size() > 13 ? fields[13] : "",
                fields.size() > kApplicationName ? fields[kApplicationName] : ""};
  return out;
}

}  // namespace pgvigil::collectors
