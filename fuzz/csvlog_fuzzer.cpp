// csvlog records and the splitter that finds them across quoted newlines.
#include <cstdint>
#include <string>

#include "collectors/log.h"
#include "collectors/log_source.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)pgvigil::collectors::ParseCsvlog(text);
  pgvigil::collectors::RecordSplitter splitter(true, 1024);
  const auto sink = [](std::string_view record, bool) {
    if (auto parsed = pgvigil::collectors::ParseCsvlog(record)) {
      (void)pgvigil::collectors::LogTimeMillis(parsed->time);
    }
  };
  splitter.Feed(text, sink);
  splitter.Flush(sink);
  return 0;
}
