// A log_line_prefix as an operator writes it (the first line), and stderr-style lines parsed
// with it (the rest).
#include <cstdint>
#include <stdexcept>
#include <string>

#include "logs/line_prefix.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::size_t newline = text.find('\n');
  const std::string_view prefix_text = text.substr(0, std::min(newline, text.size()));
  try {
    const pgvigil::logs::LinePrefix prefix(prefix_text);
    std::size_t at = newline == std::string_view::npos ? text.size() + 1 : newline + 1;
    while (at <= text.size()) {
      const std::size_t end = std::min(text.find('\n', at), text.size());
      (void)prefix.Parse(text.substr(at, end - at));
      at = end + 1;
    }
  } catch (const std::invalid_argument&) {
    // An unknown escape: the config rejects it.
  }
  return 0;
}
