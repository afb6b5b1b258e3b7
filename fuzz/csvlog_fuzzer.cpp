// csvlog records and the splitter that finds them across quoted newlines.
#include <cstdint>
#include <string>

#include "logs/csvlog.h"
#include "logs/log_time.h"
#include "logs/splitter.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)pgvigil::logs::ParseCsvlog(text);
  pgvigil::logs::RecordSplitter splitter(true, 1024);
  const auto sink = [](std::string_view record, bool) {
    if (auto parsed = pgvigil::logs::ParseCsvlog(record)) {
      (void)pgvigil::logs::LogTimeMillis(parsed->time);
    }
  };
  splitter.Feed(text, sink);
  splitter.Flush(sink);
  return 0;
}
