// Durations: parsed ones are within bounds and survive formatting.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "config/duration.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto parsed = pgvigil::config::ParseDuration(text);
  if (!parsed) return 0;
  if (parsed->count() < 0) std::abort();
  const auto again = pgvigil::config::ParseDuration(pgvigil::config::FormatDuration(*parsed));
  if (!again || *again != *parsed) std::abort();
  return 0;
}
