#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace pgvigil::logs {

// Splits a byte stream into log records: one per line for jsonlog and stderr; for csvlog a
// newline inside a quoted field does not end the record. A record longer than `max_record` keeps
// only its first `max_record` bytes and is flagged truncated, so memory stays bounded whatever
// the server writes.
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

}  // namespace pgvigil::logs
