// Statement fingerprints: any text, and a fingerprint is its own fingerprint.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "pg/own_load.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::string once = pgvigil::pg::Fingerprint(text);
  (void)once;
  pgvigil::pg::OwnLoad load;
  load.Record(text, size % 2 == 0, 0.001);
  return 0;
}
