// libpq's text of a failed connect (it carries what the server sent): never throws, the
// SQLSTATE is empty or five digits and capitals, and no LOCATION line reaches the message.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "pg/connect_error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto failure = pgvigil::pg::ParseConnectError(text);
  if (!failure.sqlstate.empty() && failure.sqlstate.size() != 5) std::abort();
  for (char c : failure.sqlstate) {
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'))) std::abort();
  }
  if (failure.message.empty() || failure.message.starts_with("LOCATION:  ") ||
      failure.message.find("\nLOCATION:  ") != std::string::npos) {
    std::abort();
  }
  return 0;
}
