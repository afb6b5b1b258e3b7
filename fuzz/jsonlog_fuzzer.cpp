// jsonlog records, whole and truncated, and the record splitter in front of them.
#include <cstdint>
#include <string>

#include "collectors/log.h"
#include "collectors/log_source.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)pgvigil::collectors::ParseJsonlog(text, false);
  (void)pgvigil::collectors::ParseJsonlog(text, true);
  pgvigil::collectors::RecordSplitter splitter(false, 1024);
  splitter.Feed(text, [](std::string_view record, bool truncated) {
    if (auto parsed = pgvigil::collectors::ParseJsonlog(record, truncated)) {
      (void)pgvigil::collectors::LogTimeMillis(parsed->time);
      (void)pgvigil::collectors::IsoTimestamp(parsed->time);
    }
  });
  return 0;
}
