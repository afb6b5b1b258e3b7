#include "logs/splitter.h"

namespace pgvigil::logs {

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

}  // namespace pgvigil::logs
