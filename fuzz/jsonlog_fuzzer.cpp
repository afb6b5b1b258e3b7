// jsonlog records, whole and truncated, and the record splitter in front of them.
#include <cstdint>
#include <string>

#include "logs/jsonlog.h"
#include "logs/log_time.h"
#include "logs/splitter.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)pgvigil::logs::ParseJsonlog(text, false);
  (void)pgvigil::logs::ParseJsonlog(text, true);
  pgvigil::logs::RecordSplitter splitter(false, 1024);
  splitter.Feed(text, [](std::string_view record, bool truncated) {
    if (auto parsed = pgvigil::logs::ParseJsonlog(record, truncated)) {
      (void)pgvigil::logs::LogTimeMillis(parsed->time);
      (void)pgvigil::logs::IsoTimestamp(parsed->time);
    }
  });
  return 0;
}
